//! mmsoak's side: the capture parsed once through the core's Binance decoder into
//! `Vec<mmsoak_core::feed::Event>`, then replayed against the core's exchange models
//! (`MarketBook`, `QueueModel`, `LatencyModel`, and `TickMaker`'s virtual queues and
//! print-driven fills) with the simple strategy written here, because the core's
//! own strategy (`TickMaker::on_step`) is the Params-driven one.
//!
//! The loop follows `core/src/exchange/replay.rs`: one exchange clock (the largest
//! exchange stamp seen), decisions on a fixed grid at or before the next event, and
//! per event: orders whose trip ended join their queue, a print fills our quotes
//! against the book as it stood, then the book change moves our queue positions.

use std::collections::HashSet;
use std::time::Instant;

use mmsoak_core::exchange::book::{Effect, MarketBook};
use mmsoak_core::exchange::latency::FeedClock;
use mmsoak_core::exchange::maker::{Print, Quote, TickMaker};
use mmsoak_core::exchange::queue::{Executed, QueueModel, QueuePos};
use mmsoak_core::exchange::LatencyModel;
use mmsoak_core::feed::binance::BinanceDecoder;
use mmsoak_core::feed::{Event, EventKind, LineDecoder, Side, TickSize, PRICE_SCALE};
use mmsoak_core::params::Params;

use crate::common::{RunResult, Settings};

pub fn tick_size(s: &Settings) -> TickSize {
    TickSize((s.tick * PRICE_SCALE as f64).round() as i64)
}

/// Decodes the capture's lines (all files, in order: one stream, as `mmsoak run`
/// groups them) into events.
pub fn parse(texts: &[String], s: &Settings) -> Result<Vec<Event>, String> {
    let mut dec = BinanceDecoder::new(tick_size(s));
    let mut out = Vec::with_capacity(1 << 20);
    for (f, text) in texts.iter().enumerate() {
        for (i, line) in text.lines().enumerate() {
            if line.is_empty() {
                continue;
            }
            dec.decode(line, None, &mut out).map_err(|e| format!("{}:{}: {e}", s.files[f], i + 1))?;
        }
    }
    dec.finish(&mut out)?;
    if s.mm_depth_only {
        out.retain(|e| !matches!(e.kind, EventKind::Quote { .. }));
    }
    Ok(out)
}

/// The exchange time of the first snapshot (`Clear`): the book is whole from there.
pub fn snapshot_ns(events: &[Event]) -> Option<i64> {
    events.iter().find(|e| matches!(e.kind, EventKind::Clear)).map(|e| e.exch_ns)
}

struct Driver<'a> {
    s: &'a Settings,
    model: QueueModel,
    book: MarketBook,
    maker: TickMaker,
    delay_ns: i64,
    sent: u64,
    rejected: u64,
    unknown: u64,
    /// Scratch for one event: our live quotes' `(side, price, level before)`.
    watched: Vec<(Side, i64, f64)>,
}

