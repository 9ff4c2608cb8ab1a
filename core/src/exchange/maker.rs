//! Our market-making strategy against a replayed market: the same [`Params`] as the
//! simulator's (spread, refresh throttle, size cap, inventory limit, skew, tail
//! cancels, hedges), with prices in the data's ticks. Our orders sit in virtual
//! queues ([`super::queue`]); they never enter the replayed book, so the market
//! does not react to them (no market impact of our own).

use serde::{Deserialize, Serialize};

use super::book::MarketBook;
use super::queue::{Executed, QueueModel, QueuePos};
use crate::edge::BlockCounts;
use crate::feed::{Side, TickSize};
use crate::num::{max_num, min_num};
use crate::params::Params;

/// The inventory limit in lots (one lot = the data's typical touch depth): the
/// simulator's 10 units over its calm top depth of 2.
pub const INVENTORY_LIMIT_LOTS: f64 = 5.0;
const HEDGE_AFTER_NS: i64 = 2_000_000_000;
const HEDGE_SPACING_NS: i64 = 1_000_000_000;
/// Requote when the resting price is this fraction of the half-spread off target.
const REQUOTE_TOLERANCE: f64 = 0.25;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    pub side: Side,
    pub price: i64,
    pub size: f64,
    pub placed_ns: i64,
    /// Reaches the exchange (joins the queue) at this time.
    pub live_ns: i64,
    /// Cancel reaches the exchange at this time (fillable until then).
    pub cancel_ns: Option<i64>,
    /// Joined the queue (`live_ns` passed).
    pub active: bool,
    pub queue: QueuePos,
}

/// A fill of ours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fill {
    pub t_ns: i64,
    /// +1 we bought, −1 we sold.
    pub side: f64,
    /// Quote currency.
    pub price: f64,
    pub size: f64,
    pub mid_before: f64,
    pub maker: bool,
    /// Taker only: bps beyond the touch, and half the spread crossed.
    pub slippage_bps: f64,
    pub cross_bps: f64,
    /// Maker only: the displayed volume ahead when the quote joined its queue, and when it joined.
    pub front_at_entry: f64,
    pub joined_ns: i64,
    /// Price in ticks.
    pub price_ticks: i64,
    /// Mid at fill time + markout horizon, once known.
    pub markout_mid: Option<f64>,
}

/// A market trade as our orders see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Print {
    pub t_ns: i64,
    /// The mid just before the trade, quote currency.
    pub mid_before: f64,
    pub aggressor: Side,
    /// Ticks.
    pub price: i64,
    pub qty: f64,
    pub executed: Executed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TickMaker {
    pub params: Params,
    /// Order units of one lot (the data's typical touch depth).
    pub lot: f64,
    pub tick: TickSize,
    pub orders: Vec<Quote>,
    pub inventory: f64,
    pub cash: f64,
    pub fills: Vec<Fill>,
    pub blocks: BlockCounts,
    pub quotes_placed: u64,
    pub cancels: u64,
    last_quote_ns: Option<i64>,
    over_soft_since_ns: Option<i64>,
    last_hedge_ns: Option<i64>,
}

/// A short list of `(side, price)`, held inline up to [`Watched::INLINE`] entries
/// (asked for on every replayed event: no allocation for the usual few quotes).
/// Derefs to a slice.
#[derive(Debug, Clone)]
pub struct Watched {
    inline: [(Side, i64); Watched::INLINE],
    len: usize,
    spill: Vec<(Side, i64)>,
}

impl Watched {
    pub const INLINE: usize = 8;

    pub fn push(&mut self, x: (Side, i64)) {
        if self.len < Self::INLINE {
            self.inline[self.len] = x;
        } else {
            if self.spill.is_empty() {
                self.spill.extend_from_slice(&self.inline);
            }
            self.spill.push(x);
        }
        self.len += 1;
    }
}

impl Default for Watched {
    fn default() -> Self {
        Watched { inline: [(Side::Buy, 0); Watched::INLINE], len: 0, spill: Vec::new() }
    }
}

