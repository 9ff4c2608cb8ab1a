//! Binance websocket captures, as hftbacktest's collector writes them.
//!
//! One message a line: `<local receive time, ns since epoch> <json>`, where the
//! JSON is Binance's combined-stream envelope `{"stream": …, "data": …}` (a bare
//! event object without the envelope is read the same way) or a bare REST depth
//! snapshot `{"lastUpdateId": …, "bids": [[p, q], …], "asks": […]}` (USDⓈ-M
//! futures snapshots also carry `E`/`T`; spot snapshots carry neither).
//!
//! Decoded, for spot and USDⓈ-M futures:
//! - `trade` (`t`, `p`, `q`, `T`, `m`) and `aggTrade` (`a`, `p`, `q`, `T`, `m`) →
//!   [`EventKind::Trade`]; `m` (buyer is maker) true means a seller took liquidity.
//!   An id that skips (`t > previous + 1`) is preceded by
//!   `SequenceGap { book: false }`; an id at or below the previous one (a replayed
//!   duplicate) is dropped. `trade` and `aggTrade` ids are separate sequences.
//! - `bookTicker` (`b`, `B`, `a`, `A`) → [`EventKind::Quote`]; a side with
//!   quantity 0 is `None`.
//! - `depthUpdate` on a diff stream (`<sym>@depth`, `<sym>@depth@100ms`, …; the
//!   partial-book streams `<sym>@depth5` etc. are skipped) → [`EventKind::Level`]
//!   events, bids then asks, quantity 0 removing the level.
//! - Everything else (other streams, subscription replies) is skipped silently.
//!
//! Times: `exch_ns` is the message's transaction/trade time `T`, else its event
//! time `E` (ms × 1,000,000); `local_ns` is the line's prefix. A message with
//! neither (a spot `bookTicker`) gets `local_ns` plus the last seen
//! exchange-minus-local offset (0 before any exchange time was seen): the
//! recorder's clock need not agree with Binance's.
//!
//! # Book synchronisation
//!
//! Binance's rules ("How to manage a local order book correctly"), applied to a
//! file instead of a socket. Until a snapshot is loaded, depth diffs are
//! buffered (levels and times). A snapshot emits [`EventKind::Clear`] and its
//! levels, stamped with the snapshot line's times (`exch` = its `T`, else `E`,
//! else local time plus the offset above). Then buffered diffs that are stale
//! are dropped — futures `u < lastUpdateId`, spot `u <= lastUpdateId` — and
//! the first remaining diff, buffered or the next to arrive, must bridge the
//! snapshot: futures `U <= lastUpdateId <= u`, spot
//! `U <= lastUpdateId + 1 <= u`; otherwise decoding fails with an error naming
//! `lastUpdateId` and the diff's `U`/`u`. Buffered diffs are then applied,
//! stamped with the snapshot line's times (they arrived before it). Futures
//! diffs are told from spot ones by their `pu` field.
//!
//! Once synchronised, every diff must chain to the previous one: futures
//! `pu == previous u`, spot `U == previous u + 1`. A break emits
//! `SequenceGap { book: true }` (the book is unknown from there) and goes back
//! to buffering until the next snapshot, which starts again with `Clear`. A
//! snapshot arriving while the book is in sync is ignored (the diff chain is
//! already complete and the snapshot could be older than it).
//!
//! The pre-snapshot buffer holds at most 10,000 diffs; beyond that the oldest
//! is dropped (a snapshot that needed it then fails to bridge).
//! [`LineDecoder::finish`] fails if depth diffs were seen that no snapshot ever
//! bridged (the start, or a chain break never resynchronised); a capture with
//! no depth stream at all is fine.
//!
//! Several capture files of one stream may be concatenated in time order: the
//! decoder keeps the diff chain and trade ids across them, so a later file
//! needs no snapshot of its own.

mod fast;
mod sync;
#[cfg(test)]
mod tests;
mod value;

use super::{Event, EventKind, LineDecoder, Side, TickSize};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use sync::Depth;

/// `true` for a capture line: ASCII digits, one space, then `{`.
pub fn looks_like(line: &str) -> bool {
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && line.as_bytes().get(digits) == Some(&b' ') && line.as_bytes().get(digits + 1) == Some(&b'{')
}

