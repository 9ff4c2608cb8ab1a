//! The market-making strategy: quotes around the mid, throttled, size-capped,
//! inventory-limited and skewed, exactly as the tuned [`Params`] say.

use super::book::Book;
use crate::params::Params;
use crate::rng::Rng;

/// Hard inventory limit, order units. `max_delta_ratio` is a fraction of it.
pub const INVENTORY_LIMIT: f64 = 10.0;
/// Order entry latency and cancel latency, in simulator steps.
pub const ENTRY_LATENCY_STEPS: u64 = 2;
pub const CANCEL_LATENCY_STEPS: u64 = 1;
/// Over the soft limit for this long → unwind with a hedge.
const HEDGE_AFTER_STEPS: u64 = 80;
const HEDGE_SPACING_STEPS: u64 = 40;
/// Requote when the resting price is this fraction of the half-spread off target.
const REQUOTE_TOLERANCE: f64 = 0.25;
/// Random cancellations ahead of us, per step (probabilistic queue advance).
const QUEUE_CANCEL_PER_STEP: f64 = 0.002;

#[derive(Debug, Clone, Copy)]
pub struct Order {
    /// +1 bid (buys), −1 ask (sells).
    pub side: f64,
    pub price: f64,
    pub size: f64,
    /// Quantity ahead of us at the level, as of the step `decayed_to`'s decay
    /// (see [`Order::queue_ahead_at`]).
    pub queue_ahead: f64,
    /// The last step whose per-step queue decay `queue_ahead` includes.
    pub decayed_to: u64,
    pub placed_step: u64,
    pub live_step: u64,
    /// Cancel requested: gone at this step (still fillable until then).
    pub cancel_step: Option<u64>,
}

impl Order {
    /// The queue ahead after every step's decay through `step`: the decays not yet
    /// applied, one multiplication a step in step order — the same operations, so
    /// the same bits, as decaying every resting order on every step, which most
    /// orders (cancelled before a trade reaches them) never need.
    #[inline(always)]
    fn queue_ahead_at(&mut self, step: u64) -> f64 {
        while self.decayed_to < step {
            self.queue_ahead *= 1.0 - QUEUE_CANCEL_PER_STEP;
            self.decayed_to += 1;
        }
        self.queue_ahead
    }
}

/// A fill of ours. `side` +1 = we bought.
#[derive(Debug, Clone, Copy)]
pub struct Fill {
    pub step: u64,
    pub side: f64,
    pub price: f64,
    pub size: f64,
    /// Mid just before the trade that filled us.
    pub mid_before: f64,
    pub maker: bool,
    /// Taker only: bps paid beyond the touch.
    pub slippage_bps: f64,
    /// Taker only: half the market spread, crossed.
    pub cross_bps: f64,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Blocks {
    pub risk: u64,
    pub min_interval: u64,
    pub concurrency: u64,
}

/// The strategy's scalar state: plain values, kept apart from the order and fill
/// vectors so that the step loop can hold it in registers. Under wasm a local
/// whose address reaches an out-of-line call lives in linear memory, and a
/// vector's growth is such a call: with the vectors in the same struct, every
/// per-step read of the inventory or the last quote's step was a memory load.
#[derive(Debug, Clone)]
pub struct MakerState {
    params: Params,
    min_interval_steps: u64,
    tail_age_steps: u64,
    pub inventory: f64,
    pub cash: f64,
    pub blocks: Blocks,
    pub quotes_placed: u64,
    pub cancels: u64,
    last_quote_step: Option<u64>,
    over_soft_since: Option<u64>,
    last_hedge_step: Option<u64>,
    /// No resting order's cancel takes effect before this step (`u64::MAX`: none
    /// pending); it may be earlier than the first real one after a fill removed an
    /// order, which costs one pass that removes nothing.
    next_cancel: u64,
}

impl MakerState {
    pub fn new(params: &Params, step_ms: u64) -> Self {
        MakerState {
            params: params.clone(),
            min_interval_steps: (params.min_interval_ms as u64).div_ceil(step_ms),
            tail_age_steps: (params.tail_age_ms as u64).div_ceil(step_ms),
            inventory: 0.0,
            cash: 0.0,
            blocks: Blocks::default(),
            quotes_placed: 0,
            cancels: 0,
            last_quote_step: None,
            over_soft_since: None,
            last_hedge_step: None,
            next_cancel: u64::MAX,
        }
    }
}

/// The market maker: its state, resting orders and fills, each owned by the
/// caller (see [`MakerState`] for why they are three).
pub struct Maker<'a> {
    pub state: &'a mut MakerState,
    pub orders: &'a mut Vec<Order>,
    pub fills: &'a mut Vec<Fill>,
}

