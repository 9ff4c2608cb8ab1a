//! One iteration of simulated trading, start to finish, and its EDGE_REPORT.

use super::book::Book;
use super::fills_trace::IterationTrace;
use super::maker::{Fill, Maker, MakerState, INVENTORY_LIMIT};

use super::price::{MarketTick, PricePath};
use super::{MarketConfig, RegimeSpec};
use crate::edge::{round6, BlockCounts, EdgeReport, InventoryStats, EDGE_REPORT_SCHEMA_VERSION};
use crate::params::Params;
use crate::rng::{derive_seed, Rng};
use crate::tally::EdgeTally;
use serde::{Deserialize, Serialize};

/// Simulator time step. Fine enough that `min_interval_ms` values differ.
pub const STEP_MS: u64 = 25;
/// Markout horizon for adverse selection.
const ADVERSE_HORIZON_STEPS: u64 = 5_000 / STEP_MS;
const TICK_BPS: f64 = 1.0;
/// How far ahead informed traders see, and the least move they trade on.
const INFORMED_HORIZON_STEPS: usize = 1_000 / STEP_MS as usize;
const INFORMED_MIN_MOVE_BPS: f64 = 1.0;
/// Maker rebate and taker fee, bps of notional.
pub(super) const MAKER_REBATE_BPS: f64 = 0.2;
pub(super) const TAKER_FEE_BPS: f64 = 2.0;

/// Simulates iteration `iteration` (1-based) of a soak: a pure function of its inputs.
pub fn simulate_iteration(params: &Params, market: &MarketConfig, seed: u64, iteration: u32) -> EdgeReport {
    simulate(params, market, seed, iteration).0
}

/// [`simulate_iteration`], and the fills, mids and blocked quotes behind its report
/// (for `mmsoak bot --fills`, see [`super::fills_trace`]). The report is the same.
pub fn simulate_iteration_traced(
    params: &Params,
    market: &MarketConfig,
    seed: u64,
    iteration: u32,
) -> (EdgeReport, IterationTrace) {
    simulate(params, market, seed, iteration)
}

