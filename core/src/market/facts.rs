//! Stylized facts of a return series: the numbers that tell a realistic market
//! from a toy one (fat tails, volatility clustering, no linear predictability).

use serde::{Deserialize, Serialize};

use super::replay::Bar;
use crate::edge::round6;
use crate::stats::{autocorrelation, excess_kurtosis, mean};

pub const FACT_LAGS: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StylizedFacts {
    pub minutes: usize,
    /// Standard deviation of 1-minute log-returns, bps.
    pub std_bps: f64,
    pub excess_kurtosis: f64,
    /// Autocorrelation of returns at lags 1..=10.
    pub acf_returns: Vec<f64>,
    /// Autocorrelation of |returns| at lags 1..=10.
    pub acf_abs_returns: Vec<f64>,
}

pub fn stylized_facts(returns_bps: &[f64]) -> StylizedFacts {
    let m = mean(returns_bps);
    let var = mean(&returns_bps.iter().map(|r| (r - m) * (r - m)).collect::<Vec<_>>());
    let abs: Vec<f64> = returns_bps.iter().map(|r| r.abs()).collect();
    StylizedFacts {
        minutes: returns_bps.len(),
        std_bps: round6(var.sqrt()),
        excess_kurtosis: round6(excess_kurtosis(returns_bps)),
        acf_returns: (1..=FACT_LAGS).map(|l| round6(autocorrelation(returns_bps, l))).collect(),
        acf_abs_returns: (1..=FACT_LAGS).map(|l| round6(autocorrelation(&abs, l))).collect(),
    }
}

/// 1-minute log-returns of consecutive closes, bps.
pub fn bar_returns(bars: &[Bar]) -> Vec<f64> {
    bars.windows(2).map(|w| libm::log(w[1].close / w[0].close) * 1e4).collect()
}

/// Log-returns between consecutive bars exactly `interval_s` apart, bps: none
/// spans a gap (a gap's move is not one interval's).
pub fn gapless_returns(bars: &[Bar], interval_s: u32) -> Vec<f64> {
    bars.windows(2)
        .filter(|w| w[1].timestamp - w[0].timestamp == interval_s as i64)
        .map(|w| libm::log(w[1].close / w[0].close) * 1e4)
        .collect()
}
