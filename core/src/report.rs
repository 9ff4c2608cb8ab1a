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

pub use crate::report_tally::ReportTally;

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

/// A Markdown report readable on GitHub: settings, charts (when `charts_dir` names
/// where [`charts`] were written, relative to the report), one row per iteration,
/// final parameters, guard events. The concatenation of [`markdown_head`],
/// [`markdown_row`] per row, [`markdown_params`] and, when there are guard events,
/// [`MARKDOWN_GUARD_HEADER`] and [`markdown_guard_row`] per event: a streamed
/// report writes the same parts in the same order.
pub fn markdown(r: &TuningReport, charts_dir: Option<&str>) -> String {
    let mut out = markdown_head(r, charts_dir);
    for row in &r.rows {
        out.push_str(&markdown_row(row));
    }
    out.push_str(&markdown_params(r));
    if !r.guard_events.is_empty() {
        out.push_str(MARKDOWN_GUARD_HEADER);
    }
    for e in &r.guard_events {
        out.push_str(&markdown_guard_row(e));
    }
    out
}

/// The Markdown report up to the iterations table's header: settings, verdicts, the
/// baseline comparison, the chart links. Uses none of `r.rows` or `r.guard_events`.
pub fn markdown_head(r: &TuningReport, charts_dir: Option<&str>) -> String {
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
    let _ =
        writeln!(out, "\n**Final verdict: {final_v}** ({}); {}.\n", counts.join(", "), tuning_steps(r.applied_count));
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
        for (name, title, _) in chart_names() {
            let _ = writeln!(out, "![{title}]({dir}/{name}.svg)\n");
        }
    }
    let _ = writeln!(out, "## Iterations\n");
    let _ = writeln!(out, "| # | verdict | net bps | risk ratio | adverse p95 | slippage p95 | fills | tuning |");
    let _ = writeln!(out, "|---:|---|---:|---:|---:|---:|---:|---|");
    out
}

/// The reasons of an applied decision that reverted to the safe profile rather
/// than took a tuning step (`soak::revert_to_safe`'s callers).
pub const REVERTS: [&str; 2] = ["panic_revert", "policy_revert"];

/// "N tuning steps applied": `applied_count` counts tuning steps only; a revert
/// to the safe profile is applied too, and its row says so ([`tuning_cell`]).
pub fn tuning_steps(applied_count: u32) -> String {
    format!("{applied_count} tuning step{} applied", if applied_count == 1 { "" } else { "s" })
}

/// A row's tuning column (Markdown and HTML): the applied changes, with the
/// revert named when the change was a panic or policy revert (applied, with its
/// kind as the reason), else why nothing was applied.
pub fn tuning_cell(row: &ReportRow) -> String {
    if row.applied {
        let deltas = row.deltas.iter().map(|(k, v)| format!("{k} {v:+}")).collect::<Vec<_>>().join(", ");
        match row.skipped_reason.as_deref().filter(|r| REVERTS.contains(r)) {
            Some(revert) => format!("{deltas} ({})", revert.replace('_', " ")),
            None => deltas,
        }
    } else {
        row.skipped_reason.clone().unwrap_or_else(|| "—".into())
    }
}

/// One line of the Markdown report's iterations table.
pub fn markdown_row(row: &ReportRow) -> String {
    let tuning = tuning_cell(row);
    format!(
        "| {} | {} | {:.2} | {:.3} | {:.2} | {:.2} | {} | {} |\n",
        row.iteration,
        row.kpi_verdict.name(),
        row.net_bps,
        row.risk_ratio,
        row.adverse_p95,
        row.slippage_p95,
        row.fills,
        tuning
    )
}

/// The Markdown report's parameters table (after the iterations).
pub fn markdown_params(r: &TuningReport) -> String {
    let mut out = String::from("\n## Parameters\n\n| parameter | baseline | final |\n|---|---:|---:|\n");
    for ((name, base), (_, fin)) in r.baseline.entries().into_iter().zip(r.final_overrides.entries()) {
        let _ = writeln!(out, "| {name} | {base} | {fin} |");
    }
    out
}

/// Heads the guard-events table, written only when there is at least one event.
pub const MARKDOWN_GUARD_HEADER: &str =
    "\n## Guard events\n\n| iteration | guard | parameter | detail |\n|---:|---|---|---|\n";

/// One line of the Markdown report's guard-events table.
pub fn markdown_guard_row(e: &GuardEvent) -> String {
    format!(
        "| {} | {} | {} | {} |\n",
        e.iteration,
        e.guard,
        e.param.as_deref().unwrap_or("—"),
        e.detail.replace('|', "\\|")
    )
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
    let mut columns = ChartColumns::default();
    rows.iter().for_each(|r| columns.push_row(r));
    events.iter().for_each(|e| columns.push_event(e));
    let (values, events) = columns.into_parts();
    values.iter().enumerate().filter_map(|(k, v)| chart(k, v, &events)).collect()
}