/// The report and its trace: the simulation keeps the fills and mids anyway (the
/// markouts need them), so handing them back costs nothing.
fn simulate(params: &Params, market: &MarketConfig, seed: u64, iteration: u32) -> (EdgeReport, IterationTrace) {
    let regime = market.regime.resolve(seed, iteration, market.iterations_per_hour());
    let spec = market.spec_for(regime);
    let mut rng = Rng::new(derive_seed(&[seed, iteration as u64, 0x0051_554F_5445]));
    let total_steps = market.iteration_seconds as u64 * 1000 / STEP_MS;
    // On a copy of the generator (see `Rng::on_copy`): the step loop's stays in registers.
    let mut path = rng.on_copy(|r| PricePath::new(spec, market, total_steps + INFORMED_HORIZON_STEPS as u64, r));
    // Three locals, not one struct: see `MakerState`.
    let mut state = MakerState::new(params, STEP_MS);
    let mut orders = Vec::new();
    let mut fills: Vec<Fill> = Vec::new();
    let mut maker = Maker { state: &mut state, orders: &mut orders, fills: &mut fills };

    let mut flow = TradeFlow::new(&spec);
    let mut mids: Vec<f64> = Vec::with_capacity(total_steps as usize + 1);
    let mid_start = path.mid();
    mids.push(mid_start);
    let mut inventory_path = Vec::new();
    let (mut peak_pnl, mut max_drawdown) = (0.0f64, 0.0f64);

    // The path runs ahead of the clock by the informed traders' horizon: they know
    // the next second's move, the strategy does not.
    // A ring of the ticks still ahead of the clock: slot `next` holds the oldest,
    // which the step takes and refills with the newest (a queue without its checks).
    let mut future_move = 0.0;
    let mut ahead = Ahead::default();
    for slot in 0..INFORMED_HORIZON_STEPS {
        let t = path.advance(&mut rng);
        future_move += t.ret_bps;
        ahead.put(slot, t, path.mid());
    }
    let mut next = 0usize;
    let mut mid_before = mid_start;
    let mut market_trades = 0u64;
    let mut marks = StepMarks::new();
    for step in 0..total_steps {
        let t = path.advance(&mut rng);
        future_move += t.ret_bps;
        let (tick, mid_after) = ahead.take(next);
        ahead.put(next, t, path.mid());
        next = if next + 1 == INFORMED_HORIZON_STEPS { 0 } else { next + 1 };
        future_move -= tick.ret_bps;
        let book = Book {
            mid: mid_before,
            half_spread_bps: spec.market_spread_bps / 2.0 * tick.spread_factor,
            tick_bps: TICK_BPS,
            top_depth: spec.top_depth * tick.depth_factor,
        };
        let trades = flow.arrivals(&spec, tick.activity, &mut rng);
        market_trades += trades as u64;
        for _ in 0..trades {
            // The random draws happen here, in stream order; the transcendental that
            // turns a draw into a Pareto size runs only if an order of ours can meet
            // the trade (`on_trade` asks), which is most of a step's cost otherwise.
            let knows = (future_move + tick.ret_bps).abs() > INFORMED_MIN_MOVE_BPS;
            if knows && rng.bernoulli(spec.informed_share) {
                // Informed flow knows the coming move and takes only the touch.
                let side = if future_move + tick.ret_bps >= 0.0 { 1.0 } else { -1.0 };
                let e = rng.standard_exponential();
                let top = book.top_depth;
                // Exponential with mean 0.4 · top, capped at the touch.
                maker.on_trade(step, &book, side, || (0.4 * top * e).min(top), || f64::INFINITY);
            } else {
                let side = if rng.bernoulli(0.5) { 1.0 } else { -1.0 };
                let e = rng.standard_exponential();
                let top = book.top_depth;
                // The regime's size model (`super::trade_size`) turns the one draw into a size.
                maker.on_trade(
                    step,
                    &book,
                    side,
                    || super::trade_size::noise_trade_size(&spec, top, e),
                    || super::trade_size::noise_trade_size_at_most(&spec, top, e),
                );
            }
        }
        let after = Book { mid: mid_after, ..book };
        // No one trades in a bar without volume: nothing can take a stale quote either.
        if tick.activity > 0.0 {
            maker.pick_offs(step, mid_before, &after);
        }
        maker.on_step(step, &after, &mut rng);
        mids.push(mid_after);
        mid_before = mid_after;
        let (minute, second) = marks.step();
        if minute {
            inventory_path.push(round6(maker.state.inventory));
        }
        if second {
            let pnl = maker.state.cash + maker.state.inventory * mid_after;
            peak_pnl = peak_pnl.max(pnl);
            max_drawdown = max_drawdown.max(peak_pnl - pnl);
        }
    }

    let tape = Tape {
        mids,
        iteration,
        regime,
        duration_s: market.iteration_seconds,
        mid_start,
        mid_end: mid_before,
        inventory_path,
        max_drawdown,
        steps: total_steps,
        market_trades,
    };
    let mut report = build_report(&state, &fills, &tape);
    if !market.bars.is_empty() {
        let clock =
            market.clock.unwrap_or(super::BarClock { start: market.bars[0].timestamp, interval_s: 60, pass: 0 });
        report.bar_window = Some(super::replay::bar_window_facts(&market.bars, clock, market.iteration_seconds));
    }
    (report, IterationTrace { fills, mids: tape.mids, blocks: state.blocks })
}

/// Which steps end a minute (an inventory sample) and a second (a PnL mark), for
/// a clock that runs every step in order from a window's first: countdowns, not
/// `k % n` (an i64 remainder is a division under wasm, which has no 64-bit high
/// multiply to replace it with). Shared with the tick replay's step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepMarks {
    to_minute: u32,
    to_second: u32,
}

impl StepMarks {
    const PER_MINUTE: u32 = (60_000 / STEP_MS) as u32;
    const PER_SECOND: u32 = (1000 / STEP_MS) as u32;

    /// Marks for a window about to run its first step.
    pub fn new() -> Self {
        StepMarks { to_minute: Self::PER_MINUTE, to_second: Self::PER_SECOND }
    }

