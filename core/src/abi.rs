//! The versioned JSON ABI: one request type and one response type per call.
//! [`dispatch`] is the whole interface; `wasm_exports` wraps it in
//! `alloc`/`dealloc` and one export per call for any wasm host, a browser included.
//!
//! Request:  `{"abi_version": 1, "request": {...}}`
//! Response: `{"ok": ...}` or `{"error": {"kind": "...", "message": "..."}}`

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::edge::EdgeReport;
use crate::exchange::plan::{plan_config, TickChoices};
use crate::exchange::scan::{ScanFacts, Scanner};
use crate::exchange::{Advance, TickConfig, TickReplay};
use crate::feed::stream::{Chunk, Consumed, FeedError};
use crate::feed::Format;
use crate::market::{simulate_iteration, MarketConfig};
use crate::params::Params;
use crate::policy::PolicyOutcome;
use crate::report::{self, EngineRecord, ReportTally, RunSettings, TuningReport};
use crate::session::{self, SessionIterateRequest, SessionReportRequest, SessionStartRequest};
use crate::session_ticks;
use crate::soak::{self, IterSummary, SoakConfig, SoakState};

pub mod tick_events;
pub mod tick_frame;

/// Bump when any request or response changes shape or meaning.
pub const ABI_VERSION: u32 = 1;

/// The calls, by export name (`mmsoak_<name>` in wasm).
pub const CALLS: [&str; 19] = [
    "simulate",
    "init",
    "step",
    "skip",
    "report",
    "report_head",
    "report_chart",
    "markdown",
    "charts",
    "session_start",
    "session_iterate",
    "session_report",
    "tick_replay",
    "tick_scan",
    "tick_group",
    "session_tick_scan",
    "session_tick_iterate",
    "tick_replay_frame",
    "tick_replay_events",
];

/// One step of the scan that checks tick data and measures it before a replay
/// (see [`crate::exchange::scan`]). When every stream has ended, `facts` and, if
/// the data supports the choices, `config` come back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TickScanRequest {
    pub formats: Vec<Format>,
    pub state: Option<Scanner>,
    pub chunks: Vec<Chunk>,
    pub choices: TickChoices,
    pub iterations: u32,
    pub iteration_seconds: u32,
    pub backstep_tolerance_ns: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TickScanResponse {
    pub state: Scanner,
    pub consumed: Vec<Consumed>,
    /// The stream that needs more text, while the scan goes on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub need: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts: Option<ScanFacts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<TickConfig>,
    /// Bad data (stream and line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<FeedError>,
    /// The data cannot support the run as asked (too short, no book, a model it lacks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_error: Option<String>,
}

/// Runs a [`TickScanRequest`].
pub fn tick_scan(r: TickScanRequest) -> TickScanResponse {
    let mut state = r.state.unwrap_or_else(|| Scanner::new(&r.formats, r.backstep_tolerance_ns));
    let mut consumed = vec![Consumed::default(); r.chunks.len()];
    let mut out = TickScanResponse {
        state: state.clone(),
        consumed: Vec::new(),
        need: None,
        facts: None,
        config: None,
        error: None,
        plan_error: None,
    };
    match state.advance(&r.chunks, &mut consumed) {
        Err(e) => out.error = Some(e),
        Ok(Some(k)) => out.need = Some(k),
        Ok(None) => {
            let facts = state.facts.clone();
            match plan_config(
                &r.formats,
                &facts,
                &r.choices,
                r.iterations,
                r.iteration_seconds,
                r.backstep_tolerance_ns,
            ) {
                Ok(c) => out.config = Some(c),
                Err(e) => out.plan_error = Some(e),
            }
            out.facts = Some(facts);
        }
    }
    out.state = state;
    out.consumed = consumed;
    out
}

/// One step of a tick replay (`--source ticks`): the streams' pending text in, the
/// replay's new state, how much text it consumed, and either the finished
/// iteration or which stream needs more text. Bad data comes back as `error`
/// (stream and line), so the shell can name the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TickReplayRequest {
    pub config: TickConfig,
    /// `None` starts a replay from the beginning of the data.
    pub state: Option<TickReplay>,
    pub params: Params,
    pub iteration: u32,
    pub chunks: Vec<Chunk>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TickReplayResponse {
    pub state: TickReplay,
    pub consumed: Vec<Consumed>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advance: Option<Advance>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<FeedError>,
}

