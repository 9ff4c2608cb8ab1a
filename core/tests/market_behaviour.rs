//! The simulator responds to parameters the way a market maker expects, and its
//! price process has the stylized facts of real markets.

use mmsoak_core::edge::EdgeReport;
use mmsoak_core::market::{minute_returns, simulate_iteration, MarketConfig, Regime};
use mmsoak_core::params::Params;
use mmsoak_core::stats::{autocorrelation, excess_kurtosis, mean};

/// The shipped `aggressive` profile.
fn aggressive() -> Params {
    serde_json::from_str(include_str!("../../profiles/aggressive.json"))
        .expect("profiles/aggressive.json is a full parameter set")
}

/// Runs `iterations` iterations of one configuration over several seeds.
fn runs(params: &Params, regime: Regime, iterations: u32) -> Vec<EdgeReport> {
    let market = MarketConfig::synthetic(regime);
    (1..=3u64)
        .flat_map(|seed| (1..=iterations).map(move |i| (seed, i)))
        .map(|(seed, i)| simulate_iteration(params, &market, seed, i))
        .collect()
}

fn avg(rs: &[EdgeReport], f: impl Fn(&EdgeReport) -> f64) -> f64 {
    mean(&rs.iter().map(f).collect::<Vec<_>>())
}

#[test]
fn wider_spread_means_fewer_fills_and_less_adverse_selection() {
    let tight = runs(&Params { base_spread_bps: 4.0, ..Params::default() }, Regime::Volatile, 8);
    let wide = runs(&Params { base_spread_bps: 14.0, ..Params::default() }, Regime::Volatile, 8);
    let (ft, fw) = (avg(&tight, |e| e.maker_fills as f64), avg(&wide, |e| e.maker_fills as f64));
    let (at, aw) = (avg(&tight, |e| e.adverse.p95), avg(&wide, |e| e.adverse.p95));
    assert!(fw < ft, "fills: tight {ft} wide {fw}");
    assert!(aw < at, "adverse p95: tight {at} wide {aw}");
}

#[test]
fn slower_refresh_means_more_min_interval_blocks() {
    let fast = runs(&Params { min_interval_ms: 50, ..Params::default() }, Regime::Volatile, 4);
    let slow = runs(&Params { min_interval_ms: 300, ..Params::default() }, Regime::Volatile, 4);
    let (bf, bs) = (avg(&fast, |e| e.blocks.min_interval as f64), avg(&slow, |e| e.blocks.min_interval as f64));
    assert!(bs > bf * 1.5, "min_interval blocks: 50 ms {bf}, 300 ms {bs}");
}

#[test]
fn smaller_impact_cap_means_less_slippage() {
    let big = runs(&Params { impact_cap_ratio: 0.5, ..aggressive() }, Regime::Volatile, 8);
    let small = runs(&Params { impact_cap_ratio: 0.1, ..aggressive() }, Regime::Volatile, 8);
    let (sb, ss) = (avg(&big, |e| e.slippage.mean), avg(&small, |e| e.slippage.mean));
    assert!(ss < sb, "mean hedge slippage: cap 0.5 {sb}, cap 0.1 {ss}");
}

#[test]
fn flash_crash_is_riskier_than_calm_at_the_same_parameters() {
    let calm = runs(&aggressive(), Regime::Calm, 8);
    let crash = runs(&aggressive(), Regime::FlashCrash, 8);
    let (rc, rf) = (avg(&calm, |e| e.risk_ratio), avg(&crash, |e| e.risk_ratio));
    let (ac, af) = (avg(&calm, |e| e.adverse.p95), avg(&crash, |e| e.adverse.p95));
    assert!(rf > rc, "risk ratio: calm {rc}, flash_crash {rf}");
    assert!(af > ac, "adverse p95: calm {ac}, flash_crash {af}");
}

#[test]
fn volatile_returns_have_fat_tails_and_volatility_clustering() {
    // 20 simulated days of 1-minute returns.
    let r = minute_returns(Regime::Volatile, 11, 20 * 24 * 60);
    let k = excess_kurtosis(&r);
    assert!(k > 3.0, "excess kurtosis {k}");
    let abs: Vec<f64> = r.iter().map(|x| x.abs()).collect();
    for lag in 1..=10 {
        let a = autocorrelation(&abs, lag);
        assert!(a > 0.05, "|r| autocorrelation at lag {lag}: {a}");
        let raw = autocorrelation(&r, lag);
        assert!(raw.abs() < 0.05, "raw autocorrelation at lag {lag}: {raw}");
    }
}

#[test]
fn same_seed_same_report_and_different_seeds_differ() {
    let m = MarketConfig::synthetic(Regime::Mixed);
    let p = Params::default();
    assert_eq!(simulate_iteration(&p, &m, 5, 3), simulate_iteration(&p, &m, 5, 3));
    assert_ne!(simulate_iteration(&p, &m, 5, 3), simulate_iteration(&p, &m, 6, 3));
}
