//! Prints KPIs for each profile × regime: a quick look at how the simulator responds.
//! `cargo run --release -p mmsoak-core --example calibrate`
use mmsoak_core::market::{simulate_iteration, MarketConfig, Regime};
use mmsoak_core::params::Params;

/// A shipped profile (every profile file is a full parameter set).
fn profile(text: &str) -> Params {
    serde_json::from_str(text).expect("profile is a full parameter set")
}

fn main() {
    let profiles = [
        ("steady", profile(include_str!("../../profiles/steady_safe.json"))),
        ("ultra", profile(include_str!("../../profiles/ultra_safe.json"))),
        ("aggr", profile(include_str!("../../profiles/aggressive.json"))),
    ];
    for regime in Regime::ALL {
        for (name, p) in &profiles {
            let mut rows = Vec::new();
            for it in 1..=6 {
                let e = simulate_iteration(p, &MarketConfig::synthetic(regime), 7, it);
                rows.push(e);
            }
            let n = rows.len() as f64;
            let avg = |f: &dyn Fn(&mmsoak_core::edge::EdgeReport) -> f64| rows.iter().map(f).sum::<f64>() / n;
            println!(
                "{:<14} {:<7} fills {:>6.0} taker {:>4.0} net {:>7.2} cap {:>5.2} adv {:>5.2} hedge {:>5.2} risk {:.3} adv95 {:>6.2} slip95 {:>5.2} blocks r/mi/c {:>6.0}/{:>6.0}/{:>6.0}",
                regime.name(), name,
                avg(&|e| e.maker_fills as f64), avg(&|e| e.taker_fills as f64),
                avg(&|e| e.net_bps), avg(&|e| e.spread_capture_bps), avg(&|e| e.adverse_cost_bps), avg(&|e| e.hedge_cost_bps),
                avg(&|e| e.risk_ratio), avg(&|e| e.adverse.p95), avg(&|e| e.slippage.p95),
                avg(&|e| e.blocks.risk as f64), avg(&|e| e.blocks.min_interval as f64), avg(&|e| e.blocks.concurrency as f64),
            );
        }
    }
}
