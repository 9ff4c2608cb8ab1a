//! One iteration's EDGE_REPORT computed from the fills log's lines, with the
//! simulator's edge decomposition (`crate::tally`): every component in bps of
//! maker notional,
//!
//! net = spread capture + rebates − adverse selection − fees − hedging cost.
//!
//! * Spread capture of a maker fill: `side × (mid − price) / mid`, the mid being
//!   the fill line's `mid` (just before the fill).
//! * Adverse selection: the mid's move against the fill from its `mid` to the mid
//!   at the markout horizon (`time_ms + horizon_ms`). That mid is the mid sample
//!   at the horizon, or, when none lies exactly on it, the **last sample before
//!   it** (never a later one: it would look into the future). When no sample lies
//!   between the fill and its horizon, the fill's own `mid` stands (no move seen).
//!   A horizon past the last sample read this iteration is cut short there and
//!   counted (`short_markouts`). The per-fill distribution (`adverse`) is the
//!   markout loss from the fill's price, as in v1.
//! * Fees and rebates: each fill's `fee` with its sign: positive fees add to
//!   `fees_bps`, negative ones (rebates) to `rebates_bps`, for maker and taker
//!   fills alike.
//! * Hedging cost of a taker fill: `side × (price − mid) / mid` (half spread
//!   crossed plus slippage), bps of maker notional.
//! * Slippage of a taker fill (`slippage` distribution): `side × (price − touch) /
//!   touch`, the touch being the fill line's `ask` (a buy) or `bid` (a sell) when
//!   it carries them, else its `mid` ± the half spread of the last mid sample at or
//!   before the fill that carries both `bid` and `ask`, else its `mid`.

use crate::edge::{round6, BlockCounts, EdgeReport, InventoryStats, SourceNotes, EDGE_REPORT_SCHEMA_VERSION};
use crate::market::Regime;
use crate::params::Params;
use crate::tally::quantiles;

use super::lines::{BlockReason, Fill, FillsLine, Liquidity, MidSample};
use super::FillsLogNotes;

/// Markout horizon by default, ms: the simulator's and the tick replay's.
pub const MARKOUT_HORIZON_MS: u64 = 5_000;

/// What the window's computation needs besides its lines.
#[derive(Debug, Clone)]
pub struct WindowInputs<'a> {
    /// The soak iteration (1-based) the window is.
    pub iteration: u32,
    /// Markout horizon, ms.
    pub horizon_ms: u64,
    /// Seconds of trading the window covers.
    pub duration_s: u32,
    /// The bot's inventory before the window, base units (running since the log began).
    pub inventory_start: f64,
    /// The last mid sample before the window: its half spread serves taker fills
    /// that come before the window's first sample with a touch.
    pub prior_mid: Option<MidSample>,
    /// Parameters in force: fills that say they were made with others are stale.
    pub in_force: &'a Params,
}

/// The window's EDGE_REPORT and what the next window carries on.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowOutcome {
    /// Its `source_notes.fills_log` holds the line counts, stale fills and short markouts.
    pub edge: EdgeReport,
    pub inventory_end: f64,
    /// The last mid sample of the window (or the prior one when it had none).
    pub last_mid: Option<MidSample>,
}

/// Sorted by time, file order kept among equal times.
fn samples(lines: &[FillsLine]) -> Vec<MidSample> {
    let mut s: Vec<MidSample> =
        lines.iter().filter_map(|l| if let FillsLine::Mid(m) = l { Some(*m) } else { None }).collect();
    s.sort_by_key(|m| m.time_ms);
    s
}

/// The mid at `fill`'s markout horizon (see the module docs) and whether the
/// horizon lay past the last sample.
fn markout_mid(fill: &Fill, mids: &[MidSample], horizon_ms: u64) -> (f64, bool) {
    let at = fill.time_ms.saturating_add(horizon_ms);
    let short = mids.last().is_none_or(|m| m.time_ms < at);
    let k = mids.partition_point(|m| m.time_ms <= at);
    match k.checked_sub(1).map(|i| mids[i]) {
        Some(m) if m.time_ms >= fill.time_ms => (m.mid, short),
        _ => (fill.mid, short),
    }
}

/// The touch a taker `fill` crossed (see the module docs).
fn touch(fill: &Fill, touches: &[MidSample]) -> f64 {
    match (fill.side.sign() > 0.0, fill.bid, fill.ask) {
        (true, _, Some(ask)) => return ask,
        (false, Some(bid), _) => return bid,
        _ => {}
    }
    let k = touches.partition_point(|m| m.time_ms <= fill.time_ms);
    let half = k.checked_sub(1).and_then(|i| Some((touches[i].ask? - touches[i].bid?) / 2.0)).unwrap_or(0.0);
    fill.mid + fill.side.sign() * half
}

