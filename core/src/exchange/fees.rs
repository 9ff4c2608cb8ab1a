//! Trading fees in bps of traded notional; a negative maker rate is a rebate.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fees {
    /// Charged on our passive (maker) fills, bps; negative = rebate paid to us.
    pub maker_bps: f64,
    /// Charged on our aggressive (taker) hedges, bps.
    pub taker_bps: f64,
}

impl Default for Fees {
    /// The simulator's schedule: a 0.2 bps maker rebate, a 2 bps taker fee.
    fn default() -> Self {
        Fees { maker_bps: -0.2, taker_bps: 2.0 }
    }
}

impl Fees {
    /// Both fees in range (see [`super::plan::setting::fee_bps`]); the first bad one's reason.
    pub fn check(&self) -> Result<(), String> {
        use super::plan::setting::fee_bps;
        fee_bps("maker", self.maker_bps).and(fee_bps("taker", self.taker_bps)).map(|_| ())
    }
}
