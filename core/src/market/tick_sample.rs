//! What a fit needs from tick data, measured in one pass over the normalized
//! events (`crate::feed::Event`): the quoted spread and the mid once a second of
//! market time, trades per 10 s window, trade and touch sizes.

use super::fit::{FitInput, TickSample, RATE_WINDOW_S};
use crate::exchange::book::MarketBook;
use crate::feed::{Event, EventKind};
use crate::stats::percentile;

const SECOND_NS: i64 = 1_000_000_000;

/// Feed it every event in time order ([`Self::push`]), then [`Self::finish`].
#[derive(Debug, Clone, Default)]
pub struct TickSampler {
    book: MarketBook,
    first: Option<i64>,
    next_second: Option<i64>,
    window_end: Option<i64>,
    window_trades: u64,
    spread_bps: Vec<f64>,
    trade_rate: Vec<f64>,
    trade_qty: Vec<f64>,
    touch_qty: Vec<f64>,
    /// The mid at each whole minute of market time (`None`: no usable book then).
    minute_mids: Vec<Option<f64>>,
    unknown_ids: u64,
}

impl TickSampler {
    pub fn push(&mut self, e: &Event) {
        let t = e.exch_ns;
        // Close the trade-rate windows this event lies beyond.
        let w = RATE_WINDOW_S as i64 * SECOND_NS;
        let end = *self.window_end.get_or_insert(t + w);
        if t >= end {
            self.trade_rate.push(self.window_trades as f64 / RATE_WINDOW_S as f64);
            let empty = (t - end) / w;
            self.trade_rate.extend((0..empty).map(|_| 0.0));
            self.window_end = Some(end + (empty + 1) * w);
            self.window_trades = 0;
        }
        // Sample the book (as it stood before this event) at each whole second.
        let next = *self.next_second.get_or_insert(t);
        if t >= next {
            let seconds = (t - next) / SECOND_NS + 1;
            let touch = self.book.touch();
            let sample = touch.map(|(b, a)| {
                let mid = (a + b) as f64 / 2.0;
                ((a - b) as f64 / mid * 1e4, mid)
            });
            if let Some((spread, _)) = sample {
                self.spread_bps.push(spread);
                if let (Some((_, bq)), Some((_, aq))) = (self.book.best_bid(), self.book.best_ask()) {
                    self.touch_qty.push((bq + aq) / 2.0);
                }
            }
            // Every whole minute (from the first event) among the seconds passed gets this mid.
            let first = *self.first.get_or_insert(next);
            for k in 0..seconds {
                if (next + k * SECOND_NS - first) % (60 * SECOND_NS) == 0 {
                    self.minute_mids.push(sample.map(|s| s.1));
                }
            }
            self.next_second = Some(next + seconds * SECOND_NS);
        }
        if let EventKind::Trade { qty, .. } = e.kind {
            self.window_trades += 1;
            self.trade_qty.push(qty);
        }
        self.book.apply(&e.kind, &mut self.unknown_ids);
    }

    /// The fit's input: minute-mid returns (bps; none across a minute without a
    /// book) and the tick sample.
    pub fn finish(self) -> FitInput {
        let returns_bps = self
            .minute_mids
            .windows(2)
            .filter_map(|w| match (w[0], w[1]) {
                (Some(a), Some(b)) if a > 0.0 && b > 0.0 => Some(libm::log(b / a) * 1e4),
                _ => None,
            })
            .collect();
        FitInput {
            returns_bps,
            interval_s: 60,
            ticks: Some(TickSample {
                median_trade_qty: percentile(&self.trade_qty, 50.0),
                median_touch_qty: percentile(&self.touch_qty, 50.0),
                trade_qty: self.trade_qty,
                spread_bps: self.spread_bps,
                trade_rate: self.trade_rate,
            }),
        }
    }
}
