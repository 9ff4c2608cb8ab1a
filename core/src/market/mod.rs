//! The market simulator: a price process, an L2 book with queue position, and a
//! market-making strategy driven by [`Params`](crate::params::Params).
//!
//! Simulating one iteration is a pure function
//! `(params, market config, seed, iteration) -> EdgeReport`: see [`simulate_iteration`].

mod book;
mod facts;
pub mod fills_trace;
pub mod fit;
pub mod fit_report;
pub mod holdout;
mod maker;
mod price;
mod regime;
mod replay;
mod sim;
pub mod size_facts;
pub mod tick_sample;
pub mod trade_size;

pub use facts::{bar_returns, gapless_returns, stylized_facts, StylizedFacts, FACT_LAGS};
pub use maker::{Blocks, Fill};
pub use price::{minute_returns, minute_returns_for, PricePath};
pub use regime::{Regime, RegimeFile, RegimeSpec, REGIME_FILE_SCHEMA};
pub use replay::{bar_window_facts, parse_bars_csv, span_s, window_by_time, Bar, BarClock, BarError};
pub use sim::{simulate_iteration, simulate_iteration_traced, trade_counts, StepMarks, STEP_MS};

use serde::{Deserialize, Serialize};

/// Market seconds in one soak iteration: 96 iterations make a 24 h canary. The CLI,
/// the reference bot and the web app all use this one value.
pub const ITERATION_SECONDS: u32 = 900;

/// Where the mid comes from and how long an iteration lasts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketConfig {
    /// Regime of the synthetic market (ignored for the mid when `bars` drive it,
    /// but still used for book depth and trade flow).
    pub regime: Regime,
    /// Simulated seconds per iteration; 900 makes 96 iterations a 24 h canary.
    pub iteration_seconds: u32,
    /// Real bars for this iteration's window (`--source replay`), oldest first:
    /// see [`window_by_time`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bars: Vec<Bar>,
    /// Where `bars` sit in time. Absent: 1-minute bars, the window opening at the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<BarClock>,
    /// A fitted market (`--regime FILE`) in place of the named regime's numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<RegimeSpec>,
}

impl MarketConfig {
    pub fn synthetic(regime: Regime) -> Self {
        MarketConfig { regime, iteration_seconds: ITERATION_SECONDS, bars: Vec::new(), clock: None, spec: None }
    }

    /// What the simulator needs of a config from outside: bars that are bars
    /// (finite, positive prices, low ≤ open/close ≤ high, volume ≥ 0, oldest
    /// first) and fitted numbers in range. The error names the field.
    pub fn validate(&self) -> Result<(), String> {
        for (k, b) in self.bars.iter().enumerate() {
            let prices = [b.open, b.high, b.low, b.close];
            let ok = prices.iter().all(|p| p.is_finite() && *p > 0.0)
                && b.volume.is_finite()
                && b.volume >= 0.0
                && b.low <= b.high
                && (b.low..=b.high).contains(&b.open)
                && (b.low..=b.high).contains(&b.close);
            if !ok {
                return Err(format!("market.bars[{k}]: not a valid bar: {b:?}"));
            }
            if k > 0 && b.timestamp <= self.bars[k - 1].timestamp {
                return Err(format!("market.bars[{k}]: timestamp {} is not after the previous bar's", b.timestamp));
            }
        }
        if self.clock.is_some_and(|c| c.interval_s == 0) {
            return Err("market.clock.interval_s: must be at least 1".into());
        }
        if self.iteration_seconds == 0 {
            return Err("market.iteration_seconds: must be at least 1".into());
        }
        match &self.spec {
            Some(spec) => spec.validate().map_err(|e| format!("market.{e}")),
            None => Ok(()),
        }
    }

    /// The numbers of the regime in force: the fitted ones if given, else the named regime's.
    pub fn spec_for(&self, regime: Regime) -> RegimeSpec {
        self.spec.unwrap_or_else(|| regime.spec())
    }

    pub fn iterations_per_hour(&self) -> u32 {
        (3600 / self.iteration_seconds.max(1)).max(1)
    }
}