impl std::ops::Deref for Watched {
    type Target = [(Side, i64)];

    fn deref(&self) -> &[(Side, i64)] {
        if self.len > Self::INLINE {
            &self.spill
        } else {
            &self.inline[..self.len]
        }
    }
}

impl PartialEq for Watched {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

/// Mid of the touch, in ticks (may be a half tick).
pub fn mid_ticks(book: &MarketBook) -> Option<f64> {
    book.touch().map(|(b, a)| (b + a) as f64 / 2.0)
}

impl TickMaker {
    pub fn new(params: &Params, lot: f64, tick: TickSize) -> Self {
        TickMaker {
            params: params.clone(),
            lot,
            tick,
            orders: Vec::new(),
            inventory: 0.0,
            cash: 0.0,
            fills: Vec::new(),
            blocks: BlockCounts::default(),
            quotes_placed: 0,
            cancels: 0,
            last_quote_ns: None,
            over_soft_since_ns: None,
            last_hedge_ns: None,
        }
    }

    fn soft_limit(&self) -> f64 {
        self.params.max_delta_ratio * INVENTORY_LIMIT_LOTS * self.lot
    }

    fn record(&mut self, fill: Fill) {
        self.inventory += fill.side * fill.size;
        self.cash -= fill.side * fill.size * fill.price;
        self.fills.push(fill);
    }

    /// Orders whose trip has ended join their queue (behind what the book shows at
    /// their price now); cancels that reached the exchange take the order away.
    pub fn settle(&mut self, now: i64, book: &MarketBook, model: &QueueModel) {
        self.orders.retain(|o| o.cancel_ns.is_none_or(|c| c > now));
        for o in self.orders.iter_mut().filter(|o| !o.active && o.live_ns <= now) {
            o.active = true;
            o.queue = model.enter(book.qty_at(o.side, o.price), book.next_seq);
        }
    }

    /// Whether any live quote of ours on the side a taker of `aggressor` hits is at a
    /// price `price` reaches.
    pub fn reached(&self, aggressor: Side, price: i64) -> bool {
        self.orders.iter().any(|o| o.active && o.side == aggressor.opposite() && reaches(o, price))
    }

    /// A market trade of `qty` at `price` by `aggressor`: quotes priced better than the
    /// print fill first (price priority), a quote at the print's price fills only
    /// with what passes its queue. Fills never exceed the print. Returns the volume filled.
    pub fn on_trade(&mut self, print: &Print, model: &QueueModel) -> f64 {
        let Print { t_ns, mid_before, aggressor, price, qty, executed } = *print;
        let passive = aggressor.opposite();
        let mut idx: Vec<usize> =
            (0..self.orders.len()).filter(|&i| self.orders[i].active && self.orders[i].side == passive).collect();
        // Best price first: lowest ask, highest bid.
        idx.sort_by_key(|&i| match passive {
            Side::Sell => self.orders[i].price,
            Side::Buy => -self.orders[i].price,
        });
        let mut left = qty;
        let mut filled_total = 0.0;
        let mut fills = Vec::new();
        for i in idx {
            let o = &mut self.orders[i];
            if !reaches(o, price) || left <= 1e-12 {
                continue;
            }
            let reach = if o.price == price { model.trade(&mut o.queue, left, executed) } else { left };
            let fill = min_num(min_num(reach, o.size), left);
            if fill <= 1e-12 {
                continue;
            }
            o.size -= fill;
            left -= fill;
            filled_total += fill;
            fills.push(Fill {
                t_ns,
                side: passive.sign(),
                price: self.tick.price(o.price),
                size: fill,
                mid_before,
                maker: true,
                slippage_bps: 0.0,
                cross_bps: 0.0,
                front_at_entry: o.queue.front_at_entry,
                joined_ns: o.live_ns,
                price_ticks: o.price,
                markout_mid: None,
            });
        }
        for f in fills {
            self.record(f);
        }
        self.orders.retain(|o| o.size > 1e-12);
        filled_total
    }