    /// Counts one step; whether it ends a minute and whether it ends a second.
    #[inline(always)]
    pub fn step(&mut self) -> (bool, bool) {
        self.to_minute -= 1;
        self.to_second -= 1;
        let marks = (self.to_minute == 0, self.to_second == 0);
        if marks.0 {
            self.to_minute = Self::PER_MINUTE;
        }
        if marks.1 {
            self.to_second = Self::PER_SECOND;
        }
        marks
    }
}

impl Default for StepMarks {
    fn default() -> Self {
        Self::new()
    }
}

/// The ring of ticks still ahead of the clock, one array per field: a tick copied
/// in and out whole goes through memory as one 16-byte load of two 8-byte stores,
/// which the CPU cannot forward (a stall of ~10 % of the simulator's time).
struct Ahead {
    ret_bps: [f64; INFORMED_HORIZON_STEPS],
    depth_factor: [f64; INFORMED_HORIZON_STEPS],
    spread_factor: [f64; INFORMED_HORIZON_STEPS],
    activity: [f64; INFORMED_HORIZON_STEPS],
    mid: [f64; INFORMED_HORIZON_STEPS],
}

impl Default for Ahead {
    fn default() -> Self {
        let zero = [0.0; INFORMED_HORIZON_STEPS];
        Ahead { ret_bps: zero, depth_factor: zero, spread_factor: zero, activity: zero, mid: zero }
    }
}

impl Ahead {
    #[inline(always)]
    fn put(&mut self, slot: usize, t: MarketTick, mid: f64) {
        self.ret_bps[slot] = t.ret_bps;
        self.depth_factor[slot] = t.depth_factor;
        self.spread_factor[slot] = t.spread_factor;
        self.activity[slot] = t.activity;
        self.mid[slot] = mid;
    }

    #[inline(always)]
    fn take(&self, slot: usize) -> (MarketTick, f64) {
        let tick = MarketTick {
            ret_bps: self.ret_bps[slot],
            depth_factor: self.depth_factor[slot],
            spread_factor: self.spread_factor[slot],
            activity: self.activity[slot],
        };
        (tick, self.mid[slot])
    }
}

/// Self-exciting (Hawkes) arrivals of other participants' trades, one step at a
/// time: each trade raises the intensity, which decays back with `hawkes_decay_s`.
struct TradeFlow {
    excitation: f64,
    decay: f64,
}

impl TradeFlow {
    fn new(spec: &RegimeSpec) -> Self {
        TradeFlow { excitation: 0.0, decay: libm::exp(-(STEP_MS as f64 / 1000.0) / spec.hawkes_decay_s) }
    }

    /// Trades arriving in one step at the market's `activity` (0: none at all — a
    /// replayed bar without volume, or a stretch without bars).
    fn arrivals(&mut self, spec: &RegimeSpec, activity: f64, rng: &mut Rng) -> u32 {
        let intensity = spec.trade_rate_per_s * activity + self.excitation;
        let trades = if activity > 0.0 { poisson(rng, intensity * (STEP_MS as f64 / 1000.0)) } else { 0 };
        // Most steps see no trade: `+ 0.0` then is what `0 · branching / decay` adds,
        // without the division.
        let kick = if trades == 0 { 0.0 } else { trades as f64 * spec.hawkes_branching / spec.hawkes_decay_s };
        self.excitation = self.excitation * self.decay + kick;
        trades
    }
}

/// [`Rng::poisson`] (Knuth's product of uniforms against `exp(-mean)`) with the same
/// draws and the same count, but `exp` computed only when a product falls between
/// two bounds of it: `1 − x ≤ e^−x ≤ 1 − x + x²/2` for `x ≥ 0` (Taylor, alternating
/// remainder), each widened by 1e-12, far beyond the rounding of either side (the
/// values are ≤ 1, their errors ~1e-16). A product below the lower bound is below
/// `exp(-mean)` as libm computes it, one above the upper bound is above it: the
/// comparisons, hence the draws and the count, are those of `Rng::poisson`. With a
/// step's small means the exact `exp` is needed in a few percent of steps.
fn poisson(rng: &mut Rng, mean: f64) -> u32 {
    if mean <= 0.0 {
        return 0;
    }
    let lower = 1.0 - mean - 1e-12;
    let upper = 1.0 - mean + mean * mean / 2.0 + 1e-12;
    let mut exact: Option<f64> = None;
    let mut above = |p: f64| {
        if p < lower {
            false
        } else if p > upper {
            true
        } else {
            p > *exact.get_or_insert_with(|| libm::exp(-mean))
        }
    };
    let mut k = 0;
    let mut p = rng.uniform_open0();
    while above(p) && k < 1000 {
        k += 1;
        p *= rng.uniform_open0();
    }
    k
}