impl<'a> Maker<'a> {
    fn soft_limit(&self) -> f64 {
        self.state.params.max_delta_ratio * INVENTORY_LIMIT
    }

    fn record_fill(&mut self, fill: Fill) {
        self.state.inventory += fill.side * fill.size;
        self.state.cash -= fill.side * fill.size * fill.price;
        self.fills.push(fill);
    }

    /// A market trade of `size()` by an aggressor on `aggressor_side` (+1 buy lifts
    /// asks, −1 sell hits bids) walks the book and may reach our resting orders.
    /// `size` is called only if a live order of ours is on the side it hits and
    /// `at_most()`, a cheap upper bound on `size()` (order units, `f64::INFINITY`
    /// when there is none), does not already show that the trade stops short of
    /// it: the caller's transcendental is skipped when nothing can fill. An order
    /// the bound rules out is one the exact size would not reach either (its
    /// `reach` ≤ 0 changes nothing), so the result is the same either way.
    #[inline(always)]
    pub fn on_trade(
        &mut self,
        step: u64,
        book: &Book,
        aggressor_side: f64,
        size: impl FnOnce() -> f64,
        at_most: impl Fn() -> f64,
    ) {
        let mut size = Some(size);
        let mut bound = None;
        let mut left = 0.0;
        let mut any_filled = false;
        for k in 0..self.orders.len() {
            let order = &mut self.orders[k];
            if order.side != -aggressor_side || order.live_step > step {
                continue;
            }
            let distance = book.distance_bps(order.side, order.price);
            let placement = book.placement(distance);
            if size.is_some() {
                if let super::book::Placement::Level(l) = placement {
                    if *bound.get_or_insert_with(&at_most) <= book.depth_before(l) {
                        continue;
                    }
                }
            }
            if let Some(f) = size.take() {
                left = f();
            }
            if left <= 0.0 {
                continue;
            }
            let mut reach = match placement {
                super::book::Placement::Improving => left,
                super::book::Placement::Level(l) => left - book.depth_before(l),
            };
            if reach <= 0.0 {
                continue;
            }
            // A trade in step `step` meets the queue as the steps before it left it.
            let through_queue = min(reach, order.queue_ahead_at(step.saturating_sub(1)));
            order.queue_ahead -= through_queue;
            reach -= through_queue;
            let qty = min(reach, order.size);
            if qty > 0.0 {
                order.size -= qty;
                left -= qty;
                let fill = Fill {
                    step,
                    side: order.side,
                    price: order.price,
                    size: qty,
                    mid_before: book.mid,
                    maker: true,
                    slippage_bps: 0.0,
                    cross_bps: 0.0,
                };
                // Recording touches only inventory, cash and the fill list, which this
                // loop does not read: the same as recording after it.
                self.record_fill(fill);
                any_filled = true;
            }
        }
        // Only a fill shrinks an order.
        if any_filled {
            self.orders.retain(|o| o.size > 1e-12);
        }
    }

    /// The mid moved through a resting quote: arbitrageurs take it at our price.
    #[inline(always)]
    pub fn pick_offs(&mut self, step: u64, mid_before: f64, book: &Book) {
        let mut filled = Vec::new();
        // The touches are the same for every order: computed once, as the same operations.
        let (best_ask, best_bid) = (book.touch(1.0), book.touch(-1.0));
        for order in self.orders.iter_mut() {
            if order.live_step > step {
                continue;
            }
            // A bid at or above the best ask (or an ask at or below the best bid) is crossed.
            let crossed = if order.side > 0.0 { order.price >= best_ask } else { order.price <= best_bid };
            if crossed {
                filled.push(Fill {
                    step,
                    side: order.side,
                    price: order.price,
                    size: order.size,
                    mid_before,
                    maker: true,
                    slippage_bps: 0.0,
                    cross_bps: 0.0,
                });
                order.size = 0.0;
            }
        }
        if filled.is_empty() {
            return;
        }
        for f in filled {
            self.record_fill(f);
        }
        self.orders.retain(|o| o.size > 1e-12);
    }