    /// The level at `(side, price)` changed from `prev` to `new`.
    pub fn on_depth(&mut self, side: Side, price: i64, prev: f64, new: f64, model: &QueueModel) {
        for o in self.orders.iter_mut().filter(|o| o.active && o.side == side && o.price == price) {
            model.depth(&mut o.queue, prev, new);
        }
    }

    /// An L3 cancel at `(side, price)` of an order with arrival number `seq`.
    pub fn on_cancel(&mut self, side: Side, price: i64, qty: f64, seq: Option<u64>, model: &QueueModel) {
        for o in self.orders.iter_mut().filter(|o| o.active && o.side == side && o.price == price) {
            model.cancel(&mut o.queue, qty, seq);
        }
    }

    /// The prices our live quotes rest at (to watch their levels), in quote order.
    pub fn watched(&self) -> Watched {
        let mut w = Watched::default();
        for o in self.orders.iter().filter(|o| o.active) {
            w.push((o.side, o.price));
        }
        w
    }

    /// Cancels everything (a halt): effective after `delay_ns`.
    pub fn cancel_all(&mut self, now: i64, delay_ns: i64) {
        for o in self.orders.iter_mut().filter(|o| o.cancel_ns.is_none()) {
            o.cancel_ns = Some(now + delay_ns);
            self.cancels += 1;
        }
    }

    /// One decision at grid time `now`: hedge if needed, then requote.
    pub fn on_step(&mut self, now: i64, book: &MarketBook, delay_ns: i64, taker_bps: f64) {
        let _ = taker_bps;
        let Some((bid, ask)) = book.touch() else { return };
        self.maybe_hedge(now, book, bid, ask);
        self.requote(now, bid, ask, delay_ns);
    }

    fn target(&self, side: Side, mid: f64) -> f64 {
        let half = self.params.base_spread_bps / 2.0;
        let inv_frac = (self.inventory / max_num(self.soft_limit(), 1e-12)).clamp(-1.0, 1.0);
        // Long inventory: bid further away, ask closer, so the inventory flows back.
        let shift = self.params.inventory_skew * inv_frac * half;
        let offset_bps = max_num(half + side.sign() * shift, 0.1);
        mid * (1.0 - side.sign() * offset_bps / 1e4)
    }

    fn target_ticks(&self, side: Side, bid: i64, ask: i64) -> i64 {
        let mid = (bid + ask) as f64 / 2.0;
        let t = self.target(side, mid);
        // Never cross the market: a maker quote stays passive (post-only).
        // `f64::floor`/`ceil`, not libm's: both are exact (no rounding to differ
        // on), and under wasm32 std's are one instruction where libm's run in
        // software, on every step of the replay.
        match side {
            Side::Buy => (t.floor() as i64).min(ask - 1),
            Side::Sell => (t.ceil() as i64).max(bid + 1),
        }
    }

    fn requote(&mut self, now: i64, bid: i64, ask: i64, delay_ns: i64) {
        let mid = (bid + ask) as f64 / 2.0;
        let half_ticks = mid * self.params.base_spread_bps / 2.0 / 1e4;
        let tail_ns = self.params.tail_age_ms as i64 * 1_000_000;
        let mut wanted = [false; 2];
        for (k, side) in [Side::Buy, Side::Sell].into_iter().enumerate() {
            let target = self.target_ticks(side, bid, ask);
            let resting = self.orders.iter().find(|o| o.side == side && o.cancel_ns.is_none());
            wanted[k] = match resting {
                None => true,
                Some(o) => {
                    let off = (o.price - target).abs() as f64;
                    (off > 0.0 && off > REQUOTE_TOLERANCE * half_ticks) || now - o.placed_ns >= tail_ns
                }
            };
        }
        if !wanted[0] && !wanted[1] {
            return;
        }
        if let Some(last) = self.last_quote_ns {
            if now - last < self.params.min_interval_ms as i64 * 1_000_000 {
                self.blocks.min_interval += 1;
                return;
            }
        }
        let mut sent = false;
        for (k, side) in [Side::Buy, Side::Sell].into_iter().enumerate() {
            if !wanted[k] {
                continue;
            }
            let grows = side.sign() * self.inventory >= 0.0;
            if grows && self.inventory.abs() + 1e-12 >= self.soft_limit() {
                self.blocks.risk += 1;
                self.cancel_side(side, now, delay_ns);
                continue;
            }
            let replaced = self.orders.iter().filter(|o| o.side == side && o.cancel_ns.is_none()).count();
            let live = (self.orders.len() - replaced) as u32;
            if live >= self.params.concurrency_limit {
                self.blocks.concurrency += 1;
                continue;
            }
            self.cancel_side(side, now, delay_ns);
            let price = self.target_ticks(side, bid, ask);
            let size = max_num(self.params.impact_cap_ratio * self.lot, 1e-9);
            self.orders.push(Quote {
                side,
                price,
                size,
                placed_ns: now,
                live_ns: now + delay_ns,
                cancel_ns: None,
                active: false,
                queue: QueuePos::default(),
            });
            self.quotes_placed += 1;
            sent = true;
        }
        if sent {
            self.last_quote_ns = Some(now);
        }
    }