/// Runs a [`TickReplayRequest`].
pub fn tick_replay(r: TickReplayRequest) -> TickReplayResponse {
    let mut state = r.state.unwrap_or_else(|| TickReplay::new(&r.config));
    let mut consumed = vec![Consumed::default(); r.chunks.len()];
    match state.advance(&r.config, &r.params, r.iteration, &r.chunks, &mut consumed) {
        Ok(a) => TickReplayResponse { state, consumed, advance: Some(a), error: None },
        Err(e) => TickReplayResponse { state, consumed, advance: None, error: Some(e) },
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulateRequest {
    pub params: Params,
    pub market: MarketConfig,
    pub seed: u64,
    pub iteration: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitRequest {
    pub config: SoakConfig,
    pub baseline: Params,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRequest {
    pub state: SoakState,
    pub observation: EdgeReport,
    /// What a `--policy` plugin proposed for this observation (the built-in tuner
    /// decides when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyOutcome>,
    /// Set by the host when the change a first `step` made could not be put in force
    /// (runtime_overrides.json not replaced): the same step again, with nothing
    /// applied (see `soak::step_guarded`). The text is the host's error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_blocked: Option<String>,
}

/// An iteration without a usable observation (see `soak::skip_unusable`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkipRequest {
    pub state: SoakState,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepResponse {
    pub state: SoakState,
    pub summary: IterSummary,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    pub settings: RunSettings,
    pub engine: EngineRecord,
    pub summaries: Vec<IterSummary>,
    pub state: SoakState,
    /// The untuned baseline run's summaries, if one was run (`--compare-baseline`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub baseline: Vec<IterSummary>,
}

/// TUNING_REPORT without its rows and guard events ([`report::head`]): what a host
/// that streams the per-iteration parts from its ITER_SUMMARY files asks for, so
/// its memory does not grow with the run. The response is a [`TuningReport`] with
/// `rows` and `guard_events` empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportHeadRequest {
    pub settings: RunSettings,
    pub engine: EngineRecord,
    pub state: SoakState,
    pub tally: ReportTally,
    /// The untuned baseline run's tally (`--compare-baseline`); both tallies then
    /// carry their series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<ReportTally>,
}

/// One chart of the report ([`report::chart`]): a host that streams its report
/// collects each chart's column ([`report::ChartColumns`]) and has the engine draw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportChartRequest {
    /// Which chart, in [`report::chart_names`] order.
    pub index: usize,
    /// Its values, iteration 1 first.
    pub values: Vec<f64>,
    /// The guard events to mark (others are ignored).
    pub events: Vec<crate::guards::GuardEvent>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkdownRequest {
    pub report: TuningReport,
    /// Directory (relative to the Markdown file) the charts are written to, if any.
    #[serde(default)]
    pub charts_dir: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChartsRequest {
    pub report: TuningReport,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<T> {
    abi_version: u32,
    request: T,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbiError {
    /// `abi_version`, `bad_request` or `unknown_call`.
    pub kind: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response<T> {
    Ok(T),
    Error(AbiError),
}

/// Wraps a request in its envelope (used by hosts).
pub fn encode_request<T: Serialize>(request: &T) -> Vec<u8> {
    #[derive(Serialize)]
    struct Out<'a, T> {
        abi_version: u32,
        request: &'a T,
    }
    serde_json::to_vec(&Out { abi_version: ABI_VERSION, request }).unwrap_or_default()
}

pub(crate) fn decode<T: DeserializeOwned>(input: &[u8]) -> Result<T, AbiError> {
    #[derive(Deserialize)]
    struct VersionOnly {
        abi_version: u32,
    }
    let version: VersionOnly = serde_json::from_slice(input)
        .map_err(|e| AbiError { kind: "bad_request".into(), message: format!("request envelope: {e}") })?;
    if version.abi_version != ABI_VERSION {
        return Err(AbiError {
            kind: "abi_version".into(),
            message: format!("request is for ABI v{}, this core speaks v{ABI_VERSION}", version.abi_version),
        });
    }
    let env: Envelope<T> =
        serde_json::from_slice(input).map_err(|e| AbiError { kind: "bad_request".into(), message: e.to_string() })?;
    Ok(env.request)
}

pub(crate) fn respond<T: Serialize>(result: Result<T, AbiError>) -> Vec<u8> {
    let response = match result {
        Ok(v) => Response::Ok(v),
        Err(e) => Response::Error(e),
    };
    serde_json::to_vec(&response).unwrap_or_else(|e| {
        format!(r#"{{"error":{{"kind":"internal","message":"response not serializable: {e}"}}}}"#).into_bytes()
    })
}

/// Runs one ABI call on JSON bytes and returns JSON bytes. Never panics on input.
pub fn dispatch(call: &str, input: &[u8]) -> Vec<u8> {
    match call {
        "simulate" => respond(decode::<SimulateRequest>(input).and_then(|r| {
            r.market.validate().map_err(|message| AbiError { kind: "bad_request".into(), message })?;
            Ok(simulate_iteration(&r.params, &r.market, r.seed, r.iteration))
        })),
        "init" => respond(decode::<InitRequest>(input).map(|r| soak::init(r.config, r.baseline))),
        "step" => respond(decode::<StepRequest>(input).map(|r| {
            let (state, summary) =
                soak::step_guarded(r.state, &r.observation, r.policy.as_ref(), r.apply_blocked.as_deref());
            StepResponse { state, summary }
        })),
        "skip" => respond(decode::<SkipRequest>(input).map(|r| {
            let (state, summary) = soak::skip_unusable(r.state, &r.reason);
            StepResponse { state, summary }
        })),
        "report" => respond(
            decode::<ReportRequest>(input)
                .map(|r| report::build(r.settings, r.engine, &r.summaries, &r.state, &r.baseline)),
        ),
        "report_head" => respond(decode::<ReportHeadRequest>(input).and_then(|r| {
            if r.baseline.as_ref().is_some_and(|b| !(r.tally.keep_series && b.keep_series)) {
                return Err(AbiError {
                    kind: "bad_request".into(),
                    message: "a baseline comparison needs both tallies made with keep_series".into(),
                });
            }
            Ok(report::head(r.settings, r.engine, &r.state, &r.tally, r.baseline.as_ref()))
        })),
        "report_chart" => respond(decode::<ReportChartRequest>(input).and_then(|r| {
            report::chart(r.index, &r.values, &r.events).ok_or_else(|| AbiError {
                kind: "bad_request".into(),
                message: format!("no chart {} (there are {})", r.index, report::chart_names().len()),
            })
        })),
        "markdown" => {
            respond(decode::<MarkdownRequest>(input).map(|r| report::markdown(&r.report, r.charts_dir.as_deref())))
        }
        "charts" => respond(decode::<ChartsRequest>(input).map(|r| report::charts(&r.report))),
        "session_start" => respond(decode::<SessionStartRequest>(input).map(session::start)),
        "session_iterate" => respond(
            decode::<SessionIterateRequest>(input)
                .and_then(|r| session::iterate(r).map_err(|message| AbiError { kind: "bad_request".into(), message })),
        ),
        "session_report" => respond(
            decode::<SessionReportRequest>(input)
                .and_then(|r| session::report(r).map_err(|message| AbiError { kind: "bad_request".into(), message })),
        ),
        "tick_replay" => respond(decode::<TickReplayRequest>(input).map(tick_replay)),
        "tick_replay_frame" => tick_frame::dispatch_frame(input),
        "tick_replay_events" => tick_events::dispatch_events(input),
        "tick_scan" => respond(decode::<TickScanRequest>(input).map(tick_scan)),
        "tick_group" => respond(decode::<session_ticks::TickGroupRequest>(input).map(session_ticks::tick_group)),
        "session_tick_scan" => respond(decode::<session_ticks::SessionTickScanRequest>(input).and_then(|r| {
            session_ticks::tick_scan(r).map_err(|message| AbiError { kind: "bad_request".into(), message })
        })),
        "session_tick_iterate" => respond(decode::<session_ticks::SessionTickIterateRequest>(input).and_then(|r| {
            session_ticks::tick_iterate(r).map_err(|message| AbiError { kind: "bad_request".into(), message })
        })),
        other => respond::<()>(Err(AbiError {
            kind: "unknown_call".into(),
            message: format!("no ABI call named {other:?}"),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_abi_version_is_a_clear_error() {
        let out = dispatch("init", br#"{"abi_version": 99, "request": {}}"#);
        let r: Response<serde_json::Value> = serde_json::from_slice(&out).unwrap();
        match r {
            Response::Error(e) => {
                assert_eq!(e.kind, "abi_version");
                assert!(e.message.contains("v99"));
            }
            Response::Ok(_) => panic!("accepted a foreign ABI version"),
        }
    }

    #[test]
    fn garbage_is_bad_request_not_a_panic() {
        for call in CALLS {
            let out = dispatch(call, b"\xff\x00not json");
            let r: Response<serde_json::Value> = if call == "tick_replay_frame" {
                let f = tick_frame::decode_frame_response(&out).unwrap();
                assert!(f.state.is_empty());
                match f.result {
                    Response::Ok(_) => panic!("a garbage frame was accepted"),
                    Response::Error(e) => Response::Error(e),
                }
            } else if call == "tick_replay_events" {
                let f = tick_events::decode_events_response(&out).unwrap();
                assert!(f.state.is_empty());
                match f.result {
                    Response::Ok(_) => panic!("a garbage frame was accepted"),
                    Response::Error(e) => Response::Error(e),
                }
            } else {
                serde_json::from_slice(&out).unwrap()
            };
            assert!(matches!(r, Response::Error(ref e) if e.kind == "bad_request"), "{call}");
        }
        let out = dispatch("nope", b"{}");
        assert!(String::from_utf8(out).unwrap().contains("unknown_call"));
    }
}
