//! A tick replay: real market events drive the book and the trades; our strategy
//! quotes into it every 25 ms of market time and fills only from real prints.
//!
//! [`TickReplay::advance`] is a pure, resumable step: give it the streams' pending
//! text, it consumes whole lines until the iteration's window ends (an
//! [`EdgeReport`]) or a stream runs dry ([`Advance::Need`]). All of it is state
//! that serializes, so the same bytes come out natively, under wasmtime and in a
//! browser.

use serde::{Deserialize, Serialize};

use super::book::{Effect, MarketBook};
use super::fees::Fees;
use super::latency::{FeedClock, LatencyModel};
use super::maker::{mid_ticks, Print, TickMaker, INVENTORY_LIMIT_LOTS};
use super::queue::{Executed, QueueModel};
use super::source::{Batch, EventBatch, EventSource, TextSource};
use crate::edge::{round6, DataQuality, EdgeReport, InventoryStats, EDGE_REPORT_SCHEMA_VERSION};
use crate::feed::stream::{Chunk, Consumed, FeedError, Merger};
use crate::feed::{Event, EventKind, Format, Side, TickSize};
use crate::market::{Regime, StepMarks, STEP_MS};
use crate::num::max_num;
use crate::params::Params;
use crate::tally::EdgeTally;

const STEP_NS: i64 = STEP_MS as i64 * 1_000_000;
/// Markout horizon for adverse selection (as in the simulator).
const MARKOUT_NS: i64 = 5_000_000_000;

/// Everything fixed for a whole tick replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TickConfig {
    /// One format per stream, in the order the shell hands their chunks.
    pub formats: Vec<Format>,
    pub tick: TickSize,
    /// Order units of one lot: the data's mean touch depth (see [`crate::exchange::scan`]).
    pub lot: f64,
    /// Exchange time where iteration 1 starts, ns.
    pub start_ns: i64,
    pub iteration_seconds: u32,
    pub queue: QueueModel,
    pub latency: LatencyModel,
    pub fees: Fees,
    /// How far a stream's timestamps may step back before it is an error, ns.
    pub backstep_tolerance_ns: i64,
}

/// Where a replay stands between calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TickReplay {
    pub merger: Merger,
    pub book: MarketBook,
    pub feed: FeedClock,
    /// Market clock: the latest exchange time replayed, ns.
    pub clock_ns: i64,
    /// Iteration in progress (0: none yet).
    pub iteration: u32,
    pub window_start_ns: i64,
    pub window_end_ns: i64,
    pub next_step_ns: i64,
    pub maker: Option<TickMaker>,
    pub acc: Accum,
    /// A book chain broke and no snapshot has rebuilt it yet.
    pub awaiting_resync: bool,
    pub last_mid: Option<f64>,
    /// The last finished iteration's fills, for audits and tests in-process (not
    /// carried across ABI calls).
    #[serde(skip)]
    pub finished_fills: Vec<super::maker::Fill>,
    /// Scratch for one event: our live quotes' `(side, price, level before)`
    /// (empty between events).
    #[serde(skip)]
    watched: Vec<(Side, i64, f64)>,
}

/// What an iteration gathers besides the maker's own books.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Accum {
    pub quality: DataQuality,
    pub merger_out_of_order_at_start: u64,
    pub mid_start: Option<f64>,
    pub inventory_path: Vec<f64>,
    pub peak_pnl: f64,
    pub max_drawdown: f64,
    /// Index of the first fill whose markout is still open.
    pub markout_cursor: usize,
    /// Which step ends a minute (inventory sample) and a second (PnL mark).
    pub marks: StepMarks,
}

/// What one call did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Advance {
    /// Stream `k` needs more text (or eof) before the replay can go on.
    Need(usize),
    /// The iteration's window is complete.
    Done(Box<EdgeReport>),
}

impl TickReplay {
    pub fn new(config: &TickConfig) -> Self {
        TickReplay {
            merger: Merger::new(&config.formats, config.tick, config.backstep_tolerance_ns),
            book: MarketBook::default(),
            feed: FeedClock::default(),
            clock_ns: i64::MIN,
            iteration: 0,
            window_start_ns: config.start_ns,
            window_end_ns: config.start_ns,
            next_step_ns: config.start_ns,
            maker: None,
            acc: Accum::default(),
            awaiting_resync: false,
            last_mid: None,
            finished_fills: Vec::new(),
            watched: Vec::new(),
        }
    }