    fn cancel_side(&mut self, side: Side, now: i64, delay_ns: i64) {
        for o in self.orders.iter_mut().filter(|o| o.side == side && o.cancel_ns.is_none()) {
            o.cancel_ns = Some(now + delay_ns);
            self.cancels += 1;
        }
    }

    /// Unwinds inventory that stayed over the soft limit (or hit the hard one) with a
    /// taker order that walks the real book at its real depth.
    fn maybe_hedge(&mut self, now: i64, book: &MarketBook, bid: i64, ask: i64) {
        let soft = self.soft_limit();
        if self.inventory.abs() <= soft {
            self.over_soft_since_ns = None;
            return;
        }
        let since = *self.over_soft_since_ns.get_or_insert(now);
        let hard = self.inventory.abs() >= INVENTORY_LIMIT_LOTS * self.lot;
        let spaced = self.last_hedge_ns.is_none_or(|h| now - h >= HEDGE_SPACING_NS);
        if !(hard || now - since >= HEDGE_AFTER_NS) || !spaced {
            return;
        }
        let side = if self.inventory > 0.0 { Side::Sell } else { Side::Buy };
        let clip_cap = 2.0 * self.params.impact_cap_ratio * self.lot;
        let size = max_num(min_num(self.inventory.abs() - 0.5 * soft, clip_cap), 0.0);
        if size <= 0.0 {
            return;
        }
        let Some((avg_ticks, beyond_ticks)) = book.walk(side, size) else { return };
        let mid = (bid + ask) as f64 / 2.0;
        let slippage_bps = beyond_ticks / mid * 1e4;
        let cross_bps = (ask - bid) as f64 / 2.0 / mid * 1e4;
        let price = avg_ticks * self.tick.0 as f64 / crate::feed::PRICE_SCALE as f64;
        self.record(Fill {
            t_ns: now,
            side: side.sign(),
            price,
            size,
            mid_before: self.tick.price(0) + mid * self.tick.0 as f64 / crate::feed::PRICE_SCALE as f64,
            maker: false,
            slippage_bps,
            cross_bps,
            front_at_entry: 0.0,
            joined_ns: now,
            price_ticks: libm::round(avg_ticks) as i64,
            markout_mid: None,
        });
        self.last_hedge_ns = Some(now);
    }
}

fn reaches(o: &Quote, price: i64) -> bool {
    match o.side {
        Side::Sell => o.price <= price,
        Side::Buy => o.price >= price,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watched_keeps_order_past_its_inline_room() {
        let mut w = Watched::default();
        let all: Vec<(Side, i64)> =
            (0..20).map(|k| (if k % 3 == 0 { Side::Sell } else { Side::Buy }, 100 + k)).collect();
        for (n, &x) in all.iter().enumerate() {
            assert_eq!(&*w, &all[..n]);
            w.push(x);
        }
        assert_eq!(&*w, &all[..]);
        assert_eq!(w.iter().count(), 20);
    }
}
