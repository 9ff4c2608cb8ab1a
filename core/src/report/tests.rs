use super::markdown::MARKDOWN_TITLE;
use super::stop::code_span;
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
    let engine = EngineRecord { kind: "native".into(), core_sha256: "cd".repeat(32), abi_version: 1, runtime: None };
    build(settings, engine, &summaries, &state, &[])
}

#[test]
fn a_stopped_run_says_after_which_iteration_and_why_under_the_title() {
    let r = report(4);
    let whole = markdown_head(&r, Some("c"));
    assert!(whole.starts_with(MARKDOWN_TITLE) && whole[MARKDOWN_TITLE.len()..].starts_with("| setting | value |\n"));
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

/// The verdict counts after "Final verdict" name each verdict, and a run with
/// none (stopped before its first iteration) gets no empty "()".
#[test]
fn verdict_counts_text_has_no_empty_parentheses() {
    assert_eq!(verdict_counts_text(&BTreeMap::new()), "");
    let counts = BTreeMap::from([("FAIL".to_string(), 2), ("PASS".to_string(), 16)]);
    assert_eq!(verdict_counts_text(&counts), " (FAIL 2, PASS 16)");
}
