//! One typed API over the core, whatever runs it. Every call crosses the same
//! JSON ABI, so the wasm and native engines differ only in who executes the core.

use mmsoak_core::abi::tick_events::{decode_events_response, encode_events_request, TickEventsResult};
use mmsoak_core::abi::tick_frame::{decode_frame_response, encode_frame_request, TickFrameResult};
use mmsoak_core::abi::{
    self, ChartsRequest, InitRequest, MarkdownRequest, ReportChartRequest, ReportHeadRequest, ReportRequest, Response,
    SimulateRequest, SkipRequest, StepRequest, StepResponse, TickReplayRequest, TickReplayResponse,
};
use mmsoak_core::edge::EdgeReport;
use mmsoak_core::exchange::source::Merged;
use mmsoak_core::exchange::TickConfig;
use mmsoak_core::feed::stream::Chunk;
use mmsoak_core::params::Params;
use mmsoak_core::report::{Chart, EngineRecord, TuningReport};
use mmsoak_core::soak::SoakState;
use serde::{de::DeserializeOwned, Serialize};

use crate::EngineError;

/// Executes raw ABI calls: JSON request bytes in, JSON response bytes out.
pub trait CoreRuntime {
    fn call_raw(&mut self, call: &'static str, request: &[u8]) -> Result<Vec<u8>, EngineError>;
    fn record(&self) -> EngineRecord;
}

/// The typed face of the core: what the CLI (and tests) program against.
pub struct Engine {
    runtime: Box<dyn CoreRuntime>,
}

impl Engine {
    pub fn new(runtime: Box<dyn CoreRuntime>) -> Self {
        Engine { runtime }
    }

    pub fn record(&self) -> EngineRecord {
        self.runtime.record()
    }

    fn call<Req: Serialize, Resp: DeserializeOwned>(
        &mut self,
        call: &'static str,
        req: &Req,
    ) -> Result<Resp, EngineError> {
        let bytes = self.runtime.call_raw(call, &abi::encode_request(req))?;
        match serde_json::from_slice::<Response<Resp>>(&bytes) {
            Ok(Response::Ok(v)) => Ok(v),
            Ok(Response::Error(e)) => Err(EngineError::Abi { call, kind: e.kind, message: e.message }),
            Err(e) => Err(EngineError::Decode { call, message: e.to_string() }),
        }
    }

    pub fn simulate(&mut self, req: &SimulateRequest) -> Result<EdgeReport, EngineError> {
        self.call("simulate", req)
    }

    pub fn init(&mut self, req: &InitRequest) -> Result<SoakState, EngineError> {
        self.call("init", req)
    }

    pub fn step(&mut self, req: &StepRequest) -> Result<StepResponse, EngineError> {
        self.call("step", req)
    }

    pub fn skip(&mut self, req: &SkipRequest) -> Result<StepResponse, EngineError> {
        self.call("skip", req)
    }

    pub fn report(&mut self, req: &ReportRequest) -> Result<TuningReport, EngineError> {
        self.call("report", req)
    }

    /// TUNING_REPORT without rows and guard events, from the run's tallies (see
    /// [`abi::ReportHeadRequest`]): the CLI streams the rest from its files.
    pub fn report_head(&mut self, req: &ReportHeadRequest) -> Result<TuningReport, EngineError> {
        self.call("report_head", req)
    }

    /// One chart of a streamed report (see [`abi::ReportChartRequest`]).
    pub fn report_chart(&mut self, req: &ReportChartRequest) -> Result<Chart, EngineError> {
        self.call("report_chart", req)
    }

    pub fn markdown(&mut self, report: &TuningReport, charts_dir: Option<&str>) -> Result<String, EngineError> {
        self.call("markdown", &MarkdownRequest { report: report.clone(), charts_dir: charts_dir.map(Into::into) })
    }

    /// One step of a tick replay (see [`abi::tick_replay`]).
    pub fn tick_replay(&mut self, req: &TickReplayRequest) -> Result<TickReplayResponse, EngineError> {
        self.call("tick_replay", req)
    }

    /// One step of a tick replay through the binary frame (see
    /// [`abi::tick_frame`]): the replay of [`Engine::tick_replay`], with the
    /// chunks' text sent raw and the state kept as the opaque blob the core
    /// returned (`None` starts a replay). Returns the new blob and the step's result.
    pub fn tick_replay_frame(
        &mut self,
        config: &TickConfig,
        params: &Params,
        iteration: u32,
        state: Option<&[u8]>,
        chunks: &[&Chunk],
    ) -> Result<(Vec<u8>, TickFrameResult), EngineError> {
        const CALL: &str = "tick_replay_frame";
        let bytes = self.runtime.call_raw(CALL, &encode_frame_request(config, params, iteration, state, chunks))?;
        let frame = decode_frame_response(&bytes).map_err(|message| EngineError::Decode { call: CALL, message })?;
        match frame.result {
            Response::Ok(r) => Ok((frame.state, r)),
            Response::Error(e) => Err(EngineError::Abi { call: CALL, kind: e.kind, message: e.message }),
        }
    }

    /// One step of a tick replay fed events decoded beforehand (see
    /// [`abi::tick_events`]): the replay of [`Engine::tick_replay_frame`] on the
    /// same data, decoded and merged by the caller (`end`: the data ends after
    /// `events`, with the merger's final count of stepped-back timestamps).
    /// Returns the new state blob and the step's result (`used`: events taken).
    pub fn tick_replay_events(
        &mut self,
        config: &TickConfig,
        params: &Params,
        iteration: u32,
        state: Option<&[u8]>,
        events: &[Merged],
        end: Option<u64>,
    ) -> Result<(Vec<u8>, TickEventsResult), EngineError> {
        const CALL: &str = "tick_replay_events";
        let request = encode_events_request(config, params, iteration, state, events, end);
        let bytes = self.runtime.call_raw(CALL, &request)?;
        let frame = decode_events_response(&bytes).map_err(|message| EngineError::Decode { call: CALL, message })?;
        match frame.result {
            Response::Ok(r) => Ok((frame.state, r)),
            Response::Error(e) => Err(EngineError::Abi { call: CALL, kind: e.kind, message: e.message }),
        }
    }

    pub fn charts(&mut self, report: &TuningReport) -> Result<Vec<Chart>, EngineError> {
        self.call("charts", &ChartsRequest { report: report.clone() })
    }
}
