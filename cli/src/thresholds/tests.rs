use super::*;
use mmsoak_core::edge::KpiObservation;
use mmsoak_core::kpi::KpiVerdict::*;

fn summary(i: u32, net: f64, verdict: KpiVerdict) -> IterSummary {
    let obs =
        KpiObservation { net_bps: net, risk_ratio: 0.1, adverse_p95: 1.0, slippage_p95: 0.0, fills: 100, blocks: None };
    let edge = obs.into_report(i);
    let mut state = mmsoak_core::soak::init(
        mmsoak_core::soak::SoakConfig {
            total_iterations: 10,
            auto_tune: false,
            iterations_per_hour: 4,
            thresholds: Default::default(),
            safe_params: Default::default(),
            guards: Default::default(),
        },
        Default::default(),
    );
    state.iteration = i - 1;
    let (_, mut s) = mmsoak_core::soak::step(state, &edge);
    s.summary.kpi_verdict = verdict;
    s
}

fn spec(text: &str) -> ThresholdSpec {
    parse_flag(text).unwrap()
}

#[test]
fn the_flag_form_parses_options() {
    let s = spec("kpi_verdict: fail_rate < 0.1, abort_on_fail, delay=6");
    assert_eq!(
        (s.metric.as_str(), s.threshold.as_str(), s.abort_on_fail, s.delay),
        ("kpi_verdict", "fail_rate < 0.1", true, 6)
    );
    assert!(parse_flag("net_bps p(50) > 2").is_err());
    assert!(parse_flag("net_bps: p(50) > 2, abort").unwrap_err().to_string().contains("abort"));
}

#[test]
fn unknown_metric_aggregate_operator_or_value_is_named() {
    let err = |t: &str| parse(&spec(t)).unwrap_err().to_string();
    assert!(err("net_edge: avg > 1").contains("unknown metric \"net_edge\""));
    assert!(err("net_bps: p95 > 1").contains("unknown aggregate \"p95\""));
    assert!(err("net_bps: p(101) > 1").contains("0 to 100"));
    assert!(err("net_bps: fail_rate < 1").contains("unknown aggregate"));
    assert!(err("kpi_verdict: avg < 1").contains("unknown aggregate \"avg\""));
    assert!(err("net_bps: avg ~ 1").contains("no comparison"));
    assert!(err("net_bps: avg > x").contains("not a finite number"));
    assert!(err("kpi_verdict: final != MAYBE").contains("not a verdict"));
    assert!(err("kpi_verdict: final < FAIL").contains("== or !="));
}

#[test]
fn aggregates_over_the_observed_iterations() {
    let specs: Vec<ThresholdSpec> = [
        "net_bps: p(50) > 2.5",
        "net_bps: med > 2.5",
        "net_bps: avg >= 3",
        "net_bps: min > 1",
        "net_bps: max < 5",
        "net_bps: count == 4",
        "kpi_verdict: fail_rate < 0.3",
        "kpi_verdict: fail_count(2) <= 0",
        "kpi_verdict: pass_rate >= 0.5",
        "kpi_verdict: final == PASS",
    ]
    .iter()
    .map(|t| spec(t))
    .collect();
    let mut gate = Gate::new(&specs).unwrap();
    for (i, (net, v)) in [(1.0, Fail), (3.0, Pass), (4.0, Pass), (4.0, Pass)].into_iter().enumerate() {
        assert!(gate.observe(&summary(i as u32 + 1, net, v)).is_none());
    }
    let r = gate.results();
    let observed: Vec<String> = r.iter().map(|r| r.observed_text()).collect();
    assert_eq!(observed, ["3.5", "3.5", "3", "1", "4", "4", "0.25", "0", "0.75", "PASS"]);
    let passed: Vec<bool> = r.iter().map(|r| r.passed).collect();
    assert_eq!(passed, [true, true, true, false, true, true, true, true, true, true]);
}

#[test]
fn abort_on_fail_waits_for_its_delay() {
    let mut gate = Gate::new(&[spec("net_bps: avg > 2, abort_on_fail, delay=3")]).unwrap();
    assert!(gate.observe(&summary(1, 0.0, Fail)).is_none());
    assert!(gate.observe(&summary(2, 0.0, Fail)).is_none());
    let why = gate.observe(&summary(3, 0.0, Fail)).unwrap();
    assert!(why.contains("net_bps: avg > 2") && why.contains("observed 0"), "{why}");
    assert_eq!(gate.aborted.as_ref().unwrap().0, 3);
}

#[test]
fn the_hard_gate_is_two_thresholds() {
    let mut gate = Gate::new(&hard_gate(6, 3)).unwrap();
    for (i, v) in [Fail, Fail, Fail, Fail, Pass].into_iter().enumerate() {
        gate.observe(&summary(i as u32 + 1, 3.0, v));
    }
    let r = gate.results();
    assert!(r[0].passed && !r[1].passed, "{r:?}");
    assert!(r[1].failure_text().contains("observed 4"));
    gate.observe(&summary(6, 3.0, Fail));
    assert!(gate.results()[0].failure_text().contains("final iteration's verdict is FAIL"));
}

#[test]
fn toml_takes_strings_lists_and_tables() {
    let t: toml::Table = toml::from_str(
        r#"
net_bps = "p(50) > 2.5"
adverse_p95 = ["max < 8", "p(95) < 6"]
kpi_verdict = [{ threshold = "fail_rate < 0.1", abort_on_fail = true, delay = 4 }]
"#,
    )
    .unwrap();
    let specs = from_toml(&t, "mmsoak.toml [thresholds]").unwrap();
    assert_eq!(specs.len(), 4);
    let k = specs.iter().find(|s| s.metric == "kpi_verdict").unwrap();
    assert!(k.abort_on_fail && k.delay == 4);
    let bad: toml::Table = toml::from_str("net_bps = [{ threshold = \"avg > 1\", abort = true }]").unwrap();
    assert!(from_toml(&bad, "f.toml").unwrap_err().to_string().contains("thresholds.net_bps"));
    let bad: toml::Table = toml::from_str("net_bps = 3").unwrap();
    assert!(from_toml(&bad, "f.toml").unwrap_err().to_string().contains("thresholds.net_bps = 3"));
}
