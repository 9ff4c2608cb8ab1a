//! One side of the replayed book ([`super::book::MarketBook`]): price (ticks) →
//! quantity as a [`Levels`] ladder: a dense array over a window of
//! [`WINDOW_TICKS`] prices around the touch, the levels outside it in a
//! `BTreeMap`, and the best price cached; the window follows the best price. A
//! level lookup, a depth update near the touch and the touch itself are O(1)
//! (replaying a Binance capture updates a 1,000+ level book ~400,000 times,
//! mostly near the touch); a quote drops only the levels better than it. A side
//! serializes as `[[price, quantity], …]`.

use std::collections::BTreeMap;
use std::ops::Bound::{Excluded, Unbounded};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Prices (ticks) a side holds in its dense window; it recentres on the best
/// price when the best leaves it.
pub const WINDOW_TICKS: usize = 1 << 15;

/// The levels that must lie around a best price outside the window for the
/// window to move there.
const RECENTRE_MIN_LEVELS: usize = 8;

/// One side's levels: price (ticks) → quantity, every quantity > 0. `BID`: the best
/// price is the highest (bids), else the lowest (asks).
#[derive(Clone, Default)]
pub struct Levels<const BID: bool> {
    /// `qty[i]` is the quantity at price `base + i`, 0.0 where there is no level
    /// (empty until the first level arrives).
    base: i64,
    qty: Vec<f64>,
    /// Levels inside the window.
    near: usize,
    /// Levels outside the window.
    far: BTreeMap<i64, f64>,
    /// The best price, when there is a level.
    best: Option<i64>,
}

pub type Bids = Levels<true>;
pub type Asks = Levels<false>;

type LevelIter<'a> = Box<dyn Iterator<Item = (i64, f64)> + 'a>;

impl<const BID: bool> Levels<BID> {
    /// `a` is better than `b` on this side.
    #[inline]
    fn better(a: i64, b: i64) -> bool {
        if BID {
            a > b
        } else {
            a < b
        }
    }

    /// The window index of `price`.
    #[inline]
    fn idx(&self, price: i64) -> Option<usize> {
        let i = usize::try_from(price.checked_sub(self.base)?).ok()?;
        (i < self.qty.len()).then_some(i)
    }

    pub fn len(&self) -> usize {
        self.near + self.far.len()
    }

    pub fn is_empty(&self) -> bool {
        self.best.is_none()
    }

    /// The quantity at `price` (0 when there is no level).
    #[inline]
    pub fn get(&self, price: i64) -> f64 {
        match self.idx(price) {
            Some(i) => self.qty[i],
            None => self.far.get(&price).copied().unwrap_or(0.0),
        }
    }

    /// The best level: highest bid, lowest ask.
    #[inline]
    pub fn best(&self) -> Option<(i64, f64)> {
        self.best.map(|p| (p, self.get(p)))
    }

    /// The best level's price (no quantity lookup: what the touch needs).
    #[inline]
    pub fn best_price(&self) -> Option<i64> {
        self.best
    }

    /// The lowest and the highest price held.
    pub fn min_max(&self) -> Option<(i64, i64)> {
        Some((self.iter_asc().next()?.0, self.iter_desc().next()?.0))
    }

    /// Drops every level.
    pub fn clear(&mut self) {
        if self.near > 0 {
            self.qty.fill(0.0);
        }
        self.near = 0;
        self.far.clear();
        self.best = None;
    }

