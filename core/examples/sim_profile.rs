//! Times the native simulator on the throughput bench's volatile iterations and
//! prints a digest of their EDGE_REPORTs, so a change can be checked for speed
//! and for identical output in one command (and profiled with `perf record`):
//! `cargo run --release -p mmsoak-core --example sim_profile [rounds]`.

use std::time::Instant;

use mmsoak_core::market::{simulate_iteration, MarketConfig, Regime};
use mmsoak_core::params::Params;

fn main() {
    let rounds: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    let params = Params::default();
    let mut digest = 0u64;
    for regime in [Regime::Volatile, Regime::Calm, Regime::Mixed, Regime::FlashCrash] {
        let market = MarketConfig::synthetic(regime);
        let mut best = f64::MAX;
        digest = digest.rotate_left(7);
        for round in 0..rounds {
            let t = Instant::now();
            let reports: Vec<_> = (1..=8).map(|i| simulate_iteration(&params, &market, 1, i)).collect();
            best = best.min(t.elapsed().as_secs_f64());
            if round == 0 {
                digest ^= fnv(&serde_json::to_vec(&reports).unwrap_or_default());
            }
        }
        println!("{:>12}: {:.3} ms per iteration", regime.name(), best * 1e3 / 8.0);
    }
    println!("digest of the EDGE_REPORTs: {digest:016x}");
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}