    /// Per-step housekeeping, then requotes and hedges at the current book.
    #[inline(always)]
    pub fn on_step(&mut self, step: u64, book: &Book, rng: &mut Rng) {
        // The queues ahead decay lazily (`Order::queue_ahead_at`), and most steps
        // cancel nothing: the orders are looked at only when a cancel is due.
        if step >= self.state.next_cancel {
            self.orders.retain(|o| o.cancel_step.is_none_or(|c| c > step));
            self.state.next_cancel = self.orders.iter().filter_map(|o| o.cancel_step).min().unwrap_or(u64::MAX);
        }
        self.maybe_hedge(step, book, rng);
        self.requote(step, book);
    }

    /// Both sides' target prices, bid then ask: the inventory's fraction of the soft
    /// limit is the same for both, so it is divided out once.
    fn target_prices(&self, book: &Book) -> [f64; 2] {
        let half = self.state.params.base_spread_bps / 2.0;
        let inv_frac = (self.state.inventory / max(self.soft_limit(), 1e-9)).clamp(-1.0, 1.0);
        // Long inventory: bid further away, ask closer, so the inventory flows back.
        let shift = self.state.params.inventory_skew * inv_frac * half;
        [1.0, -1.0].map(|side| {
            let offset = max(half + side * shift, 0.1);
            book.mid * (1.0 - side * offset / 1e4)
        })
    }

    #[inline(always)]
    fn requote(&mut self, step: u64, book: &Book) {
        let half = self.state.params.base_spread_bps / 2.0;
        let mut wanted = [false; 2];
        // Nothing below changes the inventory: the targets hold for the whole requote.
        let targets = self.target_prices(book);
        for (k, side) in [1.0, -1.0].into_iter().enumerate() {
            let target = targets[k];
            let resting = self.orders.iter().find(|o| o.side == side && o.cancel_step.is_none());
            wanted[k] = match resting {
                None => true,
                Some(o) => {
                    let off_bps = (o.price - target).abs() / book.mid * 1e4;
                    off_bps > REQUOTE_TOLERANCE * half || step - o.placed_step >= self.state.tail_age_steps
                }
            };
        }
        if !wanted[0] && !wanted[1] {
            return;
        }
        if let Some(last) = self.state.last_quote_step {
            if step - last < self.state.min_interval_steps {
                self.state.blocks.min_interval += 1;
                return;
            }
        }
        let mut sent = false;
        for (k, side) in [1.0, -1.0].into_iter().enumerate() {
            if !wanted[k] {
                continue;
            }
            let grows_inventory = side * self.state.inventory >= 0.0;
            if grows_inventory && self.state.inventory.abs() + 1e-12 >= self.soft_limit() {
                self.state.blocks.risk += 1;
                self.cancel_side(side, step);
                continue;
            }
            // The order being replaced is leaving; orders already pending cancel still count.
            let replaced = self.orders.iter().filter(|o| o.side == side && o.cancel_step.is_none()).count();
            let live = (self.orders.len() - replaced) as u32;
            if live >= self.state.params.concurrency_limit {
                self.state.blocks.concurrency += 1;
                continue;
            }
            self.cancel_side(side, step);
            let price = targets[k];
            let size = max(self.state.params.impact_cap_ratio * book.top_depth, 0.01);
            let distance = book.distance_bps(side, price);
            self.orders.push(Order {
                side,
                price,
                size,
                queue_ahead: book.queue_on_entry(distance),
                decayed_to: step,
                placed_step: step,
                live_step: step + ENTRY_LATENCY_STEPS,
                cancel_step: None,
            });
            self.state.quotes_placed += 1;
            sent = true;
        }
        if sent {
            self.state.last_quote_step = Some(step);
        }
    }