    /// Sets the level at `price` to `qty` (a quantity that is not > 0 removes it).
    /// Returns the quantity it had.
    #[inline]
    pub fn set(&mut self, price: i64, qty: f64) -> f64 {
        if self.qty.is_empty() {
            // No level yet: the window starts around the first one.
            if qty > 0.0 {
                self.recentre(price);
            } else {
                return 0.0;
            }
        }
        let prev = match self.idx(price) {
            Some(i) => {
                let prev = self.qty[i];
                if qty > 0.0 {
                    self.qty[i] = qty;
                    self.near += (prev == 0.0) as usize;
                } else if prev != 0.0 {
                    self.qty[i] = 0.0;
                    self.near -= 1;
                }
                prev
            }
            None if qty > 0.0 => self.far.insert(price, qty).unwrap_or(0.0),
            None => self.far.remove(&price).unwrap_or(0.0),
        };
        if qty > 0.0 {
            if self.best.is_none_or(|b| Self::better(price, b)) {
                self.best = Some(price);
                self.follow_best();
            }
        } else if prev != 0.0 && self.best == Some(price) {
            self.best = self.next_worse(price);
            self.follow_best();
        }
        prev
    }

    /// Recentres the window when the best price has left it and the book around
    /// the new best is dense enough to be worth it (prices in coarser steps than
    /// the ticks, as in a scan before the tick size is known, stay in the map).
    #[inline]
    fn follow_best(&mut self) {
        let Some(b) = self.best else { return };
        if self.idx(b).is_some() {
            return;
        }
        let h = WINDOW_TICKS as i64 / 2;
        let around = self.far.range(b.saturating_sub(h)..b.saturating_add(h)).take(RECENTRE_MIN_LEVELS).count();
        if around >= RECENTRE_MIN_LEVELS {
            self.recentre(b);
        }
    }

    /// The best price strictly worse than `price`.
    fn next_worse(&self, price: i64) -> Option<i64> {
        // (An empty map checked first: under wasm `range` is an out-of-line call
        // even on an empty map, and the far levels are usually empty.)
        let far = if self.far.is_empty() {
            None
        } else if BID {
            self.far.range(..price).next_back().map(|(p, _)| *p)
        } else {
            self.far.range((Excluded(price), Unbounded)).next().map(|(p, _)| *p)
        };
        let n = self.qty.len() as i64;
        let at = price.saturating_sub(self.base);
        let near = if self.near == 0 {
            None
        } else if BID {
            let end = at.clamp(0, n) as usize; // window indices below `price`
            self.qty[..end].iter().rposition(|&q| q != 0.0)
        } else {
            let start = at.saturating_add(1).clamp(0, n) as usize;
            self.qty[start..].iter().position(|&q| q != 0.0).map(|k| k + start)
        }
        .map(|i| self.base + i as i64);
        match (near, far) {
            (Some(a), Some(b)) => Some(if Self::better(a, b) { a } else { b }),
            (a, b) => a.or(b),
        }
    }

    /// Moves the window to centre on `price`.
    #[cold]
    fn recentre(&mut self, price: i64) {
        let w = WINDOW_TICKS as i64;
        let base = price.saturating_sub(w / 2).min(i64::MAX - w);
        let old = std::mem::take(&mut self.qty);
        let old_base = self.base;
        self.qty = vec![0.0; WINDOW_TICKS];
        self.base = base;
        for (i, &q) in old.iter().enumerate() {
            if q != 0.0 {
                let p = old_base + i as i64;
                match self.idx(p) {
                    Some(j) => self.qty[j] = q,
                    None => {
                        self.far.insert(p, q);
                    }
                }
            }
        }
        let mut inside = self.far.split_off(&base);
        let mut above = inside.split_off(&(base + w));
        self.far.append(&mut above);
        for (p, q) in inside {
            self.qty[(p - base) as usize] = q;
        }
        self.near = self.qty.iter().filter(|&&q| q != 0.0).count();
    }

