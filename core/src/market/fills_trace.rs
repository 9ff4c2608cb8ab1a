//! A simulated iteration written as a bot's fills log (`mmsoak bot --fills`): the
//! simulator's own fills, blocked quotes and mids as the JSON lines of
//! [`crate::fills::lines`], so `mmsoak run --source fills` can be tried end to
//! end without a bot of one's own, and its KPIs checked against the simulator's.
//!
//! Times are market time in Unix milliseconds from `t0_ms`, the iteration's
//! start. A fill in step `s` is stamped at the step's end, `t0 + (s+1)·STEP_MS`,
//! carrying the mid before it; the mid sample at its markout horizon is written
//! too, so the fills source's markout ("the sample at the horizon, or the last
//! before it") takes exactly the mid the simulator's own report takes. One mid a
//! second and the iteration's last mid complete the tape. Blocked quotes are
//! written once per reason at the iteration's end with their `count`.

use super::maker::{Blocks, Fill};
use super::sim::{MAKER_REBATE_BPS, STEP_MS, TAKER_FEE_BPS};
use crate::fills::lines::{BlockEvent, BlockReason, Fill as FillLine, FillsLine, Liquidity, MidSample, Side};
use crate::fills::MARKOUT_HORIZON_MS;
use crate::params::Params;

/// What [`super::sim::simulate_iteration_traced`] returns beside the report.
#[derive(Debug, Clone)]
pub struct IterationTrace {
    pub fills: Vec<Fill>,
    /// The mid at the start of every step, and after the last (`steps + 1` values).
    pub mids: Vec<f64>,
    pub blocks: Blocks,
}

/// The trace as fills-log lines in time order. `params` are the parameters the
/// bot traded with (put on every fill, so a runner can tell stale fills).
pub fn fills_lines(trace: &IterationTrace, params: &Params, t0_ms: u64) -> Vec<FillsLine> {
    let at = |k: u64| t0_ms + k * STEP_MS;
    let last = trace.mids.len().saturating_sub(1);
    let mid = |k: u64| trace.mids[(k as usize).min(last)];
    let horizon_steps = MARKOUT_HORIZON_MS / STEP_MS;
    // (time, order within a time, line): mids before fills at the same moment.
    let mut lines: Vec<(u64, u8, FillsLine)> = Vec::new();
    let sample = |k: u64| (at(k), 0u8, FillsLine::Mid(MidSample { time_ms: at(k), mid: mid(k), bid: None, ask: None }));
    let mut sampled: Vec<u64> = (0..=last as u64).step_by((1000 / STEP_MS) as usize).collect();
    sampled.push(last as u64);
    for f in &trace.fills {
        let notional = f.price * f.size;
        let (fee, liquidity, bid, ask) = if f.maker {
            (-MAKER_REBATE_BPS * 1e-4 * notional, Liquidity::Maker, None, None)
        } else {
            // The touch the hedge crossed: half the market spread either side of the mid.
            let half = f.mid_before * f.cross_bps * 1e-4;
            (TAKER_FEE_BPS * 1e-4 * notional, Liquidity::Taker, Some(f.mid_before - half), Some(f.mid_before + half))
        };
        let time_ms = at(f.step + 1);
        lines.push((
            time_ms,
            1,
            FillsLine::Fill(FillLine {
                time_ms,
                side: if f.side > 0.0 { Side::Buy } else { Side::Sell },
                price: f.price,
                quantity: f.size,
                fee,
                liquidity,
                mid: f.mid_before,
                bid,
                ask,
                params: Some(params.clone()),
            }),
        ));
        if f.maker {
            sampled.push(f.step + 1 + horizon_steps);
        }
    }
    sampled.sort_unstable();
    sampled.dedup();
    lines.extend(sampled.into_iter().filter(|&k| k as usize <= last).map(sample));
    let end = at(last as u64);
    for (reason, count) in [
        (BlockReason::Risk, trace.blocks.risk),
        (BlockReason::MinInterval, trace.blocks.min_interval),
        (BlockReason::Concurrency, trace.blocks.concurrency),
    ] {
        if count > 0 {
            lines.push((end, 2, FillsLine::Block(BlockEvent { time_ms: end, reason, count })));
        }
    }
    lines.sort_by_key(|(t, order, _)| (*t, *order));
    lines.into_iter().map(|(_, _, l)| l).collect()
}