    fn cancel_side(&mut self, side: f64, step: u64) {
        for o in self.orders.iter_mut() {
            if o.side == side && o.cancel_step.is_none() {
                o.cancel_step = Some(step + CANCEL_LATENCY_STEPS);
                self.state.next_cancel = self.state.next_cancel.min(step + CANCEL_LATENCY_STEPS);
                self.state.cancels += 1;
            }
        }
    }

    /// Unwinds inventory that stayed over the soft limit (or hit the hard one) with a
    /// taker order whose clip is capped by `impact_cap_ratio`.
    #[inline(always)]
    fn maybe_hedge(&mut self, step: u64, book: &Book, rng: &mut Rng) {
        if self.state.inventory.abs() <= self.soft_limit() {
            self.state.over_soft_since = None;
            return;
        }
        // Out of line, on copies of the generator and the state (see `Rng::on_copy`
        // and [`MakerState`]): only the copies' addresses escape.
        let mut state = self.state.clone();
        rng.on_copy(|r| {
            Maker { state: &mut state, orders: self.orders, fills: self.fills }.hedge_if_due(step, book, r)
        });
        *self.state = state;
    }

    /// [`Maker::maybe_hedge`] over the soft limit.
    #[inline(never)]
    fn hedge_if_due(&mut self, step: u64, book: &Book, rng: &mut Rng) {
        let soft = self.soft_limit();
        let since = *self.state.over_soft_since.get_or_insert(step);
        let hard = self.state.inventory.abs() >= INVENTORY_LIMIT;
        let spaced = self.state.last_hedge_step.is_none_or(|h| step - h >= HEDGE_SPACING_STEPS);
        if !(hard || step - since >= HEDGE_AFTER_STEPS) || !spaced {
            return;
        }
        let side = -self.state.inventory.signum();
        let clip_cap = 2.0 * self.state.params.impact_cap_ratio * book.top_depth;
        let size = (self.state.inventory.abs() - 0.5 * soft).min(clip_cap).max(0.0);
        if size <= 0.0 {
            return;
        }
        // What is really there when the order lands: displayed depth partly fades.
        let available_top = book.top_depth * (0.3 + 0.7 * rng.uniform());
        let slippage_bps = book.walk_slippage_bps(size, available_top);
        let cross_bps = book.half_spread_bps;
        let price = book.mid * (1.0 + side * (cross_bps + slippage_bps) / 1e4);
        self.record_fill(Fill { step, side, price, size, mid_before: book.mid, maker: false, slippage_bps, cross_bps });
        self.state.last_hedge_step = Some(step);
    }
}

/// `a.max(b)` for operands that are never NaN (`b` is a positive constant or a size):
/// a comparison, which wasm runs inline, where `f64::max` becomes a call to `fmax`
/// for its NaN rule. The values are never equal zeros of opposite sign, so the
/// result is `f64::max`'s bit for bit.
#[inline(always)]
fn max(a: f64, b: f64) -> f64 {
    if a > b {
        a
    } else {
        b
    }
}

/// `a.min(b)`, as [`max`].
#[inline(always)]
fn min(a: f64, b: f64) -> f64 {
    if a < b {
        a
    } else {
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Catching a queue up over many steps at once gives the bits of decaying it
    /// on every step (what the simulator did before the decay was lazy), and asking
    /// again for a step already covered changes nothing.
    #[test]
    fn lazy_queue_decay_matches_decaying_every_step() {
        let mut order = Order {
            side: 1.0,
            price: 100.0,
            size: 1.0,
            queue_ahead: 7.3,
            decayed_to: 10,
            placed_step: 10,
            live_step: 12,
            cancel_step: None,
        };
        let mut eager = order.queue_ahead;
        for step in 11..=500 {
            eager *= 1.0 - QUEUE_CANCEL_PER_STEP;
            if step % 97 == 0 {
                assert_eq!(order.queue_ahead_at(step).to_bits(), eager.to_bits(), "step {step}");
                // A trade takes part of the queue; the decay goes on from there.
                order.queue_ahead -= 0.5;
                eager -= 0.5;
            }
        }
        assert_eq!(order.queue_ahead_at(500).to_bits(), eager.to_bits());
        assert_eq!(order.queue_ahead_at(400).to_bits(), eager.to_bits());
        assert_eq!(order.decayed_to, 500);
    }
}