    /// Removes every level better than `price`.
    pub fn remove_better_than(&mut self, price: i64) {
        let Some(best) = self.best else { return };
        if !Self::better(best, price) {
            return;
        }
        if BID {
            while self.far.last_key_value().is_some_and(|(&p, _)| p > price) {
                self.far.pop_last();
            }
        } else {
            while self.far.first_key_value().is_some_and(|(&p, _)| p < price) {
                self.far.pop_first();
            }
        }
        if self.near > 0 {
            let n = self.qty.len() as i64;
            let (at, b) = (price.saturating_sub(self.base), best.saturating_sub(self.base));
            // Window indices strictly better than `price`, up to the best.
            let (from, to) = if BID {
                (at.saturating_add(1).clamp(0, n) as usize, b.saturating_add(1).clamp(0, n) as usize)
            } else {
                (b.clamp(0, n) as usize, at.clamp(0, n) as usize)
            };
            if from < to {
                let mut removed = 0;
                for q in &mut self.qty[from..to] {
                    removed += (*q != 0.0) as usize;
                    *q = 0.0;
                }
                self.near -= removed;
            }
        }
        self.best = if self.get(price) != 0.0 { Some(price) } else { self.next_worse(price) };
        self.follow_best();
    }

    /// The window's levels, ascending.
    fn window(&self) -> impl DoubleEndedIterator<Item = (i64, f64)> + '_ {
        let base = self.base;
        self.qty.iter().enumerate().filter(|(_, &q)| q != 0.0).map(move |(i, &q)| (base + i as i64, q))
    }

    /// Levels in ascending price order.
    pub fn iter_asc(&self) -> LevelIter<'_> {
        let end = self.base.saturating_add(self.qty.len() as i64);
        let below = self.far.range(..self.base).map(|(p, q)| (*p, *q));
        let above = self.far.range(end..).map(|(p, q)| (*p, *q));
        Box::new(below.chain(self.window()).chain(above).take(self.len()))
    }

    /// Levels in descending price order.
    pub fn iter_desc(&self) -> LevelIter<'_> {
        let end = self.base.saturating_add(self.qty.len() as i64);
        let below = self.far.range(..self.base).rev().map(|(p, q)| (*p, *q));
        let above = self.far.range(end..).rev().map(|(p, q)| (*p, *q));
        Box::new(above.chain(self.window().rev()).chain(below).take(self.len()))
    }

    /// Levels from the best outwards.
    pub fn iter_best_first(&self) -> LevelIter<'_> {
        if BID {
            self.iter_desc()
        } else {
            self.iter_asc()
        }
    }
}

impl<const BID: bool> PartialEq for Levels<BID> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter_asc().eq(other.iter_asc())
    }
}

impl<const BID: bool> std::fmt::Debug for Levels<BID> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter_asc()).finish()
    }
}

/// As `[[price, quantity], …]` in ascending price order (compact: the replay's
/// state crosses the ABI on every call).
impl<const BID: bool> Serialize for Levels<BID> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Collected first: a sequence's length must be known ahead for the binary
        // state blob (postcard), and the iterator does not report it.
        s.collect_seq(self.iter_asc().collect::<Vec<_>>())
    }
}

impl<'de, const BID: bool> Deserialize<'de> for Levels<BID> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Levels::from_ascending(Vec::deserialize(d)?))
    }
}

