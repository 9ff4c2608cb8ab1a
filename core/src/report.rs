//! TUNING_REPORT.json and the Markdown report: pure functions of the run's
//! summaries, so every engine (and the browser) renders identical bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::guards::GuardEvent;
use crate::judge::{judged, Better, Uplift, NET_BPS_GATE, RISK_RATIO_GATE};
use crate::kpi::KpiVerdict;
use crate::params::Params;
use crate::soak::{IterSummary, SoakState};

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

fn verdict_counts(summaries: &[IterSummary]) -> BTreeMap<String, u32> {
    let mut counts = BTreeMap::new();
    for s in summaries {
        *counts.entry(s.summary.kpi_verdict.name().to_string()).or_insert(0) += 1;
    }
    counts
}

/// Tuned against untuned, metric by metric ([`judged`]: one-sided Mann-Whitney in the
/// metric's good direction, Hodges-Lehmann shift, effect-size gate).
pub fn compare(tuned: &[IterSummary], baseline: &[IterSummary]) -> BaselineComparison {
    let series = |xs: &[IterSummary], f: fn(&IterSummary) -> f64| xs.iter().map(f).collect::<Vec<f64>>();
    let net = |s: &IterSummary| s.summary.net_bps;
    let risk = |s: &IterSummary| s.summary.risk_ratio;
    BaselineComparison {
        baseline_verdict_counts: verdict_counts(baseline),
        net_bps: judged(&series(tuned, net), &series(baseline, net), Better::Higher, NET_BPS_GATE),
        risk_ratio: judged(&series(tuned, risk), &series(baseline, risk), Better::Lower, RISK_RATIO_GATE),
    }
}

pub fn build(
    settings: RunSettings,
    engine: EngineRecord,
    summaries: &[IterSummary],
    state: &SoakState,
    baseline: &[IterSummary],
) -> TuningReport {
    let verdict_counts = verdict_counts(summaries);
    TuningReport {
        schema_version: REPORT_SCHEMA_VERSION,
        core_version: env!("CARGO_PKG_VERSION").to_string(),
        engine,
        settings,
        iterations_completed: state.iteration,
        verdict_counts,
        final_verdict: summaries.last().map(|s| s.summary.kpi_verdict),
        baseline: state.baseline.clone(),
        final_overrides: state.overrides.clone(),
        applied_count: state.tuning.applied_count,
        rows: rows_of(summaries),
        guard_events: summaries.iter().flat_map(|s| s.tuning.guards.iter().cloned()).collect(),
        baseline_comparison: (!baseline.is_empty()).then(|| compare(summaries, baseline)),
    }
}