    fn mid(&self, config: &TickConfig) -> Option<f64> {
        mid_ticks(&self.book).map(|m| m * config.tick.0 as f64 / crate::feed::PRICE_SCALE as f64)
    }

    /// Starts `iteration` (1-based) with `params`, fast-forwarding the market through
    /// earlier windows without trading if needed (a resumed run).
    /// `out_of_order`: the merger's count as the window starts.
    fn begin(&mut self, config: &TickConfig, params: &Params, iteration: u32, out_of_order: u64) {
        let len = config.iteration_seconds as i64 * 1_000_000_000;
        self.iteration = iteration;
        self.window_start_ns = config.start_ns + (iteration as i64 - 1) * len;
        self.window_end_ns = self.window_start_ns + len;
        self.next_step_ns = self.window_start_ns;
        self.book.prune_orders();
        self.maker = Some(TickMaker::new(params, config.lot, config.tick));
        self.acc = Accum {
            quality: DataQuality {
                window_start_ns: self.window_start_ns,
                window_end_ns: self.window_end_ns,
                ..DataQuality::default()
            },
            merger_out_of_order_at_start: out_of_order,
            ..Accum::default()
        };
    }

    /// Replays until iteration `iteration`'s window is complete or a stream needs
    /// more text. `consumed` receives how far each chunk was read.
    pub fn advance(
        &mut self,
        config: &TickConfig,
        params: &Params,
        iteration: u32,
        chunks: &[Chunk],
        consumed: &mut [Consumed],
    ) -> Result<Advance, FeedError> {
        // The merger is moved out for the call so that the source can borrow it
        // while the replay borrows the rest of itself.
        let mut merger = std::mem::take(&mut self.merger);
        let out = self.run(config, params, iteration, &mut TextSource { merger: &mut merger, chunks, consumed });
        self.merger = merger;
        out
    }

    /// Replays events decoded and merged beforehand (see [`super::source`]) from
    /// `*used` on, until iteration `iteration`'s window is complete or the batch
    /// runs out (`Advance::Need(0)`). `end`: the data ends after `events`, the
    /// merger's final count of stepped-back timestamps being `end`. The same
    /// events give the same reports, byte for byte, as [`TickReplay::advance`] on
    /// their text. The replay's own merger only carries that count then.
    pub fn advance_events<B: Batch + ?Sized>(
        &mut self,
        config: &TickConfig,
        params: &Params,
        iteration: u32,
        events: &B,
        end: Option<u64>,
        used: &mut usize,
    ) -> Result<Advance, FeedError> {
        let mut out_of_order = self.merger.out_of_order;
        let mut src = EventBatch {
            events,
            end,
            used,
            out_of_order: &mut out_of_order,
            current: (Event { exch_ns: 0, local_ns: 0, kind: EventKind::Clear }, usize::MAX),
        };
        let out = self.run(config, params, iteration, &mut src);
        self.merger.out_of_order = out_of_order;
        out
    }

    fn run<S: EventSource>(
        &mut self,
        config: &TickConfig,
        params: &Params,
        iteration: u32,
        src: &mut S,
    ) -> Result<Advance, FeedError> {
        if iteration == 0 || iteration < self.iteration {
            return Err(FeedError {
                stream: 0,
                line: 0,
                paired: false,
                message: format!("iteration {iteration} asked after iteration {}", self.iteration),
            });
        }
        if iteration != self.iteration {
            // Earlier windows (a resumed run): replay the market only.
            let len = config.iteration_seconds as i64 * 1_000_000_000;
            let start = config.start_ns + (iteration as i64 - 1) * len;
            self.maker = None;
            loop {
                let t = match src.peek()? {
                    Some(Err(k)) => return Ok(Advance::Need(k)),
                    None => break,
                    Some(Ok(t)) => t.max(self.clock_ns),
                };
                if t >= start {
                    break;
                }
                if let Some(e) = src.take()? {
                    self.apply(config, e);
                }
            }
            self.begin(config, params, iteration, src.out_of_order());
        }
        loop {
            let next = match src.peek()? {
                Some(Err(k)) => return Ok(Advance::Need(k)),
                None => None,
                Some(Ok(t)) => Some(t.max(self.clock_ns)),
            };
            let until = next.map_or(self.window_end_ns, |t| t.min(self.window_end_ns));
            while self.next_step_ns <= until && self.next_step_ns < self.window_end_ns {
                let t = self.next_step_ns;
                self.step(config, t);
                self.next_step_ns += STEP_NS;
            }
            match next {
                Some(t) if t < self.window_end_ns => {
                    if let Some(e) = src.take()? {
                        self.apply(config, e);
                    }
                }
                _ => return Ok(Advance::Done(Box::new(self.finish(config, src.out_of_order())))),
            }
        }
    }