/// Decodes one Binance capture stream (one symbol), line by line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BinanceDecoder {
    tick: TickSize,
    /// The symbol (`s`) of the first decoded message; another one is an error.
    symbol: Option<String>,
    /// The last seen exchange time minus local time, ns.
    offset_ns: Option<i64>,
    last_trade_id: Option<u64>,
    last_agg_id: Option<u64>,
    depth: Depth,
}

impl BinanceDecoder {
    pub fn new(tick: TickSize) -> Self {
        BinanceDecoder {
            tick,
            symbol: None,
            offset_ns: None,
            last_trade_id: None,
            last_agg_id: None,
            depth: Depth::Buffering { buffer: VecDeque::new(), unbridged: None },
        }
    }

    /// The exchange time given the message's own (`T`, else `E`) if any; updates the offset.
    fn stamp(&mut self, t: Option<i64>, local_ns: i64) -> i64 {
        match t {
            Some(t) => {
                self.offset_ns = Some(t.saturating_sub(local_ns));
                t
            }
            None => local_ns.saturating_add(self.offset_ns.unwrap_or(0)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push_trade(
        &mut self,
        agg: bool,
        id: u64,
        price: i64,
        qty: f64,
        maker_is_buyer: bool,
        exch_ns: i64,
        local_ns: i64,
        out: &mut Vec<Event>,
    ) {
        let last = if agg { &mut self.last_agg_id } else { &mut self.last_trade_id };
        if let Some(prev) = *last {
            if id <= prev {
                return; // a replayed duplicate
            }
            if id > prev.saturating_add(1) {
                out.push(Event { exch_ns, local_ns, kind: EventKind::SequenceGap { book: false } });
            }
        }
        *last = Some(id);
        let aggressor = Some(if maker_is_buyer { Side::Sell } else { Side::Buy });
        out.push(Event { exch_ns, local_ns, kind: EventKind::Trade { aggressor, price, qty, maker_order: None } });
    }
}

impl LineDecoder for BinanceDecoder {
    fn decode(&mut self, line: &str, _paired: Option<&str>, out: &mut Vec<Event>) -> Result<(), String> {
        let Some((local_ns, json)) = split_line(line)? else { return Ok(()) };
        if let Some(done) = self.decode_fast(json, local_ns, out) {
            return done;
        }
        self.decode_value(json, local_ns, out)
    }

    fn finish(&mut self, _out: &mut Vec<Event>) -> Result<(), String> {
        match &self.depth {
            Depth::Buffering { unbridged: Some((first, last)), .. } => Err(format!(
                "the depth diffs were never bridged by a snapshot (first unbridged diff: U {first}, u {last})"
            )),
            Depth::Bridging { last_update_id, stale: Some((first, last)) } => Err(format!(
                "the depth snapshot (lastUpdateId {last_update_id}) was never bridged: every diff after it is older (last: U {first}, u {last})"
            )),
            _ => Ok(()),
        }
    }
}

/// A capture line's local time and JSON text; `None` for a blank line.
fn split_line(line: &str) -> Result<Option<(i64, &str)>, String> {
    let line = line.trim_start_matches('\u{feff}').trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() {
        return Ok(None);
    }
    let Some((ts, json)) = crate::feed::split_once_byte(line, b' ') else {
        return Err(format!("expected `<local receive time ns> <json>`, got {}", short(line)));
    };
    let local_ns = match crate::feed::parse_i64_trimmed(ts) {
        Some(t) if ts.bytes().all(|b| b.is_ascii_digit()) => t,
        _ => return Err(format!("local receive time {} is not a whole number of nanoseconds", short(ts))),
    };
    Ok(Some((local_ns, json)))
}

/// A bookTicker's event: a side with quantity 0 is `None`.
fn push_quote(px: [i64; 2], qty: [f64; 2], exch_ns: i64, local_ns: i64, out: &mut Vec<Event>) {
    let side = |px: i64, qty: f64| (qty > 0.0).then_some((px, qty));
    out.push(Event {
        exch_ns,
        local_ns,
        kind: EventKind::Quote { bid: side(px[0], qty[0]), ask: side(px[1], qty[1]) },
    });
}

/// Text for an error message, quoted and cut to a readable length.
fn short(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{:?}…", &s[..cut]),
        None => format!("{s:?}"),
    }
}
