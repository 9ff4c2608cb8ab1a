//! `--source ticks`: plan a tick replay (group the files, scan every line in the
//! core's own parsers, measure tick, lot and time span, pick the exchange
//! models) and drive it, one iteration at a time, through the engine.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use mmsoak_core::abi::TickReplayRequest;
use mmsoak_core::edge::EdgeReport;
use mmsoak_core::exchange::scan::{ScanFacts, Scanner};
use mmsoak_core::exchange::{Advance, Fees, LatencyModel, QueueModel, TickConfig, TickReplay};
use mmsoak_core::feed::stream::Consumed;
use mmsoak_core::feed::{parse_scaled, Format, TickSize};
use mmsoak_core::params::Params;
use mmsoak_core::report::TickSettings;
use mmsoak_host::Engine;

use crate::data::reader::{describe, StreamReader};
use crate::data::streams::{group, StreamSpec};

/// The choices a user makes for a tick replay (flags over mmsoak.toml `[ticks]`).
#[derive(Debug, Clone, Default)]
pub struct TickChoices {
    pub format: Option<String>,
    pub queue_model: Option<String>,
    pub latency: Option<String>,
    pub maker_fee_bps: Option<f64>,
    pub taker_fee_bps: Option<f64>,
    pub tick_size: Option<String>,
    pub backstep_tolerance_ms: Option<f64>,
}

/// Default tolerance for timestamps stepping back within one stream.
pub const DEFAULT_BACKSTEP_MS: f64 = 1000.0;
/// The last window may end this fraction of an iteration after the data's last event.
const SPAN_SLACK: f64 = 0.01;

/// `auto` (FIFO on data with order ids, else power-law n = 3), `fifo`,
/// `risk-averse`, `prob` or `prob:N`.
pub fn parse_queue(s: &str, has_ids: bool) -> Result<QueueModel> {
    Ok(match s {
        "auto" => {
            if has_ids {
                QueueModel::Fifo
            } else {
                QueueModel::default()
            }
        }
        "fifo" => {
            if !has_ids {
                bail!("--queue-model fifo needs data with order ids (LOBSTER); this data has none");
            }
            QueueModel::Fifo
        }
        "risk-averse" | "risk_averse" => QueueModel::RiskAverse,
        "prob" => QueueModel::default(),
        other => match other.strip_prefix("prob:").map(str::parse::<f64>) {
            Some(Ok(n)) if n.is_finite() && n > 0.0 && n <= 10.0 => QueueModel::PowerProb { n },
            _ => bail!("--queue-model {other:?}: choose auto, fifo, risk-averse, prob or prob:N (0 < N <= 10)"),
        },
    })
}

/// `constant:ENTRY_MS:RESPONSE_MS`, `constant:MS` (both trips) or `data[:ENTRY_MS]`.
pub fn parse_latency(s: &str, two_stamps: bool) -> Result<LatencyModel> {
    let parts: Vec<&str> = s.split(':').collect();
    let num = |x: &str| -> Result<f64> {
        x.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && (0.0..=60_000.0).contains(v))
            .with_context(|| format!("--latency {s:?}: {x:?} is not a number of milliseconds in [0, 60000]"))
    };
    let m = match parts.as_slice() {
        ["constant", ms] => LatencyModel::Constant { entry_ms: num(ms)?, response_ms: num(ms)? },
        ["constant", e, r] => LatencyModel::Constant { entry_ms: num(e)?, response_ms: num(r)? },
        ["data"] => LatencyModel::Data { entry_ms: 0.0 },
        ["data", e] => LatencyModel::Data { entry_ms: num(e)? },
        _ => bail!("--latency {s:?}: choose constant:ENTRY_MS:RESPONSE_MS, constant:MS, data or data:ENTRY_MS"),
    };
    if matches!(m, LatencyModel::Data { .. }) && !two_stamps {
        bail!("--latency data needs exchange and local timestamps in the data; this data has one stamp (use constant)");
    }
    Ok(m)
}

/// A planned tick replay.
pub struct TickPlan {
    pub specs: Vec<StreamSpec>,
    pub config: TickConfig,
    pub facts: ScanFacts,
}

