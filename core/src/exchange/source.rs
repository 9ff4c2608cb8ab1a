//! Where a tick replay's market events come from: the streams' text, decoded as
//! the replay goes ([`TextSource`], the browser's and the JSON calls' way), or
//! events the shell decoded beforehand ([`EventBatch`], the CLI's way: it runs
//! the same decoders and merger natively, once, and the engine replays only).
//!
//! Both give the replay the same events in the same order, and the same count
//! of timestamps that stepped back, at the same moments, so the replay's output
//! cannot tell them apart (`the_event_path_replays_exactly_as_the_text_path`).

use crate::feed::stream::{Chunk, Consumed, FeedError, Merger, Pull};
use crate::feed::Event;

/// The replay's view of its input. `peek` comes before every `next`, and the
/// replay reads [`EventSource::out_of_order`] only after a `peek`.
pub trait EventSource {
    /// The next event's exchange time without taking it: `Some(Err(k))` when
    /// stream `k` (an event batch: 0) needs more input first, `None` when every
    /// stream has ended.
    fn peek(&mut self) -> Result<Option<Result<i64, usize>>, FeedError>;
    /// Takes the event the last `peek` showed, lent where it lies (an event is
    /// 72 bytes: under wasm a copy of it is a `memory.copy` call into the host).
    fn take(&mut self) -> Result<Option<&Event>, FeedError>;
    /// Timestamps that stepped back within the tolerance so far (the merger's
    /// [`Merger::out_of_order`], as it stood at the last `peek`).
    fn out_of_order(&self) -> u64;
}

/// The streams' text through the replay's own merger.
pub struct TextSource<'a> {
    pub merger: &'a mut Merger,
    pub chunks: &'a [Chunk],
    pub consumed: &'a mut [Consumed],
}

impl EventSource for TextSource<'_> {
    #[inline]
    fn peek(&mut self) -> Result<Option<Result<i64, usize>>, FeedError> {
        Ok(self.merger.peek(self.chunks, self.consumed)?.map(|r| r.map(|e| e.exch_ns)))
    }

    #[inline]
    fn take(&mut self) -> Result<Option<&Event>, FeedError> {
        Ok(self.merger.take(self.chunks, self.consumed)?.unwrap_or(None))
    }

    fn out_of_order(&self) -> u64 {
        self.merger.out_of_order
    }
}

/// One merged, decoded event with the merger's count of stepped-back
/// timestamps as it stood when the event was picked (what a text replay's
/// `peek` of that event would leave in [`Merger::out_of_order`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Merged {
    pub event: Event,
    pub out_of_order: u64,
}

/// Merged events in replay order, however they are held: a slice, or the
/// binary records of `abi::tick_events`, read one at a time where they lie.
pub trait Batch {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Writes event `i` (< `len`) into `into` and returns its
    /// [`Merged::out_of_order`]. Infallible: a batch of records is checked
    /// whole before the replay starts (`abi::tick_events`).
    fn read(&self, i: usize, into: &mut Event) -> u64;
}

impl Batch for [Merged] {
    fn len(&self) -> usize {
        <[Merged]>::len(self)
    }

    #[inline]
    fn read(&self, i: usize, into: &mut Event) -> u64 {
        *into = self[i].event;
        self[i].out_of_order
    }
}

/// Events decoded beforehand, in merged order, taken from `*used` on.
pub struct EventBatch<'a, B: Batch + ?Sized> {
    pub events: &'a B,
    /// `Some(n)`: the data ends after these events, the merger's final count being `n`.
    pub end: Option<u64>,
    /// Events taken so far.
    pub used: &'a mut usize,
    /// The count the replay reads: its state's (carried between calls).
    pub out_of_order: &'a mut u64,
    /// The record decoded last and its index (`usize::MAX`: none yet), read
    /// by the replay where it lies.
    pub current: (Event, usize),
}

