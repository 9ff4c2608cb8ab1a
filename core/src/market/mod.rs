//! The market simulator: a price process, an L2 book with queue position, and a
//! market-making strategy driven by [`Params`](crate::params::Params).
//!
//! Simulating one iteration is a pure function
//! `(params, market config, seed, iteration) -> EdgeReport`: see [`simulate_iteration`].

mod book;
mod facts;
mod maker;
mod price;
mod regime;
mod replay;
mod sim;

pub use facts::{bar_returns, stylized_facts, StylizedFacts, FACT_LAGS};
pub use price::{minute_returns, PricePath};
pub use regime::{Regime, RegimeSpec};
pub use replay::{parse_bars_csv, window, Bar, BarError};
pub use sim::{simulate_iteration, STEP_MS};

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
    /// Real 1-minute bars for this iteration's window (`--source replay`), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bars: Vec<Bar>,
}

impl MarketConfig {
    pub fn synthetic(regime: Regime) -> Self {
        MarketConfig { regime, iteration_seconds: ITERATION_SECONDS, bars: Vec::new() }
    }

    pub fn iterations_per_hour(&self) -> u32 {
        (3600 / self.iteration_seconds.max(1)).max(1)
    }
}
