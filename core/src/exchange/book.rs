//! The replayed market's book: L2 levels in ticks from depth data or quotes
//! (each side a [`Levels`] ladder, `super::levels`), and, where the data has
//! order ids (LOBSTER), the resting orders it has seen (L3). Our own orders are
//! never in it: the market is replayed, not moved.

use serde::{Deserialize, Serialize};

pub use super::levels::{Asks, Bids, Levels, WINDOW_TICKS};
pub use super::orders::{L3Order, L3Orders};
use crate::feed::{EventKind, Side};
use crate::num::min_num;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MarketBook {
    /// price (ticks) → quantity.
    pub bids: Bids,
    pub asks: Asks,
    /// Resting orders by id (L3 data only).
    pub orders: L3Orders,
    pub next_seq: u64,
    /// Trading halted (LOBSTER type 7).
    pub halted: bool,
    /// The book is unknown after a broken diff chain, until the next snapshot.
    pub invalid: bool,
    /// The book is crossed or locked right now (to count episodes, not events).
    pub crossed: bool,
}

/// What applying one event did that the exchange model cares about.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Effect {
    None,
    /// The quantity at (side, price) went from `prev` to `new`.
    Depth {
        side: Side,
        price: i64,
        prev: f64,
        new: f64,
    },
    /// The top of the book was replaced wholesale (a snapshot or a quote).
    Reset,
    /// A cancel of an order: `ahead_seq` is its time priority (`None`: unknown to the file).
    Cancel {
        side: Side,
        price: i64,
        qty: f64,
        seq: Option<u64>,
    },
}

impl MarketBook {
    #[inline]
    pub fn best_bid(&self) -> Option<(i64, f64)> {
        self.bids.best()
    }

    #[inline]
    pub fn best_ask(&self) -> Option<(i64, f64)> {
        self.asks.best()
    }

    /// Best bid and ask when both exist and the book is usable (not crossed, not halted).
    #[inline]
    pub fn touch(&self) -> Option<(i64, i64)> {
        if self.halted || self.invalid {
            return None;
        }
        match (self.bids.best_price(), self.asks.best_price()) {
            (Some(b), Some(a)) if b < a => Some((b, a)),
            _ => None,
        }
    }

    #[inline]
    pub fn qty_at(&self, side: Side, price: i64) -> f64 {
        match side {
            Side::Buy => self.bids.get(price),
            Side::Sell => self.asks.get(price),
        }
    }

    #[inline]
    fn set_level(&mut self, side: Side, price: i64, qty: f64) -> f64 {
        match side {
            Side::Buy => self.bids.set(price, qty),
            Side::Sell => self.asks.set(price, qty),
        }
    }

    /// Applies one event. `unknown_ids` counts cancels and executions of orders the
    /// data never showed arriving (resting before the file starts, or outside its depth).
    pub fn apply(&mut self, kind: &EventKind, unknown_ids: &mut u64) -> Effect {
        match *kind {
            EventKind::Level { side, price, qty } => {
                let prev = self.set_level(side, price, qty);
                Effect::Depth { side, price, prev, new: qty }
            }
            EventKind::Clear => {
                self.bids.clear();
                self.asks.clear();
                self.invalid = false;
                Effect::Reset
            }
            EventKind::Quote { bid, ask } => {
                // A quote stream is the freshest view of the touch: levels better than it are stale.
                if let Some((p, q)) = bid {
                    self.bids.remove_better_than(p);
                    self.set_level(Side::Buy, p, q);
                }
                if let Some((p, q)) = ask {
                    self.asks.remove_better_than(p);
                    self.set_level(Side::Sell, p, q);
                }
                Effect::Reset
            }
            EventKind::Trade { maker_order, qty, .. } => {
                if let Some(id) = maker_order {
                    match self.orders.get_mut(id) {
                        Some(o) => {
                            o.qty -= qty;
                            if o.qty <= 1e-12 {
                                self.orders.remove(id);
                            }
                        }
                        None => *unknown_ids += 1,
                    }
                }
                Effect::None
            }
            EventKind::Add { id, side, price, qty } => {
                self.orders.insert(id, L3Order { side, price, qty, seq: self.next_seq });
                self.next_seq += 1;
                Effect::None
            }
            EventKind::Cancel { id, side, price, qty } => {
                let seq = match self.orders.get_mut(id) {
                    Some(o) => {
                        let seq = o.seq;
                        o.qty -= qty;
                        if o.qty <= 1e-12 {
                            self.orders.remove(id);
                        }
                        Some(seq)
                    }
                    None => {
                        *unknown_ids += 1;
                        None
                    }
                };
                Effect::Cancel { side, price, qty, seq }
            }
            EventKind::Halt { halted } => {
                self.halted = halted;
                Effect::None
            }
            EventKind::SequenceGap { book } => {
                if book {
                    self.bids.clear();
                    self.asks.clear();
                    self.invalid = true;
                    return Effect::Reset;
                }
                Effect::None
            }
        }
    }