    /// Applies one market event: our fills first (a print against the book as it
    /// stood), then the book change and what it does to our queues.
    fn apply(&mut self, config: &TickConfig, e: &Event) {
        // (Out-of-order stamps are counted per stream by the merger: across streams,
        // exchange clocks of different channels legitimately interleave.)
        self.clock_ns = self.clock_ns.max(e.exch_ns);
        let now = self.clock_ns;
        self.feed.observe(e.exch_ns, e.local_ns);
        let mid_before = self.mid(config).or(self.last_mid).unwrap_or(0.0);
        let q = &mut self.acc.quality;
        q.events += 1;
        if let Some(maker) = self.maker.as_mut() {
            maker.settle(now, &self.book, &config.queue);
        }
        if let EventKind::Trade { aggressor, price, qty, maker_order } = e.kind {
            q.trades += 1;
            q.traded_volume += qty;
            let aggressor = aggressor.or_else(|| match self.book.touch() {
                Some((_, a)) if price >= a => Some(Side::Buy),
                Some((b, _)) if price <= b => Some(Side::Sell),
                _ => None,
            });
            if let (Some(maker), Some(side)) = (self.maker.as_mut(), aggressor) {
                if maker.reached(side, price) {
                    q.volume_reaching_quotes += qty;
                }
                let executed = match maker_order {
                    None => Executed::Anonymous,
                    Some(id) => self.book.orders.get(id).map_or(Executed::Unknown, |o| Executed::Known(o.seq)),
                };
                let print = Print { t_ns: now, mid_before, aggressor: side, price, qty, executed };
                q.maker_volume += maker.on_trade(&print, &config.queue);
            }
        }
        // Our quotes' levels as they stand before a change that may touch any level
        // (a level update names its one level in its effect instead).
        let resets =
            matches!(e.kind, EventKind::Clear | EventKind::Quote { .. } | EventKind::SequenceGap { book: true });
        self.watched.clear();
        if let (true, Some(maker)) = (resets, self.maker.as_ref()) {
            let book = &self.book;
            self.watched.extend(
                maker.orders.iter().filter(|o| o.active).map(|o| (o.side, o.price, book.qty_at(o.side, o.price))),
            );
        }
        let effect = self.book.apply(&e.kind, &mut q.unknown_order_ids);
        match e.kind {
            EventKind::SequenceGap { book } => {
                q.sequence_gaps += 1;
                if book {
                    self.awaiting_resync = true;
                }
            }
            EventKind::Clear if self.awaiting_resync => {
                q.resyncs += 1;
                self.awaiting_resync = false;
            }
            EventKind::Halt { halted: true } => {
                q.halts += 1;
                let delay = config.latency.delay_ns(&self.feed);
                if let Some(maker) = self.maker.as_mut() {
                    maker.cancel_all(now, delay);
                }
            }
            _ => {}
        }
        if self.book.crossed_episode() {
            q.crossed_or_locked += 1;
        }
        if let Some(maker) = self.maker.as_mut() {
            // Once per live quote of ours at a level that changed, in quote order.
            for &(s, p, before) in &self.watched {
                let after = self.book.qty_at(s, p);
                if after != before {
                    maker.on_depth(s, p, before, after, &config.queue);
                }
            }
            if let Effect::Depth { side, price, prev, .. } = effect {
                let after = self.book.qty_at(side, price);
                if after != prev {
                    let n = maker.orders.iter().filter(|o| o.active && o.side == side && o.price == price).count();
                    for _ in 0..n {
                        maker.on_depth(side, price, prev, after, &config.queue);
                    }
                }
            }
            if let Effect::Cancel { side, price, qty, seq } = effect {
                maker.on_cancel(side, price, qty, seq, &config.queue);
            }
        }
        self.watched.clear();
        if let Some(m) = self.mid(config) {
            self.last_mid = Some(m);
        }
    }

