use mmsoak_core::market::{simulate_iteration, MarketConfig, Regime};
use mmsoak_core::params::Params;
fn main() {
    let base = Params {
        base_spread_bps: 5.0,
        min_interval_ms: 45,
        impact_cap_ratio: 0.38,
        max_delta_ratio: 0.55,
        concurrency_limit: 6,
        tail_age_ms: 500,
        inventory_skew: 0.1,
    };
    let m = MarketConfig::synthetic(Regime::Volatile);
    for (label, p) in [
        ("base", base.clone()),
        ("skew.4", Params { inventory_skew: 0.4, ..base.clone() }),
        ("skew.8", Params { inventory_skew: 0.8, ..base.clone() }),
        ("mi75", Params { min_interval_ms: 75, ..base.clone() }),
        ("mi120", Params { min_interval_ms: 120, ..base.clone() }),
        ("cap.2", Params { impact_cap_ratio: 0.2, ..base.clone() }),
        ("spr8", Params { base_spread_bps: 8.0, ..base.clone() }),
        ("md.3", Params { max_delta_ratio: 0.3, ..base.clone() }),
        ("steady", Params::default()),
    ] {
        let mut risks = Vec::new();
        let mut nets = Vec::new();
        for seed in 1..=10u64 {
            for it in 1..=6 {
                let e = simulate_iteration(&p, &m, seed, it);
                risks.push(e.risk_ratio);
                nets.push(e.net_bps);
            }
        }
        let n = risks.len() as f64;
        let over = risks.iter().filter(|r| **r > 0.5).count() as f64 / n;
        let netlow = nets.iter().filter(|r| **r < 2.0).count() as f64 / n;
        println!(
            "{label:<8} risk mean {:.3} P(>0.5) {:.2} net mean {:.2} P(net<2) {:.2}",
            risks.iter().sum::<f64>() / n,
            over,
            nets.iter().sum::<f64>() / n,
            netlow
        );
    }
}
