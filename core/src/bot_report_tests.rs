//! EDGE_REPORT v1 and v2 through [`super::parse`].

use serde_json::{json, Value};

use super::*;
use crate::kpi::KpiThresholds;
use crate::market::{simulate_iteration, MarketConfig, Regime};
use crate::soak::{self, SoakConfig};

fn aggressive() -> Params {
    Params {
        base_spread_bps: 3.0,
        min_interval_ms: 25,
        impact_cap_ratio: 0.4,
        max_delta_ratio: 0.55,
        concurrency_limit: 6,
        tail_age_ms: 500,
        inventory_skew: 0.1,
    }
}

fn v1(sequence: u64, params: &Params, edge: &EdgeReport) -> Vec<u8> {
    serde_json::to_vec(&BotReport {
        schema_version: 1,
        sequence,
        generated_at_ms: 1_000,
        params: params.clone(),
        edge: edge.clone(),
    })
    .unwrap()
}

/// Only the required fields, with `edge`'s KPIs.
fn v2_minimal(sequence: u64, params: &Params, edge: &EdgeReport) -> Value {
    json!({
        "schema_version": 2, "sequence": sequence, "generated_at_ms": 1_000, "params": params,
        "edge": {
            "net_bps": edge.net_bps,
            "blocks": {"risk": edge.blocks.risk, "min_interval": edge.blocks.min_interval,
                       "concurrency": edge.blocks.concurrency},
            "adverse": {"p95": edge.adverse.p95}, "slippage": {"p95": edge.slippage.p95},
            "maker_fills": edge.maker_fills, "taker_fills": edge.taker_fills,
        }
    })
}

#[test]
fn a_minimal_v2_report_tunes_exactly_as_the_full_v1_report() {
    let config = SoakConfig {
        total_iterations: 12,
        auto_tune: true,
        iterations_per_hour: 4,
        thresholds: KpiThresholds::default(),
        safe_params: Params::default(),
        guards: Default::default(),
    };
    let market = MarketConfig::synthetic(Regime::Volatile);
    let mut a = soak::init(config.clone(), aggressive());
    let mut b = soak::init(config, aggressive());
    let mut applied = 0;
    for i in 1..=12u32 {
        let edge = simulate_iteration(&a.overrides, &market, 4, i);
        let full = parse(&v1(i as u64, &a.overrides, &edge)).unwrap();
        let short = parse(&serde_json::to_vec(&v2_minimal(i as u64, &b.overrides, &edge)).unwrap()).unwrap();
        assert_eq!(short.schema_version, 2);
        assert!(short.unknown_fields.is_empty());
        let (na, sa) = soak::step(a, &full.edge);
        let (nb, sb) = soak::step(b, &short.edge);
        assert_eq!(sa.summary, sb.summary, "iteration {i}");
        assert_eq!(sa.tuning, sb.tuning, "iteration {i}");
        assert_eq!(na.overrides, nb.overrides, "iteration {i}");
        assert_eq!(na.tuning, nb.tuning, "iteration {i}");
        applied += u32::from(sa.tuning.applied);
        (a, b) = (na, nb);
    }
    assert!(applied >= 2, "the comparison needs tuning to happen: {applied} applied steps");
}

#[test]
fn a_v1_body_under_version_2_reads_as_v1_and_unknown_fields_are_listed() {
    let edge = simulate_iteration(&Params::default(), &MarketConfig::synthetic(Regime::Calm), 1, 1);
    let one = parse(&v1(3, &Params::default(), &edge)).unwrap();
    let mut doc: Value = serde_json::from_slice(&v1(3, &Params::default(), &edge)).unwrap();
    doc["schema_version"] = json!(2);
    let two = parse(&serde_json::to_vec(&doc).unwrap()).unwrap();
    assert_eq!(one.edge, two.edge);
    // v1 refuses a field it does not know; v2 accepts and lists it.
    doc["edge"]["pnl_usd"] = json!(12.5);
    doc["venue"] = json!("x");
    doc["edge"]["blocks"]["self_trade"] = json!(1);
    let two = parse(&serde_json::to_vec(&doc).unwrap()).unwrap();
    assert_eq!(two.unknown_fields, ["edge.blocks.self_trade", "edge.pnl_usd", "venue"]);
    assert_eq!(two.edge.source_notes.unwrap().unknown_fields, two.unknown_fields);
    doc["schema_version"] = json!(1);
    let err = parse(&serde_json::to_vec(&doc).unwrap()).unwrap_err();
    assert!(matches!(&err, ReportError::Malformed(m) if m.contains("unknown field")), "{err:?}");
}

#[test]
fn v2_errors_name_the_field() {
    let p = Params::default();
    let edge = simulate_iteration(&p, &MarketConfig::synthetic(Regime::Calm), 1, 1);
    let good = v2_minimal(1, &p, &edge);
    let spoil = |f: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        f(&mut v);
        parse(&serde_json::to_vec(&v).unwrap()).unwrap_err()
    };
    let cases: Vec<(ReportError, &str)> = vec![
        (spoil(&|v| _ = v["edge"].as_object_mut().unwrap().remove("blocks")), "edge.risk_ratio or blocks"),
        (spoil(&|v| _ = v["edge"].as_object_mut().unwrap().remove("net_bps")), "edge: missing field `net_bps`"),
        (
            spoil(&|v| _ = v["edge"]["adverse"].as_object_mut().unwrap().remove("p95")),
            "edge.adverse: missing field `p95`",
        ),
        (spoil(&|v| v["edge"]["risk_ratio"] = json!(2.0)), "edge.risk_ratio: must be between 0 and 1, got 2"),
        (spoil(&|v| v["edge"]["maker_fills"] = json!(-1)), "edge.maker_fills: invalid value"),
        (spoil(&|v| v["params"]["base_spread_bps"] = json!(1e9)), "params.base_spread_bps"),
        (spoil(&|v| v["schema_version"] = json!(3)), "schema_version: 3 (this mmsoak reads v1 and v2)"),
    ];
    for (err, expected) in cases {
        let text = match &err {
            ReportError::Malformed(m) | ReportError::Invalid(m) => m,
        };
        assert!(text.contains(expected), "{expected}: {err:?}");
    }
    // Only risk_ratio (no blocks) is enough.
    let mut v = good.clone();
    v["edge"].as_object_mut().unwrap().remove("blocks");
    v["edge"]["risk_ratio"] = json!(0.25);
    let r = parse(&serde_json::to_vec(&v).unwrap()).unwrap();
    assert_eq!((r.edge.risk_ratio, r.edge.blocks.total()), (0.25, 0));
}