/// A Markdown report readable on GitHub: settings, charts (when `charts_dir` names
/// where [`charts`] were written, relative to the report), one row per iteration,
/// final parameters, guard events.
pub fn markdown(r: &TuningReport, charts_dir: Option<&str>) -> String {
    let s = &r.settings;
    let mut out = String::new();
    let _ = writeln!(out, "# mmsoak soak report\n");
    let _ = writeln!(out, "| setting | value |\n|---|---|");
    let data = s.data_file.as_deref().map(|d| format!(" (`{d}`)")).unwrap_or_default();
    for (k, v) in [
        ("profile", s.profile.clone()),
        ("regime", s.regime.clone()),
        ("source", format!("{}{data}", s.source)),
        ("seed", s.seed.to_string()),
        ("iterations", format!("{} of {}", r.iterations_completed, s.iterations)),
        ("auto-tune", if s.auto_tune { "on".into() } else { "off".into() }),
        ("simulated time per iteration", format!("{} s", s.iteration_seconds)),
        (
            "tick replay",
            s.ticks.as_ref().map_or_else(String::new, |t| {
                let c = &t.config;
                format!(
                    "{} ({} files); tick {}; lot {}; queue {}; latency {}; fees maker {} / taker {} bps",
                    c.formats.iter().map(|f| f.name()).collect::<Vec<_>>().join("+"),
                    t.streams.iter().map(|s| s.len()).sum::<usize>(),
                    c.tick.price(1),
                    c.lot,
                    c.queue.name(),
                    c.latency.name(),
                    c.fees.maker_bps,
                    c.fees.taker_bps
                )
            }),
        ),
        (
            "engine",
            format!(
                "{} (core sha256 `{}`, ABI v{})",
                r.engine.kind,
                short(&r.engine.core_sha256),
                r.engine.abi_version
            ),
        ),
    ] {
        if v.is_empty() {
            continue;
        }
        let _ = writeln!(out, "| {k} | {v} |");
    }
    let counts: Vec<String> = r.verdict_counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let final_v = r.final_verdict.map_or("—", |v| v.name());
    let _ = writeln!(
        out,
        "\n**Final verdict: {final_v}** ({}); tuning applied {} times.\n",
        counts.join(", "),
        r.applied_count
    );
    if let Some(c) = &r.baseline_comparison {
        let _ = writeln!(out, "## Tuned vs untuned baseline (same seed and market)\n");
        let _ = writeln!(
            out,
            "{}",
            crate::judge::markdown_table(&[("net_bps", &c.net_bps), ("risk_ratio", &c.risk_ratio)])
        );
        let counts: Vec<String> = c.baseline_verdict_counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(out, "\nBaseline verdicts: {}.\n", counts.join(", "));
    }
    if let Some(dir) = charts_dir {
        let _ = writeln!(out, "## Charts\n\nDashed lines mark guard events: blue freeze, amber cooldown, purple oscillation, red panic revert.\n");
        for (name, title, _, _) in chart_series(&r.rows) {
            let _ = writeln!(out, "![{title}]({dir}/{name}.svg)\n");
        }
    }
    let _ = writeln!(out, "## Iterations\n");
    let _ = writeln!(out, "| # | verdict | net bps | risk ratio | adverse p95 | slippage p95 | fills | tuning |");
    let _ = writeln!(out, "|---:|---|---:|---:|---:|---:|---:|---|");
    for row in &r.rows {
        let tuning = if row.applied {
            row.deltas.iter().map(|(k, v)| format!("{k} {v:+}")).collect::<Vec<_>>().join(", ")
        } else {
            row.skipped_reason.clone().unwrap_or_else(|| "—".into())
        };
        let _ = writeln!(
            out,
            "| {} | {} | {:.2} | {:.3} | {:.2} | {:.2} | {} | {} |",
            row.iteration,
            row.kpi_verdict.name(),
            row.net_bps,
            row.risk_ratio,
            row.adverse_p95,
            row.slippage_p95,
            row.fills,
            tuning
        );
    }
    let _ = writeln!(out, "\n## Parameters\n\n| parameter | baseline | final |\n|---|---:|---:|");
    for ((name, base), (_, fin)) in r.baseline.entries().into_iter().zip(r.final_overrides.entries()) {
        let _ = writeln!(out, "| {name} | {base} | {fin} |");
    }
    if !r.guard_events.is_empty() {
        let _ = writeln!(out, "\n## Guard events\n\n| iteration | guard | parameter | detail |\n|---:|---|---|---|");
        for e in &r.guard_events {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                e.iteration,
                e.guard,
                e.param.as_deref().unwrap_or("—"),
                e.detail.replace('|', "\\|")
            );
        }
    }
    out
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// One SVG chart of the report, named for its file (`<name>.svg`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chart {
    pub name: String,
    pub title: String,
    pub svg: String,
}

/// Charts over iterations: net_bps, risk_ratio, adverse and slippage p95, and each
/// parameter, with freeze / cooldown / oscillation / panic-revert events marked.
pub fn charts(r: &TuningReport) -> Vec<Chart> {
    charts_of(&r.rows, &r.guard_events)
}

/// [`charts`] from the rows and events alone (a viewer given only ITER_SUMMARY files).
pub fn charts_of(rows: &[ReportRow], events: &[GuardEvent]) -> Vec<Chart> {
    use crate::chart::{line_chart, marker_color, Marker};
    let markers: Vec<Marker> = events
        .iter()
        .filter(|e| matches!(e.guard.as_str(), "freeze" | "cooldown_start" | "panic_revert" | "oscillation"))
        .map(|e| Marker { iteration: e.iteration, label: e.guard.clone(), color: marker_color(&e.guard) })
        .collect();
    chart_series(rows)
        .into_iter()
        .map(|(name, title, unit, values)| Chart {
            name: name.to_string(),
            title: title.to_string(),
            svg: line_chart(title, unit, &values, &markers),
        })
        .collect()
}

/// A report row per summary: what the charts and tables are drawn from.
pub fn rows_of(summaries: &[IterSummary]) -> Vec<ReportRow> {
    summaries
        .iter()
        .map(|s| ReportRow {
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
        })
        .collect()
}

/// (file name, title, unit, values) of each chart: what the Markdown links to and
/// what [`charts`] draws.
fn chart_series(rows: &[ReportRow]) -> Vec<(&'static str, &'static str, &'static str, Vec<f64>)> {
    let column = |f: fn(&ReportRow) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
    let mut out = vec![
        ("net_bps", "net edge", "bps", column(|x| x.net_bps)),
        ("risk_ratio", "risk ratio", "risk blocks / all blocks", column(|x| x.risk_ratio)),
        ("adverse_p95", "adverse selection p95", "bps", column(|x| x.adverse_p95)),
        ("slippage_p95", "slippage p95", "bps", column(|x| x.slippage_p95)),
    ];
    for spec in crate::params::APPLY_BOUNDS.iter() {
        let values = rows.iter().map(|x| x.overrides.get(spec.name).unwrap_or(0.0)).collect();
        out.push((spec.name, spec.name, "parameter in force", values));
    }
    out
}