/// Chart `index` (in [`chart_names`] order) of `values` (iteration 1 first), with
/// the freeze / cooldown / oscillation / panic-revert events among `events` marked;
/// `None` past the last chart.
pub fn chart(index: usize, values: &[f64], events: &[GuardEvent]) -> Option<Chart> {
    use crate::chart::{line_chart, marker_color, Marker};
    let (name, title, unit) = *chart_names().get(index)?;
    let markers: Vec<Marker> = events
        .iter()
        .filter(|e| is_marker(e))
        .map(|e| Marker { iteration: e.iteration, label: e.guard.clone(), color: marker_color(&e.guard) })
        .collect();
    Some(Chart { name: name.to_string(), title: title.to_string(), svg: line_chart(title, unit, values, &markers) })
}

fn is_marker(e: &GuardEvent) -> bool {
    matches!(e.guard.as_str(), "freeze" | "cooldown_start" | "panic_revert" | "oscillation")
}

/// What the charts are drawn from, filled one row and one guard event at a time, so
/// a streamed report holds 8 bytes per iteration and chart (and the marker events)
/// rather than the rows.
#[derive(Debug, Clone)]
pub struct ChartColumns {
    values: Vec<Vec<f64>>,
    events: Vec<GuardEvent>,
}

impl Default for ChartColumns {
    fn default() -> Self {
        ChartColumns { values: vec![Vec::new(); chart_names().len()], events: Vec::new() }
    }
}

impl ChartColumns {
    pub fn push_row(&mut self, row: &ReportRow) {
        let kpis = [row.net_bps, row.risk_ratio, row.adverse_p95, row.slippage_p95];
        let params = crate::params::APPLY_BOUNDS.iter().map(|spec| row.overrides.get(spec.name).unwrap_or(0.0));
        for (column, v) in self.values.iter_mut().zip(kpis.into_iter().chain(params)) {
            column.push(v);
        }
    }

    /// Keeps the events the charts mark; others are dropped.
    pub fn push_event(&mut self, e: &GuardEvent) {
        if is_marker(e) {
            self.events.push(e.clone());
        }
    }

