//! Several files, one market: each stream is one format's decoder over one file
//! (or files of one kind laid end to end), and [`Merger`] interleaves the streams
//! by local (arrival) time, the order a recorder saw them in.
//!
//! The shell hands text in chunks ([`Chunk`]); the merger consumes complete lines
//! only and says which stream it needs more of ([`Pull::Need`]), so memory is
//! O(chunk + decoded head), never O(file).

use serde::{Deserialize, Serialize};

use super::binance::BinanceDecoder;
use super::lobster::LobsterDecoder;
use super::tardis::TardisDecoder;
use super::{Event, Format, LineDecoder, TickSize};

/// One format's decoder, whichever it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnyDecoder {
    Lobster(LobsterDecoder),
    Tardis(TardisDecoder),
    Binance(BinanceDecoder),
}

impl AnyDecoder {
    pub fn new(format: Format, tick: TickSize) -> Self {
        match format {
            Format::Lobster => AnyDecoder::Lobster(LobsterDecoder::new(tick)),
            Format::Tardis => AnyDecoder::Tardis(TardisDecoder::new(tick)),
            Format::Binance => AnyDecoder::Binance(BinanceDecoder::new(tick)),
        }
    }

    fn inner(&mut self) -> &mut dyn LineDecoder {
        match self {
            AnyDecoder::Lobster(d) => d,
            AnyDecoder::Tardis(d) => d,
            AnyDecoder::Binance(d) => d,
        }
    }
}

/// A new piece of one stream's text, as the shell read it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    /// Text not yet consumed (the merger consumes whole lines only).
    pub text: String,
    /// The companion file's unconsumed text (LOBSTER's orderbook file), if the stream is paired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paired: Option<String>,
    /// No more text will come for this stream.
    pub eof: bool,
}

/// Where the merger stands in a chunk: bytes consumed of `text` and of `paired`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consumed {
    pub text: usize,
    pub paired: usize,
}

/// A stream's place, serialized between calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamState {
    pub format: Format,
    pub decoder: AnyDecoder,
    /// Lines consumed so far (the next line is `line + 1`).
    pub line: u64,
    /// Events of the last decoded line not yet handed out.
    pub head: Head,
    /// Line the head came from.
    pub head_line: u64,
    pub finished: bool,
    /// Latest local time seen, for the backwards check.
    pub last_local_ns: Option<i64>,
}

/// A stream's decoded events not yet handed out, in order. The decoder writes a
/// line's events straight into the buffer once the last line's are all taken,
/// and they are taken by moving a cursor: no allocation, no copy into a queue
/// and no free per line (under wasm each of those is a call into dlmalloc or a
/// `memory.copy` into the host). It serializes as the sequence of the events
/// not yet taken, as the `VecDeque` it replaces did.
#[derive(Debug, Clone, Default)]
pub struct Head {
    events: Vec<Event>,
    /// `events[next..]` are not yet taken.
    next: usize,
}

impl Head {
    pub fn is_empty(&self) -> bool {
        self.next >= self.events.len()
    }

    pub fn front(&self) -> Option<&Event> {
        self.events.get(self.next)
    }

    pub fn pop_front(&mut self) -> Option<Event> {
        self.take_front().copied()
    }

    /// Takes the front event, lent where it lies (no copy).
    pub fn take_front(&mut self) -> Option<&Event> {
        let e = self.events.get(self.next)?;
        self.next += 1;
        Some(e)
    }

    /// The events not yet taken.
    pub fn pending(&self) -> &[Event] {
        &self.events[self.next.min(self.events.len())..]
    }

    /// The emptied buffer, for the next line's events (only when [`Head::is_empty`]).
    fn refill(&mut self) -> &mut Vec<Event> {
        debug_assert!(self.is_empty());
        self.events.clear();
        self.next = 0;
        &mut self.events
    }
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.pending() == other.pending()
    }
}

impl Serialize for Head {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.pending().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Head {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Head { events: Vec::deserialize(d)?, next: 0 })
    }
}

/// Bad data: which stream, which 1-based line of it, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedError {
    pub stream: usize,
    pub line: u64,
    /// The error is in the companion (orderbook) file's line.
    #[serde(default)]
    pub paired: bool,
    pub message: String,
}

/// What the merger produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Pull {
    /// The next event in arrival order (and the stream it came from).
    Event(Event),
    /// Stream `k` has no complete line left in its chunk: hand it more text (or eof).
    Need(usize),
    /// Every stream has ended.
    End,
}

