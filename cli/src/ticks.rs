//! `--source ticks`: plan a tick replay (group the files, scan every line in the
//! core's own parsers, measure tick, lot and time span, pick the exchange
//! models) and drive it, one iteration at a time, through the engine: decoded
//! here, replayed there.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use mmsoak_core::edge::EdgeReport;
use mmsoak_core::exchange::plan::{plan_config, TickChoices};
use mmsoak_core::exchange::scan::{ScanFacts, Scanner};
use mmsoak_core::exchange::source::{Filled, MergeAhead, Merged};
use mmsoak_core::exchange::{Advance, TickConfig};
use mmsoak_core::feed::stream::{Chunk, Consumed, Merger};
use mmsoak_core::feed::Format;
use mmsoak_core::params::Params;
use mmsoak_core::report::TickSettings;
use mmsoak_host::Engine;

use crate::data::reader::{describe, StreamReader};
use crate::data::streams::{group, StreamSpec};

/// Default tolerance for timestamps stepping back within one stream.
pub const DEFAULT_BACKSTEP_MS: f64 = 1000.0;

/// A planned tick replay.
pub struct TickPlan {
    pub specs: Vec<StreamSpec>,
    pub config: TickConfig,
    pub facts: ScanFacts,
}

impl TickPlan {
    /// One line for the terminal: what the data holds (the browser prints the same).
    pub fn summary(&self) -> String {
        mmsoak_core::session_ticks::describe(&self.facts, &self.config)
    }
}

impl TickPlan {
    pub fn settings(&self) -> TickSettings {
        TickSettings { streams: self.specs.iter().map(|s| s.names()).collect(), config: self.config.clone() }
    }
}

/// Reads every line once through the core's parsers: bad data stops here, before
/// anything is written. Returns the measured facts.
fn scan(specs: &[StreamSpec], tolerance_ns: i64) -> Result<ScanFacts> {
    let formats: Vec<Format> = specs.iter().map(|s| s.format).collect();
    let mut readers: Vec<StreamReader> = specs.iter().cloned().map(StreamReader::new).collect();
    for r in readers.iter_mut() {
        r.refill()?;
    }
    let mut scanner = Scanner::new(&formats, tolerance_ns);
    loop {
        let chunks: Vec<_> = readers.iter().map(|r| r.chunk.clone()).collect();
        let mut consumed = vec![Consumed::default(); readers.len()];
        let res = scanner.advance(&chunks, &mut consumed);
        for (r, c) in readers.iter_mut().zip(&consumed) {
            r.consume(*c);
        }
        match res.map_err(|e| describe(&readers, &e))? {
            Some(k) => readers[k].refill()?,
            None => return Ok(scanner.facts),
        }
    }
}

/// Plans a tick replay of `files` for `iterations` windows of `iteration_seconds`.
pub fn plan(
    files: &[PathBuf],
    format: Option<&str>,
    backstep_tolerance_ms: Option<f64>,
    choices: &TickChoices,
    iterations: u32,
    iteration_seconds: u32,
) -> Result<TickPlan> {
    let forced = match format {
        None => None,
        Some(name) => Some(
            Format::parse(name)
                .with_context(|| format!("--data-format {name:?}: choose one of {}", Format::NAMES.join(", ")))?,
        ),
    };
    let specs = group(files, forced)?;
    let tolerance_ms = backstep_tolerance_ms.unwrap_or(DEFAULT_BACKSTEP_MS);
    if !(tolerance_ms.is_finite() && (0.0..=3_600_000.0).contains(&tolerance_ms)) {
        bail!("--backstep-tolerance-ms must be between 0 and 3600000, got {tolerance_ms}");
    }
    let tolerance_ns = (tolerance_ms * 1e6) as i64;
    let facts = scan(&specs, tolerance_ns)?;
    let names = files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
    let formats: Vec<Format> = specs.iter().map(|s| s.format).collect();
    let config = plan_config(&formats, &facts, choices, iterations, iteration_seconds, tolerance_ns)
        .map_err(|e| anyhow::anyhow!("--source ticks --data {names}: {e}"))?;
    Ok(TickPlan { specs, config, facts })
}