impl TickPlan {
    /// One line for the terminal: what the data holds.
    pub fn summary(&self) -> String {
        let f = &self.facts;
        let (a, b) = f.common_span().unwrap_or((0, 0));
        format!(
            "{} events ({} trades) over {:.1} min; tick {}; lot {}; queue {}; latency {}",
            f.events,
            f.trades,
            (b - a) as f64 / 60e9,
            self.config.tick.price(1),
            self.config.lot,
            self.config.queue.name(),
            self.config.latency.name()
        )
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
pub fn plan(files: &[PathBuf], choices: &TickChoices, iterations: u32, iteration_seconds: u32) -> Result<TickPlan> {
    let forced = match &choices.format {
        None => None,
        Some(name) => Some(Format::parse(name).with_context(|| {
            format!("--data-format {name:?}: choose one of {}", Format::NAMES.join(", "))
        })?),
    };
    let specs = group(files, forced)?;
    let tolerance_ms = choices.backstep_tolerance_ms.unwrap_or(DEFAULT_BACKSTEP_MS);
    if !(tolerance_ms.is_finite() && (0.0..=3_600_000.0).contains(&tolerance_ms)) {
        bail!("--backstep-tolerance-ms must be between 0 and 3600000, got {tolerance_ms}");
    }
    let tolerance_ns = (tolerance_ms * 1e6) as i64;
    let facts = scan(&specs, tolerance_ns)?;
    let names = files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
    if facts.events == 0 {
        bail!("{names}: no market events in the data");
    }
    let Some((first, last)) = facts.common_span() else {
        bail!("{names}: the files do not overlap in time (each stream must cover the replayed window)");
    };
    let tick = match &choices.tick_size {
        Some(s) => match parse_scaled(s) {
            Ok(t) if t > 0 => TickSize(t),
            _ => bail!("--tick-size {s:?} must be a positive decimal price"),
        },
        None if facts.tick > 0 => TickSize(facts.tick),
        None => bail!("{names}: no book prices in the data to tell the tick size from (give --tick-size)"),
    };
    if facts.lot <= 0.0 {
        bail!("{names}: the data never shows both a best bid and a best ask: nothing to quote against");
    }
    let len_s = iteration_seconds as f64;
    let span_s = (last - (first - first.rem_euclid(1_000_000_000))) as f64 / 1e9;
    let holds = (span_s / len_s + SPAN_SLACK).floor() as u64;
    if (iterations as u64) > holds {
        bail!(
            "--iterations {iterations} of {iteration_seconds} s needs {:.1} min of market time but {names} holds {:.1} min \
             ({holds} iterations)",
            iterations as f64 * len_s / 60.0,
            span_s / 60.0
        );
    }
    let queue = parse_queue(choices.queue_model.as_deref().unwrap_or("auto"), facts.has_order_ids)?;
    let latency = match &choices.latency {
        None => LatencyModel::default(),
        Some(s) => parse_latency(s, facts.has_two_stamps)?,
    };
    let fees = Fees {
        maker_bps: choices.maker_fee_bps.unwrap_or(Fees::default().maker_bps),
        taker_bps: choices.taker_fee_bps.unwrap_or(Fees::default().taker_bps),
    };
    fees.check().map_err(|e| anyhow::anyhow!("--maker-fee-bps/--taker-fee-bps: {e}"))?;
    // The lot is rounded so it prints and reads back exactly.
    let lot = (facts.lot * 1e6).round() / 1e6;
    let config = TickConfig {
        formats: specs.iter().map(|s| s.format).collect(),
        tick,
        lot,
        // Windows start on a whole second of exchange time (a LOBSTER day at 09:30:00).
        start_ns: first - first.rem_euclid(1_000_000_000),
        iteration_seconds,
        queue,
        latency,
        fees,
        backstep_tolerance_ns: tolerance_ns,
    };
    Ok(TickPlan { specs, config, facts })
}

/// A tick replay in progress.
pub struct TickRun {
    pub config: TickConfig,
    specs: Vec<StreamSpec>,
    readers: Vec<StreamReader>,
    state: Option<TickReplay>,
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
            let req = TickReplayRequest {
                config: self.config.clone(),
                state: self.state.take(),
                params: params.clone(),
                iteration: i,
                chunks: self.readers.iter().map(|r| r.chunk.clone()).collect(),
            };
            let resp = engine.tick_replay(&req)?;
            for (r, c) in self.readers.iter_mut().zip(&resp.consumed) {
                r.consume(*c);
            }
            self.state = Some(resp.state);
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