/// Interleaves streams by local time; ties go to the lower stream index.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Merger {
    pub streams: Vec<StreamState>,
    /// How far a stream's local time may step back before it is an error, ns.
    pub backstep_tolerance_ns: i64,
    /// Steps back within the tolerance (counted, then tolerated).
    pub out_of_order: u64,
    /// The stream the last event handed out came from.
    #[serde(default)]
    pub last_stream: usize,
}

/// Takes the next complete line of `text` from `*pos`; a final line without a
/// newline counts only at eof. Carriage returns are dropped.
fn next_line<'a>(text: &'a str, pos: &mut usize, eof: bool) -> Option<&'a str> {
    let rest = text.get(*pos..)?;
    if rest.is_empty() {
        return None;
    }
    match find_newline(rest.as_bytes()) {
        Some(n) => {
            *pos += n + 1;
            Some(rest[..n].trim_end_matches('\r'))
        }
        None if eof => {
            *pos = text.len();
            Some(rest.trim_end_matches('\r'))
        }
        None => None,
    }
}

/// The index of the first `\n` in `bytes`: eight bytes per step as one `u64`
/// (the zero-byte test of Mycroft's "haszero", on `word ^ 0x0a…0a`), which
/// wasm32 runs as fast as native; `str::find` scans there by 4-byte words. A
/// borrow can mark bytes above a real match, never below one, so the lowest
/// marked byte is the first newline.
fn find_newline(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const NEWLINES: u64 = 0x0a0a_0a0a_0a0a_0a0a;
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for w in words.by_ref() {
        let x = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]) ^ NEWLINES;
        let found = x.wrapping_sub(ONES) & !x & HIGHS;
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    words.remainder().iter().position(|&b| b == b'\n').map(|i| at + i)
}

impl Merger {
    pub fn new(formats: &[Format], tick: TickSize, backstep_tolerance_ns: i64) -> Self {
        let streams = formats
            .iter()
            .map(|&format| StreamState {
                format,
                decoder: AnyDecoder::new(format, tick),
                line: 0,
                head: Head::default(),
                head_line: 0,
                finished: false,
                last_local_ns: None,
            })
            .collect();
        Merger { streams, backstep_tolerance_ns, out_of_order: 0, last_stream: 0 }
    }

    /// Fills stream `k`'s head from its chunk. `Ok(false)`: needs more text.
    fn fill(&mut self, k: usize, chunk: &Chunk, at: &mut Consumed) -> Result<bool, FeedError> {
        let tolerance = self.backstep_tolerance_ns;
        let s = &mut self.streams[k];
        while s.head.is_empty() && !s.finished {
            let (mut p, mut q) = (at.text, at.paired);
            let line = next_line(&chunk.text, &mut p, chunk.eof);
            let paired_line = match &chunk.paired {
                None => None,
                Some(pt) => match next_line(pt, &mut q, chunk.eof) {
                    Some(l) => Some(l),
                    None if chunk.eof => None,
                    None => return Ok(false),
                },
            };
            let Some(line) = line else {
                if !chunk.eof {
                    return Ok(false);
                }
                if let Some(extra) = paired_line {
                    let _ = extra;
                    return Err(FeedError {
                        stream: k,
                        line: s.line + 1,
                        paired: true,
                        message: format!(
                            "the orderbook file has more rows than the message file's {} (row counts must match)",
                            s.line
                        ),
                    });
                }
                s.decoder.inner().finish(s.head.refill()).map_err(|message| FeedError {
                    stream: k,
                    line: s.line,
                    paired: false,
                    message,
                })?;
                s.finished = true;
                break;
            };
            if chunk.paired.is_some() && paired_line.is_none() {
                return Err(FeedError {
                    stream: k,
                    line: s.line + 1,
                    paired: true,
                    message: format!(
                        "the orderbook file ends after {} rows but the message file goes on (row counts must match)",
                        s.line
                    ),
                });
            }
            at.text = p;
            at.paired = q;
            s.line += 1;
            if line.trim().is_empty() {
                continue;
            }
            let out = s.head.refill();
            s.decoder.inner().decode_located(line, paired_line, out).map_err(|e| FeedError {
                stream: k,
                line: s.line,
                paired: e.in_paired,
                message: e.message,
            })?;
            if let Some(first) = out.first() {
                if let Some(last) = s.last_local_ns {
                    if first.local_ns < last {
                        let back = last - first.local_ns;
                        if back > tolerance {
                            return Err(FeedError {
                                stream: k,
                                line: s.line,
                                paired: false,
                                message: format!(
                                    "timestamp goes backwards by {:.3} ms (tolerance {:.3} ms)",
                                    back as f64 / 1e6,
                                    tolerance as f64 / 1e6
                                ),
                            });
                        }
                        self.out_of_order += 1;
                    }
                }
                let newest = out.iter().map(|e| e.local_ns).max().unwrap_or(first.local_ns);
                s.last_local_ns = Some(s.last_local_ns.map_or(newest, |l| l.max(newest)));
            }
            s.head_line = s.line;
        }
        Ok(true)
    }