/// Events decoded ahead of the engine per call: 16,384 records of 64 bytes.
/// Large enough that a call's fixed cost (the replay state in and out) is
/// spread thin, small enough that memory stays flat.
const BATCH_EVENTS: usize = 16 * 1024;

/// A tick replay in progress. The data is decoded and merged here, natively,
/// by the core's own decoders ([`MergeAhead`]); the engine only replays the
/// events (`abi::tick_events`): the same bytes as handing it the text, without
/// parsing the text under wasm.
pub struct TickRun {
    pub config: TickConfig,
    specs: Vec<StreamSpec>,
    readers: Vec<StreamReader>,
    ahead: MergeAhead,
    /// Decoded events the engine has not replayed yet.
    events: Vec<Merged>,
    /// The data has ended after `events`: the merger's final count of stepped-back timestamps.
    end: Option<u64>,
    /// Bad data (or a file that cannot be read) after `events`: reported once the
    /// engine has replayed the events before it, as a replay of the text would.
    failed: Option<anyhow::Error>,
    /// The replay's state as the core returned it (opaque; see `abi::tick_frame`).
    state: Option<Vec<u8>>,
}

impl TickRun {
    pub fn new(config: TickConfig, specs: Vec<StreamSpec>) -> Self {
        let ahead = MergeAhead::new(Merger::default());
        TickRun { config, readers: Vec::new(), specs, ahead, events: Vec::new(), end: None, failed: None, state: None }
    }

    /// Back to the data's beginning (a baseline run replays the same market).
    pub fn rewind(&mut self) {
        self.readers.clear();
        self.events.clear();
        self.end = None;
        self.failed = None;
        self.state = None;
    }

    /// Decodes until [`BATCH_EVENTS`] events wait, the data ends or a failure.
    fn decode_ahead(&mut self) -> Result<()> {
        if self.readers.is_empty() {
            self.readers = self.specs.iter().cloned().map(StreamReader::new).collect();
            for r in self.readers.iter_mut() {
                r.refill()?;
            }
            let c = &self.config;
            self.ahead = MergeAhead::new(Merger::new(&c.formats, c.tick, c.backstep_tolerance_ns));
        }
        while self.events.len() < BATCH_EVENTS && self.end.is_none() && self.failed.is_none() {
            // The chunks are lent to the merger and given back.
            let chunks: Vec<Chunk> = self.readers.iter_mut().map(|r| std::mem::take(&mut r.chunk)).collect();
            let mut consumed = vec![Consumed::default(); chunks.len()];
            let res = self.ahead.fill(&chunks, &mut consumed, &mut self.events, BATCH_EVENTS);
            for ((r, chunk), c) in self.readers.iter_mut().zip(chunks).zip(&consumed) {
                r.chunk = chunk;
                r.consume(*c);
            }
            match res {
                Ok(Filled::Full) => {}
                Ok(Filled::End(n)) => self.end = Some(n),
                Ok(Filled::Need(k)) => match self.readers.get_mut(k) {
                    Some(r) if !r.chunk.eof => {
                        if let Err(e) = r.refill() {
                            self.failed = Some(e);
                        }
                    }
                    _ => bail!("internal: the merger asked for more of stream {k}, which has ended"),
                },
                Err(e) => self.failed = Some(describe(&self.readers, &e)),
            }
        }
        Ok(())
    }

    /// Replays iteration `i` with `params` through the engine.
    pub fn iteration(&mut self, engine: &mut Engine, params: &Params, i: u32) -> Result<EdgeReport> {
        loop {
            self.decode_ahead()?;
            let (state, resp) =
                engine.tick_replay_events(&self.config, params, i, self.state.as_deref(), &self.events, self.end)?;
            self.events.drain(..(resp.used as usize).min(self.events.len()));
            self.state = Some(state);
            if let Some(e) = resp.error {
                return Err(describe(&self.readers, &e));
            }
            match resp.advance {
                Some(Advance::Need(_)) => {
                    if let Some(e) = self.failed.take() {
                        return Err(e);
                    }
                    if !self.events.is_empty() || self.end.is_some() {
                        bail!("internal: the replay asked for more events with {} unused", self.events.len());
                    }
                }
                Some(Advance::Done(report)) => return Ok(*report),
                None => bail!("internal: the tick replay returned neither a result nor an error"),
            }
        }
    }
}
