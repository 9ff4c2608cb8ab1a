//! The end of every run: ✓/✗ per threshold with the observed value, verdict
//! counts, what tuning changed, guard events by kind, where the artifacts are.
//! Printed to stderr (terminal and CI log alike); `--summary-export FILE.json`
//! writes the same as JSON, atomically.

use std::collections::BTreeMap;
use std::path::Path;

use mmsoak_core::report::TuningReport;
use serde::Serialize;

use crate::report_out::SummaryTally;
use crate::thresholds::ThresholdResult;

pub const SUMMARY_SCHEMA_VERSION: u32 = 1;

/// `--summary-export`'s JSON.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub schema_version: u32,
    pub iterations_completed: u32,
    pub iterations_planned: u32,
    /// Set when an `abort_on_fail` threshold stopped the run: why, and after which iteration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aborted: Option<Aborted>,
    /// Set when bad market data met mid-run stopped it (exit 2): after which iteration, and what.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bad_data: Option<BadDataStop>,
    /// True when every threshold passed (exit 0), false when one failed (exit 99).
    pub thresholds_passed: bool,
    pub thresholds: Vec<ThresholdResult>,
    /// PASS / WARN / FAIL / INCONCLUSIVE → iterations.
    pub verdict_counts: BTreeMap<String, u32>,
    pub final_verdict: Option<String>,
    pub tuning: Tuning,
    /// Guard name → events.
    pub guard_events: BTreeMap<String, u32>,
    /// `--compare-baseline`: one line per metric (shift, CI, p, method, verdict).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub baseline_comparison: BTreeMap<String, String>,
    /// `--compare-baseline` was asked but nothing was compared: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_not_compared: Option<String>,
    pub artifacts: Artifacts,
}