impl<const BID: bool> Levels<BID> {
    /// The levels `(price, quantity)`, ascending by price; the window around the best.
    pub fn from_ascending(levels: Vec<(i64, f64)>) -> Self {
        let mut l = Levels::default();
        if !levels.windows(2).all(|w| w[0].0 < w[1].0) {
            for (p, q) in levels {
                l.set(p, q);
            }
            return l;
        }
        let levels: Vec<(i64, f64)> = levels.into_iter().filter(|&(_, q)| q > 0.0).collect();
        let Some(&(best, _)) = (if BID { levels.last() } else { levels.first() }) else { return l };
        let w = WINDOW_TICKS as i64;
        l.base = best.saturating_sub(w / 2).min(i64::MAX - w);
        l.qty = vec![0.0; WINDOW_TICKS];
        let mut far = Vec::new();
        for (p, q) in levels {
            match l.idx(p) {
                Some(i) => {
                    l.qty[i] = q;
                    l.near += 1;
                }
                None => far.push((p, q)),
            }
        }
        l.far = far.into_iter().collect();
        l.best = Some(best);
        l
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ladder against the `BTreeMap` it replaced, through random updates, quotes,
    /// clears, far-away levels (outside the window, sometimes the best) and serde.
    fn ladder_matches_a_map<const BID: bool>(seed: u64) {
        let mut x = seed;
        let mut rnd = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let mut l = Levels::<BID>::default();
        let mut m = BTreeMap::<i64, f64>::new();
        let mut centre = 640_000i64;
        let mut modes = [0u32; 4];
        let mut base = 0;
        for step in 0..20_000 {
            let r = rnd(1000);
            let price = match rnd(100) {
                0..=3 => centre + rnd(3_000_000) as i64 - 1_500_000,
                4 => rnd(1 << 40) as i64,
                _ => centre + rnd(200) as i64 - 100,
            };
            let qty = if rnd(3) == 0 { 0.0 } else { (1 + rnd(50)) as f64 / 8.0 };
            if r < 5 {
                l.clear();
                m.clear();
            } else if r < 60 {
                l.remove_better_than(price);
                m.retain(|&p, _| if BID { p <= price } else { p >= price });
            } else if r < 62 {
                centre += rnd(20_001) as i64 - 10_000;
            } else {
                let prev = m.get(&price).copied().unwrap_or(0.0);
                if qty > 0.0 {
                    m.insert(price, qty);
                } else {
                    m.remove(&price);
                }
                assert_eq!(l.set(price, qty), prev, "step {step}");
            }
            let best = if BID { m.iter().next_back() } else { m.iter().next() };
            assert_eq!(l.best(), best.map(|(p, q)| (*p, *q)), "step {step}");
            assert_eq!(l.len(), m.len());
            assert_eq!(l.get(price), m.get(&price).copied().unwrap_or(0.0));
            modes[0] += (l.near > 5) as u32;
            modes[1] += (l.far.len() > 2) as u32;
            modes[2] += l.best.is_some_and(|b| l.idx(b).is_none()) as u32;
            modes[3] += (l.base != base) as u32 * 100;
            base = l.base;
            if step % 997 == 0 {
                let asc: Vec<(i64, f64)> = m.iter().map(|(p, q)| (*p, *q)).collect();
                assert_eq!(l.iter_asc().collect::<Vec<_>>(), asc);
                let mut best_first = asc.clone();
                if BID {
                    best_first.reverse();
                }
                assert_eq!(l.iter_best_first().collect::<Vec<_>>(), best_first);
                assert_eq!(l.min_max(), asc.first().map(|f| (f.0, asc.last().unwrap().0)));
                let json = serde_json::to_string(&l).unwrap();
                assert_eq!(json, serde_json::to_string(&asc).unwrap());
                let back: Levels<BID> = serde_json::from_str(&json).unwrap();
                assert_eq!(back, l);
                assert_eq!(back.best(), l.best());
            }
        }
        // Both the window and the levels outside it were exercised.
        assert!(modes.iter().all(|&n| n > 100), "{modes:?}");
    }

    #[test]
    fn ladders_from_levels_in_any_order() {
        let l = Bids::from_ascending(vec![(5, 1.0), (3, 2.0), (9, 0.0), (4_000_000, 1.5)]);
        assert_eq!(l.iter_asc().collect::<Vec<_>>(), vec![(3, 2.0), (5, 1.0), (4_000_000, 1.5)]);
        assert_eq!(l.best(), Some((4_000_000, 1.5)));
        let a = Asks::from_ascending(vec![(3, 2.0), (5, 1.0), (9, 0.0), (4_000_000, 1.5)]);
        assert_eq!(a.best(), Some((3, 2.0)));
        assert_eq!(a.len(), 3);
        assert_eq!(a.min_max(), Some((3, 4_000_000)));
    }

    #[test]
    fn ladders_behave_as_sorted_maps() {
        for seed in [1, 7, 42, 0x9e37_79b9] {
            ladder_matches_a_map::<true>(seed);
            ladder_matches_a_map::<false>(seed);
        }
    }
}
