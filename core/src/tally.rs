//! The edge decomposition of one iteration's fills, shared by the simulator and
//! the tick replay so both report the same quantities the same way.
//!
//! All edge components are bps of maker notional (what a market maker earns per
//! unit quoted): spread capture (fill price vs the mid just before), adverse
//! selection (the mid's move against the fill over the markout horizon), fees
//! (taker fees on hedges; a positive maker fee), rebates (a negative maker fee),
//! hedging cost (half-spread crossed plus slippage beyond the touch).

use crate::edge::{round6, Quantiles};
use crate::stats::{cmp_nan_last, mean, percentile_sorted};

/// Accumulates fills in the order they happened.
#[derive(Debug, Clone, Default)]
pub struct EdgeTally {
    notional: f64,
    maker_notional: f64,
    capture: f64,
    adverse_cost: f64,
    /// Taker notional × (half-spread crossed + slippage + taker fee), bps.
    hedge_cost: f64,
    adverse: Vec<f64>,
    slippage: Vec<f64>,
    pub maker_fills: u64,
    pub taker_fills: u64,
    inventory: f64,
    pub max_abs_inventory: f64,
}

/// The rounded figures an EDGE_REPORT carries.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeFigures {
    pub notional: f64,
    pub spread_capture_bps: f64,
    pub rebates_bps: f64,
    pub fees_bps: f64,
    pub adverse_cost_bps: f64,
    pub hedge_cost_bps: f64,
    /// spread capture + rebates − adverse selection − fees − hedging cost.
    pub net_bps: f64,
    pub adverse: Quantiles,
    pub slippage: Quantiles,
}

/// Mean and percentiles of a per-fill quantity, rounded for artifacts.
pub fn quantiles(mut xs: Vec<f64>) -> Quantiles {
    xs.sort_by(cmp_nan_last);
    Quantiles {
        mean: round6(mean(&xs)),
        p50: round6(percentile_sorted(&xs, 50.0)),
        p95: round6(percentile_sorted(&xs, 95.0)),
        p99: round6(percentile_sorted(&xs, 99.0)),
    }
}

impl EdgeTally {
    fn position(&mut self, side: f64, size: f64) {
        self.inventory += side * size;
        self.max_abs_inventory = self.max_abs_inventory.max(self.inventory.abs());
    }

    /// A passive fill: `side` +1 bought, −1 sold; `mid_before` the mid just before
    /// the trade; `later` the mid at the markout horizon.
    pub fn maker(&mut self, side: f64, price: f64, size: f64, mid_before: f64, later: f64) {
        let n = price * size;
        self.notional += n;
        self.position(side, size);
        self.maker_fills += 1;
        self.maker_notional += n;
        self.capture += n * side * (mid_before - price) / mid_before * 1e4;
        // Cost: the mid's move against us from the mid at the fill (capture is separate).
        self.adverse_cost += n * side * (mid_before - later) / mid_before * 1e4;
        // Distribution: the move against the fill measured from its price, i.e. the
        // markout loss; a wider quote must be run over by more before it loses.
        self.adverse.push(side * (price - later) / price * 1e4);
    }

    /// An aggressive (hedge) fill that crossed `cross_bps` of half-spread and paid
    /// `slippage_bps` beyond the touch.
    pub fn taker(&mut self, side: f64, price: f64, size: f64, cross_bps: f64, slippage_bps: f64, taker_fee_bps: f64) {
        let n = price * size;
        self.notional += n;
        self.position(side, size);
        self.taker_fills += 1;
        self.hedge_cost += n * (cross_bps + slippage_bps + taker_fee_bps);
        self.slippage.push(slippage_bps);
    }

    /// The figures, with `maker_fee_bps` (negative: a rebate) and `taker_fee_bps`.
    pub fn finish(self, maker_fee_bps: f64, taker_fee_bps: f64) -> EdgeFigures {
        let m = self.maker_notional;
        let per_maker = |x: f64| if m > 0.0 { x / m } else { 0.0 };
        let taker_notional = self.notional - m;
        let spread_capture_bps = per_maker(self.capture);
        let rebates_bps = if m > 0.0 { (-maker_fee_bps).max(0.0) } else { 0.0 };
        let taker_fees_bps = per_maker(taker_notional * taker_fee_bps);
        let fees_bps = if m > 0.0 && maker_fee_bps > 0.0 { taker_fees_bps + maker_fee_bps } else { taker_fees_bps };
        let adverse_cost_bps = per_maker(self.adverse_cost);
        let hedge_cost_bps = per_maker(self.hedge_cost) - taker_fees_bps;
        let net_bps = spread_capture_bps + rebates_bps - adverse_cost_bps - fees_bps - hedge_cost_bps;
        EdgeFigures {
            notional: round6(self.notional),
            spread_capture_bps: round6(spread_capture_bps),
            rebates_bps: round6(rebates_bps),
            fees_bps: round6(fees_bps),
            adverse_cost_bps: round6(adverse_cost_bps),
            hedge_cost_bps: round6(hedge_cost_bps),
            net_bps: round6(net_bps),
            adverse: quantiles(self.adverse),
            slippage: quantiles(self.slippage),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rebate_adds_its_bps_and_a_maker_fee_costs_them() {
        let mut t = EdgeTally::default();
        t.maker(1.0, 99.0, 2.0, 100.0, 100.5);
        t.taker(-1.0, 99.9, 1.0, 1.0, 0.5, 2.0);
        let rebate = t.clone().finish(-0.5, 2.0);
        let fee = t.clone().finish(0.5, 2.0);
        assert!((rebate.net_bps - fee.net_bps - 1.0).abs() < 1e-9);
        assert_eq!(rebate.rebates_bps, 0.5);
        assert!((fee.fees_bps - rebate.fees_bps - 0.5).abs() < 1e-9);
        assert_eq!(t.max_abs_inventory, 2.0);
        assert!((rebate.hedge_cost_bps - 99.9 * 1.5 / 198.0).abs() < 1e-6);
    }
}
