//! TUNING_REPORT.json and the Markdown report: pure functions of the run's
//! summaries, so every engine (and the browser) renders identical bytes.

mod charts;
mod markdown;
mod stop;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::guards::GuardEvent;
use crate::judge::{judged, Better, Uplift, NET_BPS_GATE, RISK_RATIO_GATE};
use crate::kpi::KpiVerdict;
use crate::params::Params;
use crate::soak::{IterSummary, SoakState};

pub use crate::report_tally::ReportTally;

pub use charts::*;
pub use markdown::*;
pub use stop::*;

pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// Which engine produced a run: recorded so a report can be traced to exact core bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineRecord {
    /// `wasm` (the core's .wasm under wasmtime or a browser) or `native` (linked core).
    pub kind: String,
    /// sha256 of the core .wasm bytes built from this source.
    pub core_sha256: String,
    pub abi_version: u32,
    /// Runtime hosting the wasm (`wasmtime 48.0.0`, a browser's user agent), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
}

/// How the run was asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSettings {
    pub profile: String,
    pub regime: String,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_file: Option<String>,
    pub seed: u64,
    pub iterations: u32,
    pub auto_tune: bool,
    pub iteration_seconds: u32,
    /// The `--policy` plugin that replaced the built-in tuner, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyRecord>,
    /// `--source ticks`: the files replayed and the exchange models in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticks: Option<TickSettings>,
    /// `--source replay`: how the bar file was read, and whether it may loop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bars: Option<BarSettings>,
    /// `--regime FILE`: the fitted market's numbers, as the run used them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regime_spec: Option<crate::market::RegimeSpec>,
}

/// A bar replay's data as read, and `--loop-data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BarSettings {
    pub file: crate::feed::bars::BarFileInfo,
    /// Wrap to the data's start when the run outlasts it.
    pub loop_data: bool,
}

/// A tick replay's data and models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TickSettings {
    /// One entry per stream: its files in replay order (a LOBSTER stream names its
    /// message file, then its orderbook file).
    pub streams: Vec<Vec<String>>,
    pub config: crate::exchange::TickConfig,
}

/// Identity of a policy plugin: where it was loaded from and its exact bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRecord {
    pub file: String,
    pub sha256: String,
    pub abi_version: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportRow {
    pub iteration: u32,
    pub kpi_verdict: KpiVerdict,
    pub net_bps: f64,
    pub risk_ratio: f64,
    pub adverse_p95: f64,
    pub slippage_p95: f64,
    pub fills: u64,
    pub applied: bool,
    pub skipped_reason: Option<String>,
    pub deltas: BTreeMap<String, f64>,
    pub overrides: Params,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TuningReport {
    pub schema_version: u32,
    pub core_version: String,
    pub engine: EngineRecord,
    pub settings: RunSettings,
    pub iterations_completed: u32,
    pub verdict_counts: BTreeMap<String, u32>,
    pub final_verdict: Option<KpiVerdict>,
    pub baseline: Params,
    pub final_overrides: Params,
    pub applied_count: u32,
    pub rows: Vec<ReportRow>,
    pub guard_events: Vec<GuardEvent>,
    /// Present with `--compare-baseline`: the same seed and market with the tuner off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_comparison: Option<BaselineComparison>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineComparison {
    pub baseline_verdict_counts: BTreeMap<String, u32>,
    /// Higher is better.
    pub net_bps: Uplift,
    /// Lower is better: a negative uplift is an improvement.
    pub risk_ratio: Uplift,
}

/// Tuned against untuned, metric by metric ([`judged`]: one-sided Mann-Whitney in the
/// metric's good direction, Hodges-Lehmann shift, effect-size gate).
pub fn compare(tuned: &[IterSummary], baseline: &[IterSummary]) -> BaselineComparison {
    compare_tallies(&ReportTally::of(tuned, true), &ReportTally::of(baseline, true))
}

/// [`compare`] from the two runs' tallies (made with their series kept).
pub fn compare_tallies(tuned: &ReportTally, baseline: &ReportTally) -> BaselineComparison {
    BaselineComparison {
        baseline_verdict_counts: baseline.verdict_counts.clone(),
        net_bps: judged(&tuned.net_bps, &baseline.net_bps, Better::Higher, NET_BPS_GATE),
        risk_ratio: judged(&tuned.risk_ratio, &baseline.risk_ratio, Better::Lower, RISK_RATIO_GATE),
    }
}

/// The whole report at once, from summaries in memory (the browser's path; the CLI
/// streams the same parts: [`head`], [`row_of`], the summaries' guard events).
pub fn build(
    settings: RunSettings,
    engine: EngineRecord,
    summaries: &[IterSummary],
    state: &SoakState,
    baseline: &[IterSummary],
) -> TuningReport {
    let compared = !baseline.is_empty();
    let tally = ReportTally::of(summaries, compared);
    let baseline_tally = compared.then(|| ReportTally::of(baseline, true));
    let mut report = head(settings, engine, state, &tally, baseline_tally.as_ref());
    report.rows = rows_of(summaries);
    report.guard_events = summaries.iter().flat_map(|s| s.tuning.guards.iter().cloned()).collect();
    report
}

/// TUNING_REPORT without its per-iteration parts (`rows` and `guard_events` empty):
/// everything a report needs from the whole run comes from the tallies. `baseline`
/// is the untuned run's tally with `--compare-baseline` (both tallies then need
/// their series).
pub fn head(
    settings: RunSettings,
    engine: EngineRecord,
    state: &SoakState,
    tally: &ReportTally,
    baseline: Option<&ReportTally>,
) -> TuningReport {
    TuningReport {
        schema_version: REPORT_SCHEMA_VERSION,
        core_version: env!("CARGO_PKG_VERSION").to_string(),
        engine,
        settings,
        iterations_completed: state.iteration,
        verdict_counts: tally.verdict_counts.clone(),
        final_verdict: tally.final_verdict,
        baseline: state.baseline.clone(),
        final_overrides: state.overrides.clone(),
        applied_count: state.tuning.applied_count,
        rows: Vec::new(),
        guard_events: Vec::new(),
        baseline_comparison: baseline.map(|b| compare_tallies(tally, b)),
    }
}

/// A report row per summary: what the charts and tables are drawn from.
pub fn rows_of(summaries: &[IterSummary]) -> Vec<ReportRow> {
    summaries.iter().map(row_of).collect()
}

/// The report row of one summary.
pub fn row_of(s: &IterSummary) -> ReportRow {
    ReportRow {
        iteration: s.iteration,
        kpi_verdict: s.summary.kpi_verdict,
        net_bps: s.summary.net_bps,
        risk_ratio: s.summary.risk_ratio,
        adverse_p95: s.summary.adverse_p95,
        slippage_p95: s.summary.slippage_p95,
        fills: s.summary.fills,
        applied: s.tuning.applied,
        skipped_reason: s.tuning.skipped_reason.clone(),
        deltas: s.tuning.deltas.clone(),
        overrides: s.overrides.clone(),
    }
}