    /// True when the book has just become crossed or locked (an episode starts).
    pub fn crossed_episode(&mut self) -> bool {
        let now = match (self.bids.best_price(), self.asks.best_price()) {
            (Some(b), Some(a)) => b >= a,
            _ => false,
        };
        let started = now && !self.crossed;
        self.crossed = now;
        started
    }

    /// Forgets L3 orders the data can no longer speak of: beyond the visible depth
    /// (a LOBSTER file only reports messages inside its levels). Keeps the state O(depth).
    pub fn prune_orders(&mut self) {
        let (Some((lo, _)), Some((_, hi))) = (self.bids.min_max(), self.asks.min_max()) else {
            return;
        };
        self.orders.retain(|o| o.price >= lo && o.price <= hi);
    }

    /// Walks a taker order of `qty` on `side` (Buy lifts asks) through the real book.
    /// Returns (average price in ticks, fraction-weighted ticks beyond the touch).
    /// Past the displayed depth the rest fills one tick beyond the last level.
    pub fn walk(&self, side: Side, qty: f64) -> Option<(f64, f64)> {
        let mut left = qty;
        let mut cost = 0.0;
        let mut beyond = 0.0;
        let touch;
        let mut last;
        match side {
            Side::Buy => {
                touch = self.best_ask()?.0;
                last = touch;
                for (p, q) in self.asks.iter_best_first() {
                    let take = min_num(left, q);
                    cost += take * p as f64;
                    beyond += take * (p - touch) as f64;
                    left -= take;
                    last = p;
                    if left <= 1e-12 {
                        break;
                    }
                }
                last += 1;
            }
            Side::Sell => {
                touch = self.best_bid()?.0;
                last = touch;
                for (p, q) in self.bids.iter_best_first() {
                    let take = min_num(left, q);
                    cost += take * p as f64;
                    beyond += take * (touch - p) as f64;
                    left -= take;
                    last = p;
                    if left <= 1e-12 {
                        break;
                    }
                }
                last -= 1;
            }
        }
        if left > 1e-12 {
            cost += left * last as f64;
            beyond += left * (last - touch).abs() as f64;
        }
        if qty <= 0.0 {
            return None;
        }
        Some((cost / qty, beyond / qty))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lvl(side: Side, price: i64, qty: f64) -> EventKind {
        EventKind::Level { side, price, qty }
    }

    #[test]
    fn levels_quotes_and_walks() {
        let mut b = MarketBook::default();
        let mut u = 0;
        for e in
            [lvl(Side::Buy, 99, 2.0), lvl(Side::Buy, 98, 5.0), lvl(Side::Sell, 101, 1.0), lvl(Side::Sell, 103, 4.0)]
        {
            b.apply(&e, &mut u);
        }
        assert_eq!(b.touch(), Some((99, 101)));
        let (avg, beyond) = b.walk(Side::Buy, 3.0).unwrap();
        assert!((avg - (101.0 + 2.0 * 103.0) / 3.0).abs() < 1e-12);
        assert!((beyond - 4.0 / 3.0).abs() < 1e-12);
        // Past the displayed depth: one tick beyond the last level.
        let (avg, _) = b.walk(Side::Sell, 8.0).unwrap();
        assert!((avg - (2.0 * 99.0 + 5.0 * 98.0 + 97.0) / 8.0).abs() < 1e-12);
        // A quote above the old best bid drops the stale level below it? No: only better ones.
        b.apply(&EventKind::Quote { bid: Some((100, 1.0)), ask: Some((102, 1.0)) }, &mut u);
        assert_eq!(b.touch(), Some((100, 102)));
        assert_eq!(b.qty_at(Side::Sell, 101), 0.0);
        b.apply(&lvl(Side::Buy, 102, 1.0), &mut u);
        assert!(b.crossed_episode());
        assert!(!b.crossed_episode());
        assert_eq!(b.touch(), None);
    }

    #[test]
    fn l3_cancels_know_time_priority() {
        let mut b = MarketBook::default();
        let mut u = 0;
        b.apply(&EventKind::Add { id: 7, side: Side::Buy, price: 99, qty: 10.0 }, &mut u);
        let e = b.apply(&EventKind::Cancel { id: 7, side: Side::Buy, price: 99, qty: 4.0 }, &mut u);
        assert_eq!(e, Effect::Cancel { side: Side::Buy, price: 99, qty: 4.0, seq: Some(0) });
        let e = b.apply(&EventKind::Cancel { id: 8, side: Side::Buy, price: 99, qty: 1.0 }, &mut u);
        assert_eq!(e, Effect::Cancel { side: Side::Buy, price: 99, qty: 1.0, seq: None });
        assert_eq!(u, 1);
        assert_eq!(b.orders.get(7).map(|o| o.qty), Some(6.0));
    }
}