    /// Each chart's values (in [`chart`] index order) and the marker events.
    pub fn into_parts(self) -> (Vec<Vec<f64>>, Vec<GuardEvent>) {
        (self.values, self.events)
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

/// (file name, title, unit) of each chart, in order: what the Markdown links to and
/// what [`ChartColumns`] fills (the four KPIs, then each parameter of `APPLY_BOUNDS`).
pub fn chart_names() -> Vec<(&'static str, &'static str, &'static str)> {
    let mut out = vec![
        ("net_bps", "net edge", "bps"),
        ("risk_ratio", "risk ratio", "risk blocks / all blocks"),
        ("adverse_p95", "adverse selection p95", "bps"),
        ("slippage_p95", "slippage p95", "bps"),
    ];
    out.extend(crate::params::APPLY_BOUNDS.iter().map(|spec| (spec.name, spec.name, "parameter in force")));
    out
}

/// Why a run ended before its planned iterations. TUNING_REPORT does not record
/// it (the shell decides it: an `abort_on_fail` threshold, bad market data met
/// mid-run); the Markdown and HTML reports say it near the top. A run that went
/// to its end has none, and its reports are byte for byte as they were.
#[derive(Debug, Clone, PartialEq)]
pub struct RunStop {
    /// Iterations done when the run stopped (of the baseline run for
    /// [`StopCause::BaselineBadData`] and [`StopCause::BaselineDataChanged`]).
    pub after_iteration: u32,
    pub planned: u32,
    pub cause: StopCause,
    /// `--compare-baseline` was asked, and the stop of the tuned run skipped its baseline.
    pub baseline_skipped: bool,
}

/// What stopped a run, with its one-line detail.
#[derive(Debug, Clone, PartialEq)]
pub enum StopCause {
    /// An `abort_on_fail` threshold failed: its label (`kpi_verdict: fail_count < 2 (observed 2)`).
    Threshold(String),
    /// Bad market data met mid-run: the error (`FILE: line L: …`).
    BadData(String),
    /// Bad market data stopped the `--compare-baseline` run after the tuned run
    /// had finished: the report is whole but without the comparison.
    BaselineBadData(String),
    /// A tick data file changed under the replay (edited, grown, cut, replaced or
    /// removed after the start-of-run checks): the file and how (`FILE (grew from
    /// A to B bytes) changed during the run: …`).
    DataChanged(String),
    /// As [`StopCause::DataChanged`], in the `--compare-baseline` run.
    BaselineDataChanged(String),
}

impl RunStop {
    /// `STOPPED after iteration K of N`, or `The untuned baseline run STOPPED after …`.
    pub fn headline(&self) -> String {
        let whose = match self.cause {
            StopCause::BaselineBadData(_) | StopCause::BaselineDataChanged(_) => "The untuned baseline run ",
            _ => "",
        };
        format!("{whose}STOPPED after iteration {} of {}", self.after_iteration, self.planned)
    }

    /// The words before the detail, the detail, and the words after it.
    fn parts(&self) -> (&'static str, &str, String) {
        let (before, detail, after) = match &self.cause {
            StopCause::Threshold(label) => ("abort_on_fail threshold ", label.as_str(), " failed."),
            StopCause::BadData(e) => ("bad market data: ", e.as_str(), ""),
            StopCause::BaselineBadData(e) => {
                ("bad market data: ", e.as_str(), "; this report has no baseline comparison.")
            }
            StopCause::DataChanged(e) => ("a market data file changed: ", e.as_str(), ""),
            StopCause::BaselineDataChanged(e) => {
                ("a market data file changed: ", e.as_str(), "; this report has no baseline comparison.")
            }
        };
        let skipped = if self.baseline_skipped {
            " The untuned baseline run was skipped (--compare-baseline compares complete runs only)."
        } else {
            ""
        };
        (before, detail, format!("{after}{skipped}"))
    }

    /// The Markdown paragraph: the headline in bold, the detail as code.
    pub fn markdown(&self) -> String {
        let (before, detail, after) = self.parts();
        format!("**{}:** {before}{}{after}\n\n", self.headline(), code_span(detail))
    }

    /// The HTML paragraph: the headline in bold, the detail as code, escaped by `esc`.
    pub fn html(&self, esc: impl Fn(&str) -> String) -> String {
        let (before, detail, after) = self.parts();
        format!(
            "<p class=\"verdict broken\"><strong>{}:</strong> {}<code>{}</code>{}</p>\n",
            esc(&self.headline()),
            esc(before),
            esc(&one_line(detail)),
            esc(&after)
        )
    }
}

fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

/// `text` on one line as a Markdown code span: fenced by one backtick more than its
/// longest run of them, padded with a space where it begins or ends with one.
fn code_span(text: &str) -> String {
    let text = one_line(text);
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// The Markdown report's first lines: its title.
const MARKDOWN_TITLE: &str = "# mmsoak soak report\n\n";

/// [`markdown_head`] with, for a run that ended early, why under the title
/// ([`RunStop::markdown`]); without a stop, `markdown_head`'s bytes.
pub fn markdown_head_stopped(r: &TuningReport, charts_dir: Option<&str>, stop: Option<&RunStop>) -> String {
    let head = markdown_head(r, charts_dir);
    match (stop, head.strip_prefix(MARKDOWN_TITLE)) {
        (Some(stop), Some(rest)) => format!("{MARKDOWN_TITLE}{}{rest}", stop.markdown()),
        _ => head,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::{simulate_iteration, MarketConfig, Regime};
    use crate::soak::{self, SoakConfig};

    /// A revert is named in its row; a step with some parameters held back shows
    /// what moved; a decision not applied shows why. The head counts tuning steps.
    #[test]
    fn a_revert_row_says_so_and_the_head_counts_tuning_steps() {
        let row = |applied: bool, reason: Option<&str>| ReportRow {
            iteration: 3,
            kpi_verdict: KpiVerdict::Fail,
            net_bps: -1.0,
            risk_ratio: 0.5,
            adverse_p95: 1.0,
            slippage_p95: 1.0,
            fills: 4,
            applied,
            skipped_reason: reason.map(str::to_string),
            deltas: [("base_spread_bps".to_string(), -4.0)].into_iter().collect(),
            overrides: Params::default(),
        };
        assert_eq!(tuning_cell(&row(true, Some("panic_revert"))), "base_spread_bps -4 (panic revert)");
        assert_eq!(tuning_cell(&row(true, Some("policy_revert"))), "base_spread_bps -4 (policy revert)");
        assert_eq!(tuning_cell(&row(true, Some("oscillation:min_interval_ms"))), "base_spread_bps -4");
        assert_eq!(tuning_cell(&row(true, None)), "base_spread_bps -4");
        assert_eq!(tuning_cell(&row(false, Some("frozen"))), "frozen");
        assert!(markdown_row(&row(true, Some("panic_revert"))).ends_with("| base_spread_bps -4 (panic revert) |\n"));
        assert_eq!(tuning_steps(1), "1 tuning step applied");
        assert_eq!(tuning_steps(0), "0 tuning steps applied");
        let head = markdown_head(&report(3), None);
        assert!(head.contains(&format!("); {}.", tuning_steps(report(3).applied_count))), "{head}");
    }

    fn report(iterations: u32) -> TuningReport {
        let config = SoakConfig {
            total_iterations: 10,
            auto_tune: true,
            iterations_per_hour: 4,
            thresholds: Default::default(),
            safe_params: Params::default(),
            guards: Default::default(),
        };
        let mut state = soak::init(config, Params::default());
        let market = MarketConfig::synthetic(Regime::Volatile);
        let mut summaries = Vec::new();
        for i in 1..=iterations {
            let (next, summary) = soak::step(state.clone(), &simulate_iteration(&state.overrides, &market, 5, i));
            state = next;
            summaries.push(summary);
        }
        let settings = RunSettings {
            profile: "default".into(),
            regime: "volatile".into(),
            source: "sim".into(),
            data_file: None,
            seed: 5,
            iterations: 10,
            auto_tune: true,
            iteration_seconds: 900,
            policy: None,
            ticks: None,
            bars: None,
            regime_spec: None,
        };
        let engine =
            EngineRecord { kind: "native".into(), core_sha256: "cd".repeat(32), abi_version: 1, runtime: None };
        build(settings, engine, &summaries, &state, &[])
    }

    #[test]
    fn a_stopped_run_says_after_which_iteration_and_why_under_the_title() {
        let r = report(4);
        let whole = markdown_head(&r, Some("c"));
        assert!(
            whole.starts_with(MARKDOWN_TITLE) && whole[MARKDOWN_TITLE.len()..].starts_with("| setting | value |\n")
        );
        assert!(markdown(&r, Some("c")).starts_with(&whole));
        assert_eq!(markdown_head_stopped(&r, Some("c"), None), whole);
        let stop = RunStop {
            after_iteration: 4,
            planned: 10,
            cause: StopCause::Threshold("kpi_verdict: fail_count < 2 (observed 2)".into()),
            baseline_skipped: false,
        };
        let said = "**STOPPED after iteration 4 of 10:** abort_on_fail threshold \
                    `kpi_verdict: fail_count < 2 (observed 2)` failed.\n\n";
        let head = markdown_head_stopped(&r, Some("c"), Some(&stop));
        assert_eq!(head, whole.replacen("# mmsoak soak report\n\n", &format!("# mmsoak soak report\n\n{said}"), 1));
        let stop = RunStop {
            after_iteration: 3,
            planned: 26,
            cause: StopCause::BadData("/d/q_1.csv: line 7: field `a` (price): \"-1\" is not a positive price".into()),
            baseline_skipped: false,
        };
        assert_eq!(
            stop.markdown(),
            "**STOPPED after iteration 3 of 26:** bad market data: \
             ``/d/q_1.csv: line 7: field `a` (price): \"-1\" is not a positive price``\n\n"
        );
        let skipped = RunStop { baseline_skipped: true, ..stop };
        assert_eq!(
            skipped.markdown(),
            "**STOPPED after iteration 3 of 26:** bad market data: \
             ``/d/q_1.csv: line 7: field `a` (price): \"-1\" is not a positive price`` \
             The untuned baseline run was skipped (--compare-baseline compares complete runs only).\n\n"
        );
        assert_eq!(code_span("`x`"), "`` `x` ``");
        assert_eq!(code_span("a\nb"), "`a b`");
    }

    /// A file changed under the replay is not called bad data, in the run or its baseline.
    #[test]
    fn a_changed_data_file_is_named_as_such() {
        let detail = "/d/q.csv (grew from 10 to 12 bytes) changed during the run".to_string();
        let stop = RunStop {
            after_iteration: 2,
            planned: 30,
            cause: StopCause::DataChanged(detail.clone()),
            baseline_skipped: false,
        };
        assert_eq!(
            stop.markdown(),
            "**STOPPED after iteration 2 of 30:** a market data file changed: `/d/q.csv (grew from 10 to 12 bytes) changed during the run`\n\n"
        );
        let baseline = RunStop { cause: StopCause::BaselineDataChanged(detail), ..stop };
        assert_eq!(
            baseline.markdown(),
            "**The untuned baseline run STOPPED after iteration 2 of 30:** a market data file changed: `/d/q.csv (grew from 10 to 12 bytes) changed during the run`; this report has no baseline comparison.\n\n"
        );
    }
}