/// Computes the window's EDGE_REPORT from its lines (in file order). Pure: the
/// same lines and inputs give the same report on every platform.
pub fn edge_from_lines(lines: &[FillsLine], w: &WindowInputs) -> WindowOutcome {
    let mids = samples(lines);
    let mut touches: Vec<MidSample> = w.prior_mid.into_iter().chain(mids.iter().copied()).collect();
    touches.retain(|m| m.bid.is_some() && m.ask.is_some());
    let mut notes = FillsLogNotes { lines: lines.len() as u64, mids: mids.len() as u64, ..FillsLogNotes::default() };
    let mut blocks = BlockCounts::default();
    let (mut maker_n, mut taker_n) = (0.0f64, 0.0f64);
    let (mut capture, mut adverse_cost, mut hedge, mut paid, mut rebated) = (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
    let (mut adverse, mut slippage) = (Vec::new(), Vec::new());
    let (mut maker_fills, mut taker_fills) = (0u64, 0u64);
    let mut inventory = w.inventory_start;
    let mut max_abs = 0.0f64;
    let mut fill_mids = Vec::new();
    for line in lines {
        let f = match line {
            FillsLine::Fill(f) => f,
            FillsLine::Block(b) => {
                notes.blocks += 1;
                let slot = match b.reason {
                    BlockReason::Risk => &mut blocks.risk,
                    BlockReason::MinInterval => &mut blocks.min_interval,
                    BlockReason::Concurrency => &mut blocks.concurrency,
                };
                *slot = slot.saturating_add(b.count);
                continue;
            }
            FillsLine::Mid(_) => continue,
        };
        notes.fills += 1;
        // The inventory is the bot's whatever the parameters: stale fills move it too.
        let s = f.side.sign();
        inventory += s * f.quantity;
        max_abs = max_abs.max(inventory.abs());
        if f.params.as_ref().is_some_and(|p| p != w.in_force) {
            notes.stale_fills += 1;
            continue;
        }
        fill_mids.push(f.mid);
        let n = f.price * f.quantity;
        if f.fee >= 0.0 {
            paid += f.fee;
        } else {
            rebated -= f.fee;
        }
        match f.liquidity {
            Liquidity::Maker => {
                maker_fills += 1;
                maker_n += n;
                let (later, short) = markout_mid(f, &mids, w.horizon_ms);
                notes.short_markouts += u64::from(short);
                capture += n * s * (f.mid - f.price) / f.mid * 1e4;
                adverse_cost += n * s * (f.mid - later) / f.mid * 1e4;
                adverse.push(s * (f.price - later) / f.price * 1e4);
            }
            Liquidity::Taker => {
                taker_fills += 1;
                taker_n += n;
                let t = touch(f, &touches);
                slippage.push(s * (f.price - t) / t * 1e4);
                hedge += n * s * (f.price - f.mid) / f.mid * 1e4;
            }
        }
    }
    let per_maker = |x: f64| if maker_n > 0.0 { x / maker_n } else { 0.0 };
    let spread_capture_bps = per_maker(capture);
    let rebates_bps = per_maker(rebated * 1e4);
    let fees_bps = per_maker(paid * 1e4);
    let adverse_cost_bps = per_maker(adverse_cost);
    let hedge_cost_bps = per_maker(hedge);
    let net_bps = spread_capture_bps + rebates_bps - adverse_cost_bps - fees_bps - hedge_cost_bps;
    let first_mid = mids.first().map(|m| m.mid).or(fill_mids.first().copied()).or(w.prior_mid.map(|m| m.mid));
    let last_mid = mids.last().map(|m| m.mid).or(fill_mids.last().copied()).or(first_mid);
    let edge = EdgeReport {
        schema_version: EDGE_REPORT_SCHEMA_VERSION,
        iteration: w.iteration,
        regime: Regime::Calm,
        duration_s: w.duration_s,
        maker_fills,
        taker_fills,
        notional: round6(maker_n + taker_n),
        spread_capture_bps: round6(spread_capture_bps),
        rebates_bps: round6(rebates_bps),
        fees_bps: round6(fees_bps),
        adverse_cost_bps: round6(adverse_cost_bps),
        hedge_cost_bps: round6(hedge_cost_bps),
        net_bps: round6(net_bps),
        adverse: quantiles(adverse),
        slippage: quantiles(slippage),
        risk_ratio: round6(blocks.risk_ratio()),
        blocks,
        market_trades: 0,
        book_events: 0,
        quotes_placed: 0,
        cancels: 0,
        inventory: InventoryStats { final_units: round6(inventory), max_abs_units: round6(max_abs), path: Vec::new() },
        max_drawdown_bps: 0.0,
        mid_start: round6(first_mid.unwrap_or(0.0)),
        mid_end: round6(last_mid.unwrap_or(0.0)),
        data_quality: None,
        bar_window: None,
        source_notes: Some(SourceNotes { unknown_fields: Vec::new(), fills_log: Some(notes) }),
    };
    WindowOutcome { edge, inventory_end: inventory, last_mid: mids.last().copied().or(w.prior_mid) }
}