impl<B: Batch + ?Sized> EventBatch<'_, B> {
    /// The event at `*used`, decoded once.
    fn read(&mut self) -> Option<&Event> {
        let i = *self.used;
        if i >= self.events.len() {
            return None;
        }
        if self.current.1 != i {
            *self.out_of_order = self.events.read(i, &mut self.current.0);
            self.current.1 = i;
        }
        Some(&self.current.0)
    }
}

impl<B: Batch + ?Sized> EventSource for EventBatch<'_, B> {
    #[inline]
    fn peek(&mut self) -> Result<Option<Result<i64, usize>>, FeedError> {
        match self.read() {
            Some(e) => Ok(Some(Ok(e.exch_ns))),
            None => match self.end {
                Some(n) => {
                    *self.out_of_order = n;
                    Ok(None)
                }
                None => Ok(Some(Err(0))),
            },
        }
    }

    #[inline]
    fn take(&mut self) -> Result<Option<&Event>, FeedError> {
        if self.read().is_none() {
            return Ok(None);
        }
        *self.used += 1;
        Ok(Some(&self.current.0))
    }

    fn out_of_order(&self) -> u64 {
        *self.out_of_order
    }
}

/// Decodes and merges streams outside the engine, as a text replay would
/// inside it: what the shell runs to fill [`EventBatch`]es.
pub struct MergeAhead {
    pub merger: Merger,
}

impl MergeAhead {
    pub fn new(merger: Merger) -> Self {
        MergeAhead { merger }
    }

    /// Appends merged events to `out` until it holds `max` or the text runs out.
    /// A bad line is an error after the events before it, which `out` keeps:
    /// replay them first, so that the error surfaces where a text replay would
    /// meet it (after the iterations those events complete).
    pub fn fill(
        &mut self,
        chunks: &[Chunk],
        consumed: &mut [Consumed],
        out: &mut Vec<Merged>,
        max: usize,
    ) -> Result<Filled, FeedError> {
        while out.len() < max {
            match self.merger.next(chunks, consumed)? {
                Pull::Event(event) => out.push(Merged { event, out_of_order: self.merger.out_of_order }),
                Pull::Need(k) => return Ok(Filled::Need(k)),
                Pull::End => return Ok(Filled::End(self.merger.out_of_order)),
            }
        }
        Ok(Filled::Full)
    }
}

/// Why [`MergeAhead::fill`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filled {
    /// `out` holds `max` events.
    Full,
    /// Stream `k` needs more text (or eof).
    Need(usize),
    /// Every stream has ended; the merger's final count of stepped-back timestamps.
    End(u64),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::{Format, TickSize};

    /// A bad line comes back as an error after the events before it, which stay
    /// in the batch to be replayed first; the chunk was only taken up to them.
    #[test]
    fn a_bad_line_is_an_error_after_the_events_before_it() {
        let row = |t: u64, price: &str| format!("binance-futures,BTCUSDT,{t},{t},{},buy,{price},1\n", t / 1_000_000);
        let text = format!(
            "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n{}{}{}{}",
            row(1_000_000, "10"),
            row(2_000_000, "11"),
            row(3_000_000, "not a price"),
            row(4_000_000, "12")
        );
        let chunks = [Chunk { text, paired: None, eof: true }];
        let mut ahead = MergeAhead::new(Merger::new(&[Format::Tardis], TickSize(1_000_000), 0));
        let mut at = [Consumed::default()];
        let mut out = Vec::new();
        let e = ahead.fill(&chunks, &mut at, &mut out, 100).expect_err("line 4 is bad");
        assert_eq!((e.stream, e.line), (0, 4), "{}", e.message);
        assert_eq!(out.iter().map(|m| m.event.exch_ns).collect::<Vec<_>>(), [1_000_000_000, 2_000_000_000]);
        // A full batch stops at `max`, the rest waiting in the merger.
        let mut ahead = MergeAhead::new(Merger::new(&[Format::Tardis], TickSize(1_000_000), 0));
        let (mut at, mut out) = ([Consumed::default()], Vec::new());
        assert_eq!(ahead.fill(&chunks, &mut at, &mut out, 1), Ok(Filled::Full));
        assert_eq!(out.len(), 1);
    }
}
