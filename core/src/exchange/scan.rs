//! The pass over a data set before a tick replay: every line is decoded and
//! checked (so bad data stops the run before anything is written), and the facts
//! a replay needs are measured — the time span, the tick size, a typical touch
//! depth. Streaming, like the replay: O(book + chunk) memory.

use serde::{Deserialize, Serialize};

use super::book::MarketBook;
use crate::feed::stream::{Chunk, Consumed, FeedError, Merger, Pull};
use crate::feed::{EventKind, Format, TickSize};

/// What a data set holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScanFacts {
    pub events: u64,
    pub trades: u64,
    /// Exchange time of the first and last event, ns.
    pub first_ns: Option<i64>,
    pub last_ns: Option<i64>,
    /// Each stream's first and last exchange time, ns.
    pub stream_spans: Vec<Option<(i64, i64)>>,
    /// The greatest common divisor of every book price (Level, Quote, Add), in
    /// 10⁻⁸ units: the tick size the data trades on.
    pub tick: i64,
    /// Mean touch depth (bid and ask quantity at the best prices), sampled once a
    /// second of market time: the size of one "lot".
    pub lot: f64,
    /// Order ids present (L3 data: the FIFO queue model can run).
    pub has_order_ids: bool,
    /// Some event's local stamp differs from its exchange stamp (latency from data can run).
    pub has_two_stamps: bool,
    pub sequence_gaps: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scanner {
    pub merger: Merger,
    book: MarketBook,
    pub facts: ScanFacts,
    next_sample_ns: Option<i64>,
    depth_sum: f64,
    samples: u64,
}

fn gcd(a: i64, b: i64) -> i64 {
    let (mut a, mut b) = (a.abs(), b.abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl ScanFacts {
    /// The market time every stream covers: from the latest first event to the
    /// earliest last one (a quotes file that stops early ends the usable book).
    pub fn common_span(&self) -> Option<(i64, i64)> {
        let spans: Vec<(i64, i64)> = self.stream_spans.iter().map(|s| s.unwrap_or((i64::MAX, i64::MIN))).collect();
        let start = spans.iter().map(|s| s.0).max()?;
        let end = spans.iter().map(|s| s.1).min()?;
        (start <= end).then_some((start, end))
    }
}

impl Scanner {
    pub fn new(formats: &[Format], backstep_tolerance_ns: i64) -> Self {
        Scanner {
            merger: Merger::new(formats, TickSize::RAW, backstep_tolerance_ns),
            book: MarketBook::default(),
            facts: ScanFacts::default(),
            next_sample_ns: None,
            depth_sum: 0.0,
            samples: 0,
        }
    }

    /// Consumes what it can. `Ok(Some(k))`: stream `k` needs more text; `Ok(None)`: done.
    pub fn advance(&mut self, chunks: &[Chunk], consumed: &mut [Consumed]) -> Result<Option<usize>, FeedError> {
        loop {
            let e = match self.merger.next(chunks, consumed)? {
                Pull::Need(k) => return Ok(Some(k)),
                Pull::End => {
                    self.facts.lot = if self.samples > 0 { self.depth_sum / self.samples as f64 } else { 0.0 };
                    return Ok(None);
                }
                Pull::Event(e) => e,
            };
            let f = &mut self.facts;
            let k = self.merger.last_stream;
            if f.stream_spans.len() <= k {
                f.stream_spans.resize(k + 1, None);
            }
            f.stream_spans[k] = Some(match f.stream_spans[k] {
                None => (e.exch_ns, e.exch_ns),
                Some((a, b)) => (a.min(e.exch_ns), b.max(e.exch_ns)),
            });
            f.events += 1;
            f.first_ns.get_or_insert(e.exch_ns);
            f.last_ns = Some(f.last_ns.map_or(e.exch_ns, |l| l.max(e.exch_ns)));
            if e.local_ns != e.exch_ns {
                f.has_two_stamps = true;
            }
            match e.kind {
                EventKind::Level { price, .. } | EventKind::Add { price, .. } => f.tick = gcd(f.tick, price),
                EventKind::Quote { bid, ask } => {
                    for (p, _) in [bid, ask].into_iter().flatten() {
                        f.tick = gcd(f.tick, p);
                    }
                }
                EventKind::Trade { maker_order, .. } => {
                    f.trades += 1;
                    if maker_order.is_some() {
                        f.has_order_ids = true;
                    }
                }
                EventKind::SequenceGap { .. } => f.sequence_gaps += 1,
                _ => {}
            }
            if matches!(e.kind, EventKind::Add { .. } | EventKind::Cancel { .. }) {
                f.has_order_ids = true;
            }
            let mut unknown = 0;
            self.book.apply(&e.kind, &mut unknown);
            // Sample the touch depth once a second of market time.
            let next = *self.next_sample_ns.get_or_insert(e.exch_ns);
            if e.exch_ns >= next {
                if let (Some((_, bq)), Some((_, aq)), Some(_)) =
                    (self.book.best_bid(), self.book.best_ask(), self.book.touch())
                {
                    self.depth_sum += (bq + aq) / 2.0;
                    self.samples += 1;
                }
                self.next_sample_ns = Some(next + 1_000_000_000 * ((e.exch_ns - next) / 1_000_000_000 + 1));
            }
        }
    }
}