#[derive(Debug, Clone, Serialize)]
pub struct Aborted {
    pub after_iteration: u32,
    pub threshold: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BadDataStop {
    /// The stopped run's last complete iteration (the baseline run's when `baseline`).
    pub after_iteration: u32,
    pub reason: String,
    /// It was the `--compare-baseline` run that stopped; the tuned run had completed.
    pub baseline: bool,
    /// In a few words, for the text: "bad market data", or "a market data file
    /// changed" (a tick file written to during the run). `reason` says it too.
    #[serde(skip)]
    pub cause: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tuning {
    pub auto_tune: bool,
    /// Iterations whose tuning step was applied (TUNING_REPORT's `applied_count`;
    /// reverts to the safe profile are not tuning steps).
    pub applied_count: u32,
    /// Iterations whose change was applied, reverts included: the progress lines
    /// that say "applied". `applied_count` plus the `reverts`.
    pub applied_iterations: u32,
    /// Applied reverts to the safe profile by kind (`panic_revert`, `policy_revert`).
    pub reverts: BTreeMap<String, u32>,
    /// Every parameter that ended where it did not start.
    pub changed: Vec<ParamChange>,
    /// Parameters that applied steps moved but that ended where they started
    /// (a step and its undoing, or a revert to where the run began): not a change.
    pub moved_and_back: Vec<ParamChange>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ParamChange {
    pub name: String,
    pub first: f64,
    #[serde(rename = "final")]
    pub last: f64,
    /// Applied changes that moved this parameter: tuning steps and reverts to
    /// the safe profile alike (each an iteration whose line says "applied").
    pub applies: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Artifacts {
    /// `<out>/latest`: ITER_SUMMARY_*, TUNING_STATE, TUNING_REPORT, RUN.json.
    pub latest: String,
    pub tuning_report: String,
    pub runtime_overrides: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub markdown: Option<String>,
    /// `--export-html`: the HTML report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
}

/// The reports a run wrote besides TUNING_REPORT (`--export-md`, `--export-html`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Reports<'a> {
    pub markdown: Option<&'a Path>,
    pub html: Option<&'a Path>,
}

/// How a run ended short of what was asked, if it did.
#[derive(Debug, Clone, Default)]
pub struct Stops {
    /// An `abort_on_fail` threshold: after which iteration, and which.
    pub aborted: Option<(u32, String)>,
    pub bad_data: Option<BadDataStop>,
    /// Why `--compare-baseline` compared nothing.
    pub baseline_not_compared: Option<String>,
}

/// Builds the summary from the finished report and the thresholds' results.
pub fn build(
    report: &TuningReport,
    tally: &SummaryTally,
    results: Vec<ThresholdResult>,
    stops: Stops,
    out: &Path,
    reports: Reports,
) -> RunSummary {
    let Stops { aborted, bad_data, baseline_not_compared } = stops;
    let (mut changed, mut moved_and_back) = (Vec::new(), Vec::new());
    for ((name, first), (_, last)) in report.baseline.entries().into_iter().zip(report.final_overrides.entries()) {
        let applies = tally.applies.get(name).copied().unwrap_or(0);
        let change = ParamChange { name: name.to_string(), first, last, applies };
        if !same(first, last) {
            changed.push(change);
        } else if applies > 0 {
            moved_and_back.push(change);
        }
    }
    let guard_events = tally.guard_events.clone();
    let mut baseline_comparison = BTreeMap::new();
    if let Some(c) = &report.baseline_comparison {
        baseline_comparison.insert("net_bps".to_string(), c.net_bps.one_line());
        baseline_comparison.insert("risk_ratio".to_string(), c.risk_ratio.one_line());
    }
    let latest = out.join("latest");
    RunSummary {
        schema_version: SUMMARY_SCHEMA_VERSION,
        iterations_completed: report.iterations_completed,
        iterations_planned: report.settings.iterations,
        aborted: aborted.map(|(after_iteration, threshold)| Aborted { after_iteration, threshold }),
        bad_data,
        thresholds_passed: results.iter().all(|r| r.passed),
        thresholds: results,
        verdict_counts: report.verdict_counts.clone(),
        final_verdict: report.final_verdict.map(|v| v.name().to_string()),
        tuning: Tuning {
            auto_tune: report.settings.auto_tune,
            applied_count: report.applied_count,
            applied_iterations: tally.applied_iterations,
            reverts: tally.reverts.clone(),
            changed,
            moved_and_back,
        },
        guard_events,
        artifacts: Artifacts {
            latest: latest.display().to_string(),
            tuning_report: latest.join("TUNING_REPORT.json").display().to_string(),
            runtime_overrides: out.join("runtime_overrides.json").display().to_string(),
            markdown: reports.markdown.map(|p| p.display().to_string()),
            html: reports.html.map(|p| p.display().to_string()),
            baseline: report.baseline_comparison.as_ref().map(|_| out.join("baseline").display().to_string()),
        },
        baseline_comparison,
        baseline_not_compared,
    }
}

/// A parameter back where it started: equal but for the float error of adding a
/// step and then its opposite.
fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn plural(n: u32, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn num(x: f64) -> String {
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// The summary as text, one item per line, for the terminal and logs.
pub fn text(s: &RunSummary) -> String {
    let mut out = String::from("──── mmsoak run summary ────\n");
    match (&s.aborted, &s.bad_data) {
        (_, Some(b)) if b.baseline => out.push_str(&format!(
            "iterations: {} of {}; the baseline run STOPPED after its iteration {}: {} (said on the last line)\n",
            s.iterations_completed, s.iterations_planned, b.after_iteration, b.cause
        )),
        (_, Some(b)) => out.push_str(&format!(
            "STOPPED after iteration {} of {}: {} (said on the last line)\n",
            b.after_iteration, s.iterations_planned, b.cause
        )),
        (Some(a), None) => out.push_str(&format!(
            "STOPPED after iteration {} of {}: abort_on_fail threshold {}\n",
            a.after_iteration, s.iterations_planned, a.threshold
        )),
        (None, None) => out.push_str(&format!("iterations: {} of {}\n", s.iterations_completed, s.iterations_planned)),
    }
    if s.thresholds.is_empty() {
        out.push_str("thresholds: none set (--threshold or [thresholds] in mmsoak.toml)\n");
    } else {
        out.push_str("thresholds:\n");
        let width = s.thresholds.iter().map(|t| t.metric.len() + t.threshold.len() + 2).max().unwrap_or(0);
        for t in &s.thresholds {
            let label = format!("{}: {}", t.metric, t.threshold);
            let opts = match (t.abort_on_fail, t.delay) {
                (true, 0) => ", abort_on_fail".to_string(),
                (true, d) => format!(", abort_on_fail after {d}"),
                _ => String::new(),
            };
            out.push_str(&format!(
                "  {} {label:<width$}  observed {}  ({}{opts})\n",
                if t.passed { "✓" } else { "✗" },
                t.observed_text(),
                t.origin
            ));
        }
    }
    let counts: Vec<String> = s.verdict_counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
    out.push_str(&format!(
        "verdicts: {} (final {})\n",
        if counts.is_empty() { "none".to_string() } else { counts.join(", ") },
        s.final_verdict.as_deref().unwrap_or("—")
    ));
    out.push_str(&tuning_text(&s.tuning));
    let guards: Vec<String> = s.guard_events.iter().map(|(k, v)| format!("{k} {v}")).collect();
    out.push_str(&format!("guard events: {}\n", if guards.is_empty() { "none".into() } else { guards.join(", ") }));
    for (metric, line) in &s.baseline_comparison {
        out.push_str(&format!("vs untuned baseline, {metric}: {line}\n"));
    }
    if let Some(why) = &s.baseline_not_compared {
        out.push_str(&format!("baseline: not compared ({why})\n"));
    }
    let a = &s.artifacts;
    out.push_str(&format!("artifacts: {} (TUNING_REPORT.json, ITER_SUMMARY_*.json)", a.latest));
    if let Some(md) = &a.markdown {
        out.push_str(&format!("; report {md}"));
    }
    if let Some(html) = &a.html {
        out.push_str(&format!("; HTML report {html}"));
    }
    if let Some(b) = &a.baseline {
        out.push_str(&format!("; baseline run {b}"));
    }
    out.push('\n');
    out
}

/// The tuning lines: how many iterations applied a change, counted as their
/// progress lines say "applied" (a revert to the safe profile is one, named
/// apart), then each parameter that changed, then those that moved and came back.
fn tuning_text(t: &Tuning) -> String {
    if !t.auto_tune {
        return "tuning: off (--auto-tune to let the tuner adjust parameters)\n".into();
    }
    let mut out = format!("tuning: applied in {}", plural(t.applied_iterations, "iteration", "iterations"));
    if !t.reverts.is_empty() {
        let reverted: u32 = t.reverts.values().sum();
        let mut parts = vec![plural(t.applied_iterations.saturating_sub(reverted), "tuning step", "tuning steps")];
        for (kind, n) in &t.reverts {
            let kind = kind.replace('_', " ");
            parts.push(format!("{} to {}", plural(*n, &kind, &format!("{kind}s")), crate::profiles::SAFE));
        }
        out.push_str(&format!(" ({})", parts.join(", ")));
    }
    out.push('\n');
    let steps = |n: u32| plural(n, "applied step", "applied steps");
    for c in &t.changed {
        out.push_str(&format!(
            "  {:<18} {} → {}  (moved by {})\n",
            c.name,
            num(c.first),
            num(c.last),
            steps(c.applies)
        ));
    }
    if t.changed.is_empty() {
        out.push_str(if t.moved_and_back.is_empty() {
            "  no parameter changed\n"
        } else {
            "  no parameter changed overall\n"
        });
    }
    for c in &t.moved_and_back {
        out.push_str(&format!(
            "  {:<18} {} → {}  (moved and back, {})\n",
            c.name,
            num(c.first),
            num(c.last),
            steps(c.applies)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(bad_data: Option<BadDataStop>, baseline_not_compared: Option<String>) -> RunSummary {
        RunSummary {
            schema_version: SUMMARY_SCHEMA_VERSION,
            iterations_completed: 26,
            iterations_planned: 26,
            aborted: None,
            bad_data,
            thresholds_passed: true,
            thresholds: Vec::new(),
            verdict_counts: BTreeMap::new(),
            final_verdict: None,
            tuning: Tuning {
                auto_tune: false,
                applied_count: 0,
                applied_iterations: 0,
                reverts: BTreeMap::new(),
                changed: Vec::new(),
                moved_and_back: Vec::new(),
            },
            guard_events: BTreeMap::new(),
            baseline_comparison: BTreeMap::new(),
            baseline_not_compared,
            artifacts: Artifacts {
                latest: "o/latest".into(),
                tuning_report: "o/latest/TUNING_REPORT.json".into(),
                runtime_overrides: "o/runtime_overrides.json".into(),
                markdown: None,
                html: None,
                baseline: None,
            },
        }
    }

    #[test]
    fn a_stopped_baseline_is_told_apart_from_a_stopped_run() {
        let stop = |baseline| BadDataStop {
            after_iteration: 4,
            reason: "q.csv: line 7: bad".into(),
            baseline,
            cause: "bad market data",
        };
        let why = "the baseline run stopped after its iteration 4 of 26 on bad market data".to_string();
        let text = text(&summary(Some(stop(true)), Some(why.clone())));
        assert!(
            text.contains(
                "iterations: 26 of 26; the baseline run STOPPED after its iteration 4: bad market data (said on the last line)\n"
            ),
            "{text}"
        );
        assert!(text.contains(&format!("baseline: not compared ({why})\n")), "{text}");
        let text = super::text(&summary(Some(stop(false)), None));
        assert!(text.contains("STOPPED after iteration 4 of 26: bad market data"), "{text}");
        assert!(!text.contains("baseline"), "{text}");
        let json = serde_json::to_value(summary(Some(stop(true)), None)).unwrap();
        assert_eq!(json["bad_data"]["baseline"], true);
        assert!(json.get("baseline_not_compared").is_none());
    }
    fn change(name: &str, first: f64, last: f64, applies: u32) -> ParamChange {
        ParamChange { name: name.into(), first, last, applies }
    }

    fn tuning(applied_count: u32, reverts: &[(&str, u32)]) -> Tuning {
        let reverts: BTreeMap<String, u32> = reverts.iter().map(|(k, n)| (k.to_string(), *n)).collect();
        Tuning {
            auto_tune: true,
            applied_count,
            applied_iterations: applied_count + reverts.values().sum::<u32>(),
            reverts,
            changed: Vec::new(),
            moved_and_back: Vec::new(),
        }
    }

    /// The tester's run: three progress lines said "applied", one a panic revert;
    /// the summary said "applied in 2 iterations".
    #[test]
    fn the_applied_count_is_the_applied_lines_with_a_revert_named_apart() {
        let mut t = tuning(2, &[("panic_revert", 1)]);
        t.changed.push(change("min_interval_ms", 25.0, 75.0, 1));
        assert_eq!(
            tuning_text(&t),
            "tuning: applied in 3 iterations (2 tuning steps, 1 panic revert to steady_safe)\n\
             \x20 min_interval_ms    25 → 75  (moved by 1 applied step)\n"
        );
        let t = tuning(1, &[("panic_revert", 2), ("policy_revert", 1)]);
        assert!(
            tuning_text(&t).starts_with(
                "tuning: applied in 4 iterations (1 tuning step, 2 panic reverts to steady_safe, \
                 1 policy revert to steady_safe)\n"
            ),
            "{}",
            tuning_text(&t)
        );
        // Without a revert the line stays as it was; one iteration is not "iterations".
        assert_eq!(tuning_text(&tuning(1, &[])), "tuning: applied in 1 iteration\n  no parameter changed\n");
        let json = serde_json::to_value(tuning(2, &[("panic_revert", 1)])).unwrap();
        assert_eq!(json["applied_count"], 2);
        assert_eq!(json["applied_iterations"], 3);
        assert_eq!(json["reverts"]["panic_revert"], 1);
    }

    /// A parameter that moved and came back is listed apart, never as a change
    /// ("base_spread_bps 8 → 8 (moved by 3 applied steps)" was).
    #[test]
    fn a_parameter_back_where_it_started_is_not_a_change() {
        let mut t = tuning(2, &[("panic_revert", 1)]);
        t.moved_and_back.push(change("base_spread_bps", 8.0, 8.0, 3));
        assert_eq!(
            tuning_text(&t),
            "tuning: applied in 3 iterations (2 tuning steps, 1 panic revert to steady_safe)\n\
             \x20 no parameter changed overall\n\
             \x20 base_spread_bps    8 → 8  (moved and back, 3 applied steps)\n"
        );
        t.changed.push(change("inventory_skew", 0.1, 0.35, 1));
        let text = tuning_text(&t);
        assert!(!text.contains("no parameter changed"), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "  inventory_skew     0.1 → 0.35  (moved by 1 applied step)");
        assert_eq!(lines[2], "  base_spread_bps    8 → 8  (moved and back, 3 applied steps)");
        // A step and its opposite leave float dust; that is still where it started.
        assert!(same(0.1, 0.1 + 0.25 - 0.25) && same(3.0, 3.0) && !same(0.1, 0.1001) && !same(1e6, 1e6 + 1.0));
    }

    #[test]
    fn tuning_off_says_so() {
        let mut t = tuning(0, &[]);
        t.auto_tune = false;
        assert_eq!(tuning_text(&t), "tuning: off (--auto-tune to let the tuner adjust parameters)\n");
    }
}
