//! `--source ticks`: plan a tick replay (group the files, scan every line in the
//! core's own parsers, measure tick, lot and time span, pick the exchange
//! models) and drive it, one iteration at a time, through the engine.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use mmsoak_core::edge::EdgeReport;
use mmsoak_core::exchange::plan::{plan_config, TickChoices};
use mmsoak_core::exchange::scan::{ScanFacts, Scanner};
use mmsoak_core::exchange::{Advance, TickConfig};
use mmsoak_core::feed::stream::Consumed;
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

/// A tick replay in progress.
pub struct TickRun {
    pub config: TickConfig,
    specs: Vec<StreamSpec>,
    readers: Vec<StreamReader>,
    /// The replay's state as the core returned it (opaque; see `abi::tick_frame`).
    state: Option<Vec<u8>>,
}

impl TickRun {
    pub fn new(config: TickConfig, specs: Vec<StreamSpec>) -> Self {
        TickRun { config, readers: Vec::new(), specs, state: None }
    }

    /// Back to the data's beginning (a baseline run replays the same market).
    pub fn rewind(&mut self) {
        self.readers.clear();
        self.state = None;
    }

    /// Replays iteration `i` with `params` through the engine.
    pub fn iteration(&mut self, engine: &mut Engine, params: &Params, i: u32) -> Result<EdgeReport> {
        if self.readers.is_empty() {
            self.readers = self.specs.iter().cloned().map(StreamReader::new).collect();
            for r in self.readers.iter_mut() {
                r.refill()?;
            }
        }
        loop {
            let chunks: Vec<_> = self.readers.iter().map(|r| &r.chunk).collect();
            let (state, resp) = engine.tick_replay_frame(&self.config, params, i, self.state.as_deref(), &chunks)?;
            for (r, c) in self.readers.iter_mut().zip(&resp.consumed) {
                r.consume(*c);
            }
            self.state = Some(state);
            if let Some(e) = resp.error {
                return Err(describe(&self.readers, &e));
            }
            match resp.advance {
                Some(Advance::Need(k)) => match self.readers.get_mut(k) {
                    Some(r) if !r.chunk.eof => r.refill()?,
                    _ => bail!("internal: the replay asked for more of stream {k}, which has ended"),
                },
                Some(Advance::Done(report)) => return Ok(*report),
                None => bail!("internal: the tick replay returned neither a result nor an error"),
            }
        }
    }
}
