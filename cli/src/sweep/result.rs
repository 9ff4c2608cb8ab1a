//! What one soak of a sweep leaves behind ([`RunResult`]) and the shard file that
//! collects a shard's results. Nothing here depends on the machine, the clock or
//! the sharding: a run's result is a pure function of the sweep spec and its index.

use std::collections::BTreeMap;

use mmsoak_core::edge::round6;
use mmsoak_core::kpi::KpiThresholds;
use mmsoak_core::params::Params;
use mmsoak_core::soak::IterSummary;
use mmsoak_core::stats::{mean, percentile};
use serde::{Deserialize, Serialize};

use super::plan::RunSpec;
use super::spec::Spec;

/// Schema tag of shard files.
pub const SHARD_FORMAT: &str = "mmsoak.sweep-shard/1";

/// One soak's outcome. Means are over iterations; `net_bps`, `risk_ratio` and
/// `verdicts` are the per-iteration series the merge judges with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunResult {
    pub index: u32,
    pub scenario: u32,
    pub label: String,
    pub profile: String,
    pub regime: String,
    pub point: BTreeMap<String, f64>,
    /// The replay window's name (absent: the simulated price path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    pub guards_off: Vec<String>,
    pub kpi: KpiThresholds,
    pub seed: u64,
    pub auto_tune: bool,
    pub final_verdict: String,
    pub verdict_counts: BTreeMap<String, u32>,
    /// Mean net edge per iteration, bps.
    pub net_bps_mean: f64,
    pub net_bps_median: f64,
    /// Mean risk-block ratio, 0..1.
    pub risk_ratio_mean: f64,
    /// Mean of the iterations' adverse-selection p95, bps.
    pub adverse_p95_mean: f64,
    pub slippage_p95_mean: f64,
    /// Maker fills over the whole soak.
    pub fills: u64,
    /// Parameter changes the tuner applied.
    pub applied_count: u32,
    pub final_params: Params,
    pub net_bps: Vec<f64>,
    pub risk_ratio: Vec<f64>,
    pub verdicts: Vec<String>,
}

impl RunResult {
    /// Folds a finished soak's summaries into its result.
    pub fn of(run: &RunSpec, summaries: &[IterSummary], final_params: Params, applied_count: u32) -> RunResult {
        let series = |f: fn(&IterSummary) -> f64| summaries.iter().map(f).collect::<Vec<f64>>();
        let net = series(|s| s.summary.net_bps);
        let risk = series(|s| s.summary.risk_ratio);
        let mut verdict_counts = BTreeMap::new();
        for s in summaries {
            *verdict_counts.entry(s.summary.kpi_verdict.name().to_string()).or_insert(0) += 1;
        }
        RunResult {
            index: run.index,
            scenario: run.scenario,
            label: run.label.clone(),
            profile: run.profile.clone(),
            regime: run.regime.clone(),
            point: run.point.clone(),
            window: run.window.clone(),
            guards_off: run.guards_off.clone(),
            kpi: run.kpi.clone(),
            seed: run.seed,
            auto_tune: run.auto_tune,
            final_verdict: summaries.last().map_or("-", |s| s.summary.kpi_verdict.name()).to_string(),
            verdict_counts,
            net_bps_mean: round6(mean(&net)),
            net_bps_median: round6(percentile(&net, 50.0)),
            risk_ratio_mean: round6(mean(&risk)),
            adverse_p95_mean: round6(mean(&series(|s| s.summary.adverse_p95))),
            slippage_p95_mean: round6(mean(&series(|s| s.summary.slippage_p95))),
            fills: summaries.iter().map(|s| s.summary.fills).sum(),
            applied_count,
            final_params,
            verdicts: summaries.iter().map(|s| s.summary.kpi_verdict.name().to_string()).collect(),
            net_bps: net,
            risk_ratio: risk,
        }
    }
}

/// `shard-IIII-of-NNNN.json`: one shard's results, sorted by run index, with the
/// spec (and its hash) they were computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardFile {
    pub format: String,
    pub sweep_hash: String,
    pub shard: u32,
    pub shards: u32,
    /// Runs in the whole sweep.
    pub runs_total: u32,
    pub spec: Spec,
    pub results: Vec<RunResult>,
}

/// A finished run's checkpoint, `checkpoints/shard-…/run-NNNNNNN.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub sweep_hash: String,
    pub result: RunResult,
}