    /// One strategy decision at grid time `t`, and the iteration's bookkeeping.
    fn step(&mut self, config: &TickConfig, t: i64) {
        let Some(maker) = self.maker.as_mut() else { return };
        let mid = mid_ticks(&self.book).map(|m| m * config.tick.0 as f64 / crate::feed::PRICE_SCALE as f64);
        let mid = mid.or(self.last_mid);
        maker.settle(t, &self.book, &config.queue);
        if let Some(m) = mid {
            self.acc.mid_start.get_or_insert(m);
            // Markouts come due in fill order.
            while let Some(f) = maker.fills.get(self.acc.markout_cursor) {
                if f.t_ns + MARKOUT_NS > t {
                    break;
                }
                maker.fills[self.acc.markout_cursor].markout_mid = Some(m);
                self.acc.markout_cursor += 1;
            }
        }
        let delay = config.latency.delay_ns(&self.feed);
        maker.on_step(t, &self.book, delay, config.fees.taker_bps);
        // Every step of the window runs, in order, from its first.
        let (minute, second) = self.acc.marks.step();
        if let Some(m) = mid {
            if minute {
                self.acc.inventory_path.push(round6(maker.inventory));
            }
            if second {
                let pnl = maker.cash + maker.inventory * m;
                self.acc.peak_pnl = max_num(self.acc.peak_pnl, pnl);
                self.acc.max_drawdown = max_num(self.acc.max_drawdown, self.acc.peak_pnl - pnl);
            }
        }
    }

    /// The iteration's EDGE_REPORT.
    /// `out_of_order`: the merger's count as the window ends.
    fn finish(&mut self, config: &TickConfig, out_of_order: u64) -> EdgeReport {
        let maker = self.maker.take().unwrap_or_else(|| TickMaker::new(&Params::default(), config.lot, config.tick));
        let mid_end = self.last_mid.unwrap_or(0.0);
        let mid_start = self.acc.mid_start.unwrap_or(mid_end);
        let mut quality = self.acc.quality.clone();
        quality.out_of_order += out_of_order - self.acc.merger_out_of_order_at_start;
        quality.traded_volume = round6(quality.traded_volume);
        quality.volume_reaching_quotes = round6(quality.volume_reaching_quotes);
        quality.maker_volume = round6(quality.maker_volume);
        let mut tally = EdgeTally::default();
        for f in &maker.fills {
            if f.maker {
                tally.maker(f.side, f.price, f.size, f.mid_before, f.markout_mid.unwrap_or(mid_end));
            } else {
                tally.taker(f.side, f.price, f.size, f.cross_bps, f.slippage_bps, config.fees.taker_bps);
            }
        }
        let (maker_fills, taker_fills, max_abs_inv) = (tally.maker_fills, tally.taker_fills, tally.max_abs_inventory);
        let e = tally.finish(config.fees.maker_bps, config.fees.taker_bps);
        let blocks = maker.blocks;
        let limit_notional = INVENTORY_LIMIT_LOTS * config.lot * mid_start;
        self.finished_fills = maker.fills.clone();
        EdgeReport {
            schema_version: EDGE_REPORT_SCHEMA_VERSION,
            iteration: self.iteration,
            regime: Regime::Calm,
            duration_s: config.iteration_seconds,
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
            market_trades: quality.trades,
            book_events: quality.events,
            quotes_placed: maker.quotes_placed,
            cancels: maker.cancels,
            inventory: InventoryStats {
                final_units: round6(maker.inventory),
                max_abs_units: round6(max_abs_inv),
                path: std::mem::take(&mut self.acc.inventory_path),
            },
            max_drawdown_bps: if limit_notional > 0.0 {
                round6(self.acc.max_drawdown / limit_notional * 1e4)
            } else {
                0.0
            },
            mid_start: round6(mid_start),
            mid_end: round6(mid_end),
            data_quality: Some(quality),
            bar_window: None,
            source_notes: None,
        }
    }
}