    /// The stream whose head comes first, after making sure every stream has a head.
    fn pick(&mut self, chunks: &[Chunk], at: &mut [Consumed]) -> Result<Result<Option<usize>, usize>, FeedError> {
        if chunks.len() != self.streams.len() || at.len() != self.streams.len() {
            return Err(FeedError {
                stream: 0,
                line: 0,
                paired: false,
                message: format!("{} streams but {} chunks", self.streams.len(), chunks.len()),
            });
        }
        let mut best: Option<(i64, usize)> = None;
        for k in 0..self.streams.len() {
            if !self.fill(k, &chunks[k], &mut at[k])? {
                return Ok(Err(k));
            }
            if let Some(e) = self.streams[k].head.front() {
                if best.is_none_or(|(t, _)| e.local_ns < t) {
                    best = Some((e.local_ns, k));
                }
            }
        }
        Ok(Ok(best.map(|(_, k)| k)))
    }

    /// The next event without taking it.
    pub fn peek(&mut self, chunks: &[Chunk], at: &mut [Consumed]) -> Result<Option<Result<&Event, usize>>, FeedError> {
        match self.pick(chunks, at)? {
            Err(k) => Ok(Some(Err(k))),
            Ok(None) => Ok(None),
            Ok(Some(k)) => Ok(self.streams[k].head.front().map(Ok)),
        }
    }

    /// Takes the next event in arrival order, lent where it lies: `Ok(Ok(None))`
    /// when every stream has ended, `Ok(Err(k))` when stream `k` needs more text.
    pub fn take(&mut self, chunks: &[Chunk], at: &mut [Consumed]) -> Result<Result<Option<&Event>, usize>, FeedError> {
        match self.pick(chunks, at)? {
            Err(k) => Ok(Err(k)),
            Ok(None) => Ok(Ok(None)),
            Ok(Some(k)) => {
                self.last_stream = k;
                Ok(Ok(self.streams[k].head.take_front()))
            }
        }
    }

    /// Takes the next event in arrival order.
    pub fn next(&mut self, chunks: &[Chunk], at: &mut [Consumed]) -> Result<Pull, FeedError> {
        match self.pick(chunks, at)? {
            Err(k) => Ok(Pull::Need(k)),
            Ok(None) => Ok(Pull::End),
            Ok(Some(k)) => {
                self.last_stream = k;
                Ok(self.streams[k].head.pop_front().map_or(Pull::End, Pull::Event))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-at-a-time search finds what `str::find` finds: a newline at every
    /// offset of every length (across word boundaries and in the tail), beside
    /// bytes one off from it (0x09, 0x0b) and high bytes whose borrows could mislead.
    #[test]
    fn find_newline_is_str_find() {
        let mut rng = crate::rng::Rng::new(3);
        let alphabet = [b'a', b'\t', 0x0b, 0x80, 0xff, 0x00, b'\n', 0x8a, 0x01];
        for len in 0..40 {
            for _ in 0..200 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        let r = rng.next_u64();
                        // Newlines rarely, so that long runs without one are tested too.
                        if r.is_multiple_of(16) {
                            b'\n'
                        } else {
                            alphabet[(r >> 8) as usize % alphabet.len()]
                        }
                    })
                    .collect();
                let expected = bytes.iter().position(|&b| b == b'\n');
                assert_eq!(find_newline(&bytes), expected, "{bytes:?}");
            }
        }
        let text = "x".repeat(1000) + "\n";
        assert_eq!(find_newline(text.as_bytes()), text.find('\n'));
    }

    #[test]
    fn lines_need_a_newline_until_eof() {
        let mut pos = 0;
        assert_eq!(next_line("a\nb", &mut pos, false), Some("a"));
        assert_eq!(next_line("a\nb", &mut pos, false), None);
        assert_eq!(next_line("a\nb", &mut pos, true), Some("b"));
        assert_eq!(next_line("a\nb", &mut pos, true), None);
        let mut pos = 0;
        assert_eq!(next_line("x\r\n", &mut pos, false), Some("x"));
    }
}