/// Market trades per window of `window_s` seconds in a continuous run of the
/// synthetic market with `spec` (the simulator's own flow, without our quotes):
/// what a fit compares with the data's trade rate.
pub fn trade_counts(spec: RegimeSpec, seed: u64, windows: u32, window_s: u32) -> Vec<u64> {
    let mut rng = Rng::new(derive_seed(&[seed, 0x0074_7261_6465]));
    let market = MarketConfig { spec: Some(spec), ..MarketConfig::synthetic(super::Regime::Fitted) };
    let steps_per_window = window_s as u64 * 1000 / STEP_MS;
    let mut path = PricePath::new(spec, &market, steps_per_window * windows as u64, &mut rng);
    let mut flow = TradeFlow::new(&spec);
    (0..windows)
        .map(|_| {
            (0..steps_per_window)
                .map(|_| {
                    let tick = path.advance(&mut rng);
                    flow.arrivals(&spec, tick.activity, &mut rng) as u64
                })
                .sum()
        })
        .collect()
}

/// What the iteration's market did, for the report.
struct Tape {
    mids: Vec<f64>,
    iteration: u32,
    regime: super::Regime,
    duration_s: u32,
    mid_start: f64,
    mid_end: f64,
    inventory_path: Vec<f64>,
    max_drawdown: f64,
    steps: u64,
    market_trades: u64,
}

/// Inlined: a call taking the maker's state by reference would put it in linear
/// memory under wasm for the whole iteration (see `MakerState`).
#[inline(always)]
fn build_report(maker: &MakerState, fills: &[Fill], activity: &Tape) -> EdgeReport {
    let Tape { ref mids, iteration, regime, duration_s, mid_start, mid_end, max_drawdown, .. } = *activity;
    let last = mids.len() - 1;
    let mut tally = EdgeTally::default();
    for f in fills {
        if f.maker {
            let later = mids[((f.step + 1 + ADVERSE_HORIZON_STEPS) as usize).min(last)];
            tally.maker(f.side, f.price, f.size, f.mid_before, later);
        } else {
            tally.taker(f.side, f.price, f.size, f.cross_bps, f.slippage_bps, TAKER_FEE_BPS);
        }
    }
    let (maker_fills, taker_fills, max_abs_inv) = (tally.maker_fills, tally.taker_fills, tally.max_abs_inventory);
    let e = tally.finish(-MAKER_REBATE_BPS, TAKER_FEE_BPS);
    let blocks = BlockCounts {
        risk: maker.blocks.risk,
        min_interval: maker.blocks.min_interval,
        concurrency: maker.blocks.concurrency,
    };
    let limit_notional = INVENTORY_LIMIT * mid_start;
    EdgeReport {
        schema_version: EDGE_REPORT_SCHEMA_VERSION,
        iteration,
        regime,
        duration_s,
        maker_fills,
        taker_fills,
        notional: e.notional,
        spread_capture_bps: e.spread_capture_bps,
        rebates_bps: e.rebates_bps,
        fees_bps: e.fees_bps,
        adverse_cost_bps: e.adverse_cost_bps,
        hedge_cost_bps: e.hedge_cost_bps,
        net_bps: e.net_bps,
        adverse: e.adverse,
        slippage: e.slippage,
        risk_ratio: round6(blocks.risk_ratio()),
        blocks,
        market_trades: activity.market_trades,
        book_events: activity.steps + activity.market_trades,
        quotes_placed: maker.quotes_placed,
        cancels: maker.cancels,
        inventory: InventoryStats {
            final_units: round6(maker.inventory),
            max_abs_units: round6(max_abs_inv),
            path: activity.inventory_path.clone(),
        },
        max_drawdown_bps: round6(max_drawdown / limit_notional * 1e4),
        mid_start: round6(mid_start),
        mid_end: round6(mid_end),
        data_quality: None,
        bar_window: None,
        source_notes: None,
    }
}