impl Driver<'_> {
    /// Orders whose trip ended join their queue; with post-only on, one that would
    /// cross the book as it stands when it arrives is dropped (hftbacktest's GTX).
    fn arrive(&mut self, now: i64) {
        if self.s.mm_post_only {
            let bid = self.book.best_bid().map(|(p, _)| p);
            let ask = self.book.best_ask().map(|(p, _)| p);
            let mut rejected = 0;
            self.maker.orders.retain(|o| {
                if o.active || o.live_ns > now || o.cancel_ns.is_some_and(|c| c <= now) {
                    return true;
                }
                let crosses = match o.side {
                    Side::Buy => ask.is_some_and(|a| o.price >= a),
                    Side::Sell => bid.is_some_and(|b| o.price <= b),
                };
                rejected += crosses as u64;
                !crosses
            });
            self.rejected += rejected;
        }
        self.maker.settle(now, &self.book, &self.model);
    }

    /// One event, as `core/src/exchange/replay.rs` applies it: a print fills our
    /// quotes against the book as it stood; then the book changes, and our queue
    /// positions follow the change the book reports (`Effect`), or, for a change
    /// that may touch any level (a snapshot, a quote), every level we rest at.
    fn apply(&mut self, now: i64, e: &Event) {
        self.arrive(now);
        if let EventKind::Trade { aggressor: Some(aggressor), price, qty, .. } = e.kind {
            let print = Print { t_ns: now, mid_before: 0.0, aggressor, price, qty, executed: Executed::Anonymous };
            self.maker.on_trade(&print, &self.model);
        }
        let resets =
            matches!(e.kind, EventKind::Clear | EventKind::Quote { .. } | EventKind::SequenceGap { book: true });
        self.watched.clear();
        if resets {
            let book = &self.book;
            self.watched.extend(
                self.maker.orders.iter().filter(|o| o.active).map(|o| (o.side, o.price, book.qty_at(o.side, o.price))),
            );
        }
        let effect = self.book.apply(&e.kind, &mut self.unknown);
        for &(s, p, before) in &self.watched {
            let after = self.book.qty_at(s, p);
            if after != before {
                self.maker.on_depth(s, p, before, after, &self.model);
            }
        }
        if let Effect::Depth { side, price, prev, .. } = effect {
            let after = self.book.qty_at(side, price);
            if after != prev {
                let n = self.maker.orders.iter().filter(|o| o.active && o.side == side && o.price == price).count();
                for _ in 0..n {
                    self.maker.on_depth(side, price, prev, after, &self.model);
                }
            }
        }
        if let Effect::Cancel { side, price, qty, seq } = effect {
            self.maker.on_cancel(side, price, qty, seq, &self.model);
        }
    }

    /// The strategy: one quote a side at best bid − k / best ask + k ticks, fixed size;
    /// a quote not at its target is cancelled and replaced.
    fn step(&mut self, t: i64) {
        self.arrive(t);
        let Some((bid, ask)) = self.book.touch() else { return };
        for side in [Side::Buy, Side::Sell] {
            let target = match side {
                Side::Buy => bid - self.s.k,
                Side::Sell => ask + self.s.k,
            };
            let live = |o: &&mut Quote| o.side == side && o.cancel_ns.is_none();
            if self.maker.orders.iter_mut().filter(live).any(|o| o.price == target) {
                continue;
            }
            for o in self.maker.orders.iter_mut().filter(live) {
                o.cancel_ns = Some(t + self.delay_ns);
            }
            self.maker.orders.push(Quote {
                side,
                price: target,
                size: self.s.size,
                placed_ns: t,
                live_ns: t + self.delay_ns,
                cancel_ns: None,
                active: false,
                queue: QueuePos::default(),
            });
            self.sent += 1;
        }
    }
}

pub fn replay(events: &[Event], s: &Settings, model: QueueModel, start_ns: i64) -> RunResult {
    let latency = LatencyModel::Constant { entry_ms: s.entry_ms, response_ms: s.response_ms };
    let tick = tick_size(s);
    let mut d = Driver {
        s,
        model,
        book: MarketBook::default(),
        maker: TickMaker::new(&Params::default(), 1.0, tick),
        delay_ns: latency.delay_ns(&FeedClock::default()),
        sent: 0,
        rejected: 0,
        unknown: 0,
        watched: Vec::new(),
    };
    let t0 = Instant::now();
    let mut clock = i64::MIN;
    let mut next_step = start_ns;
    for e in events {
        let now = clock.max(e.exch_ns);
        while next_step <= now {
            d.step(next_step);
            next_step += s.requote_ns;
        }
        clock = now;
        d.apply(now, e);
    }
    let replay_s = t0.elapsed().as_secs_f64();

    let m = &d.maker;
    let final_mid = d.book.touch().map_or(0.0, |(b, a)| (tick.price(b) + tick.price(a)) / 2.0);
    let mut r = RunResult {
        engine: "mmsoak".into(),
        queue: model.name(),
        events: events.len() as u64,
        replay_s,
        fills: m.fills.len() as u64,
        orders_sent: d.sent,
        orders_rejected: d.rejected,
        cash: m.cash,
        position: m.inventory,
        final_mid,
        ..RunResult::default()
    };
    let mut orders = HashSet::new();
    for f in &m.fills {
        orders.insert((f.side as i64, f.joined_ns));
        r.maker_volume += f.size;
        if f.side > 0.0 {
            r.buy_volume += f.size;
        } else {
            r.sell_volume += f.size;
        }
        r.fees += f.price * f.size * s.maker_bps / 1e4;
    }
    r.orders_filled = orders.len() as u64;
    r
}
