//! The L2 book around the mid, and where an order of ours sits in it.
//!
//! Levels are `tick_bps` apart starting at the market's touch; depth grows away
//! from the touch. Our order joins the back of its level's queue: market volume at
//! better levels and the volume ahead of us at ours must trade before we fill
//! (an hftbacktest-style queue model, with random cancellations ahead of us).

/// A snapshot of the market's book for one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Book {
    pub mid: f64,
    /// Half of the market's best-bid/best-ask spread, bps.
    pub half_spread_bps: f64,
    pub tick_bps: f64,
    /// Depth at the touch, order units.
    pub top_depth: f64,
}

/// How far a price rests from the touch on its side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Placement {
    /// Inside the market's spread: ours is the best price, nobody ahead.
    Improving,
    /// At level `n` (0 = the touch).
    Level(u32),
}

const DEPTH_GROWTH_PER_LEVEL: f64 = 0.1;

impl Book {
    /// Distance of a resting order's price from the mid, bps (positive = passive side).
    pub fn distance_bps(&self, side: f64, price: f64) -> f64 {
        side * (self.mid - price) / self.mid * 1e4
    }

    pub fn placement(&self, distance_bps: f64) -> Placement {
        if distance_bps < self.half_spread_bps {
            Placement::Improving
        } else {
            Placement::Level(((distance_bps - self.half_spread_bps) / self.tick_bps) as u32)
        }
    }

    pub fn depth_at(&self, level: u32) -> f64 {
        self.top_depth * (1.0 + DEPTH_GROWTH_PER_LEVEL * level as f64)
    }

    /// Total depth at levels strictly better than `level`.
    pub fn depth_before(&self, level: u32) -> f64 {
        let n = level as f64;
        self.top_depth * (n + DEPTH_GROWTH_PER_LEVEL * n * (n - 1.0) / 2.0)
    }

    /// Volume that must trade ahead of a new order at this distance (joins the back).
    pub fn queue_on_entry(&self, distance_bps: f64) -> f64 {
        match self.placement(distance_bps) {
            Placement::Improving => 0.0,
            Placement::Level(l) => self.depth_at(l),
        }
    }

    /// Price of the touch on the side a taker order of `side` consumes
    /// (buy: best ask; sell: best bid).
    pub fn touch(&self, taker_side: f64) -> f64 {
        self.mid * (1.0 + taker_side * self.half_spread_bps / 1e4)
    }

    /// Walks a taker order of `size` through levels whose touch holds only
    /// `available_top` (fleeting liquidity). Returns the size-weighted average
    /// distance beyond the touch, bps.
    pub fn walk_slippage_bps(&self, size: f64, available_top: f64) -> f64 {
        let mut left = size;
        let mut level = 0u32;
        let mut cost = 0.0;
        while left > 1e-12 && level < 64 {
            let here = if level == 0 { available_top } else { self.depth_at(level) };
            let take = left.min(here);
            cost += take * level as f64 * self.tick_bps;
            left -= take;
            level += 1;
        }
        if size > 0.0 {
            cost / size
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> Book {
        Book { mid: 100.0, half_spread_bps: 1.0, tick_bps: 0.5, top_depth: 4.0 }
    }

    #[test]
    fn placement_by_distance() {
        let b = book();
        assert_eq!(b.placement(0.5), Placement::Improving);
        assert_eq!(b.placement(1.0), Placement::Level(0));
        assert_eq!(b.placement(2.2), Placement::Level(2));
        assert_eq!(b.depth_before(0), 0.0);
        assert_eq!(b.depth_before(2), 4.0 + 4.0 * 1.1);
    }

    #[test]
    fn larger_taker_orders_walk_further() {
        let b = book();
        let small = b.walk_slippage_bps(1.0, 2.0);
        let large = b.walk_slippage_bps(8.0, 2.0);
        assert_eq!(small, 0.0);
        assert!(large > small);
    }
}
