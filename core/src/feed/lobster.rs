//! LOBSTER message + orderbook files.
//!
//! LOBSTER ships a trading day as two CSV files without headers, row for row
//! in lockstep:
//!
//! - the **message** file, `time,type,order_id,size,price,direction`: `time` in
//!   seconds after midnight (up to 9 decimals), `type` 1 new limit order,
//!   2 partial cancel, 3 delete, 4 execution of a visible order, 5 execution of
//!   a hidden order, 7 trading halt; `price` in USD × 10,000; `direction` the
//!   side of the *resting* order (1 buy, −1 sell);
//! - the **orderbook** file, `ask_px_1,ask_sz_1,bid_px_1,bid_sz_1,…` for N
//!   levels, row *i* being the book *after* message *i*. An empty level reads
//!   price 9999999999 (ask) or −9999999999 (bid) with size 0.
//!
//! Each message row decodes into its own event first, then the orderbook row as
//! L2 diffs against the previous row, all stamped with the message's time:
//!
//! | type | event |
//! |------|-------|
//! | 1 | [`EventKind::Add`] |
//! | 2, 3 | [`EventKind::Cancel`] with `qty` = the shares cancelled or deleted |
//! | 4 | [`EventKind::Trade`], `aggressor` = the opposite of `direction`, `maker_order` = `order_id` |
//! | 5 | [`EventKind::Trade`], `aggressor` = the opposite of `direction`, `maker_order` = `None` |
//! | 7 | price −1: [`EventKind::Halt`] `{ halted: true }`; price 1 (trading resumes): `Halt { halted: false }`; price 0 (quoting resumes, trading still halted): nothing |
//!
//! The first orderbook row emits [`EventKind::Clear`] and then one
//! [`EventKind::Level`] per visible level (asks then bids, best first). Later
//! rows emit a `Level` only for prices whose quantity changed, and quantity 0
//! for prices that left the visible window (asks then bids, each from the touch
//! outwards). Applying the `Level` events to an empty book reproduces every
//! orderbook row exactly.
//!
//! Prices become [`PRICE_SCALE`] units (raw × 10,000) and then ticks with
//! [`TickSize::ticks`], which rounds to the nearest tick: hidden executions at
//! midpoints (e.g. 223.795) round half up at a 0.01 tick. Two book levels that
//! round to the same tick (a tick coarser than the data) are summed into one.
//!
//! Times with more than 9 decimals (float-printing noise such as
//! `43002.632812672004`, which the AMZN sample contains) are rounded to the
//! nearest nanosecond.
//!
//! The decoder keeps only the previous orderbook row (O(levels)); a crossed
//! book is decoded as it is.

use super::{parse_seconds_ns, DecodeError, Event, EventKind, LineDecoder, Side, TickSize};
use serde::{Deserialize, Serialize};

#[cfg(doc)]
use super::PRICE_SCALE;

/// An empty ask level's price.
const EMPTY_ASK: i64 = 9_999_999_999;
/// An empty bid level's price.
const EMPTY_BID: i64 = -9_999_999_999;
/// LOBSTER prices are USD × 10⁴; [`PRICE_SCALE`] is 10⁸.
const RAW_TO_SCALED: i64 = 10_000;

/// Whether a line looks like a LOBSTER message row: 6 comma-separated fields,
/// a decimal time and then five integers.
pub fn looks_like_message(line: &str) -> bool {
    let line = line.trim_start_matches('\u{feff}');
    let fields: Vec<&str> = crate::feed::split_commas(line).collect();
    let [time, rest @ ..] = fields.as_slice() else {
        return false;
    };
    fields.len() == 6 && parse_time(time).is_ok() && rest.iter().all(|f| is_integer(f))
}

/// Whether a line looks like a LOBSTER orderbook row: 4k integer fields, k ≥ 1.
pub fn looks_like_orderbook(line: &str) -> bool {
    let line = line.trim_start_matches('\u{feff}');
    let fields: Vec<&str> = crate::feed::split_commas(line).collect();
    !fields.is_empty() && fields.len().is_multiple_of(4) && fields.iter().all(|f| is_integer(f))
}

fn is_integer(s: &str) -> bool {
    crate::feed::parse_i64_trimmed(s).is_some()
}

/// One side of an orderbook row: `(ticks, qty)`, best first.
type Levels = Vec<(i64, f64)>;

/// Decodes a LOBSTER message file, with its orderbook file as the paired stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LobsterDecoder {
    tick: TickSize,
    /// Levels per side, fixed by the first orderbook row (`None` before it).
    depth: Option<usize>,
    /// The previous orderbook row's visible asks, `(ticks, qty)`, best first.
    asks: Vec<(i64, f64)>,
    /// The previous orderbook row's visible bids, `(ticks, qty)`, best first.
    bids: Vec<(i64, f64)>,
    /// The row being read, asks then bids; swapped with `asks` and `bids` once
    /// it is valid, so that no row allocates (empty between rows, not serialized).
    #[serde(skip)]
    spare: (Levels, Levels),
}

impl LobsterDecoder {
    pub fn new(tick: TickSize) -> Self {
        LobsterDecoder { tick, depth: None, asks: Vec::new(), bids: Vec::new(), spare: Default::default() }
    }
}

impl LineDecoder for LobsterDecoder {
    fn decode(&mut self, line: &str, paired: Option<&str>, out: &mut Vec<Event>) -> Result<(), String> {
        self.decode_located(line, paired, out).map_err(|e| e.message)
    }

    /// An error in the orderbook row is `in_paired`: it names the orderbook file.
    fn decode_located(&mut self, line: &str, paired: Option<&str>, out: &mut Vec<Event>) -> Result<(), DecodeError> {
        let in_message = |message| DecodeError { message, in_paired: false };
        let Some(book_line) = paired else {
            return Err(in_message("LOBSTER message file needs its orderbook file".into()));
        };
        let msg = parse_message(line, self.tick).map_err(in_message)?;
        let (mut asks, mut bids) = std::mem::take(&mut self.spare);
        let depth = match parse_book(book_line, self.tick, self.depth, &mut asks, &mut bids) {
            Ok(depth) => depth,
            Err(message) => {
                asks.clear();
                bids.clear();
                self.spare = (asks, bids);
                return Err(DecodeError { message, in_paired: true });
            }
        };

        // Everything validated: only now touch `out` and the state.
        let ns = msg.ns;
        let at = |kind| Event { exch_ns: ns, local_ns: ns, kind };
        if let Some(kind) = msg.kind {
            out.push(at(kind));
        }
        if self.depth.is_none() {
            out.push(at(EventKind::Clear));
            for &(price, qty) in &asks {
                out.push(at(EventKind::Level { side: Side::Sell, price, qty }));
            }
            for &(price, qty) in &bids {
                out.push(at(EventKind::Level { side: Side::Buy, price, qty }));
            }
        } else {
            diff(Side::Sell, &self.asks, &asks, ns, out);
            diff(Side::Buy, &self.bids, &bids, ns, out);
        }
        self.depth = Some(depth);
        std::mem::swap(&mut self.asks, &mut asks);
        std::mem::swap(&mut self.bids, &mut bids);
        asks.clear();
        bids.clear();
        self.spare = (asks, bids);
        Ok(())
    }

    /// Nothing is buffered.
    fn finish(&mut self, _out: &mut Vec<Event>) -> Result<(), String> {
        Ok(())
    }
}

/// One decoded message row.
struct Message {
    ns: i64,
    /// `None` for a "quoting resumes" halt row (type 7, price 0).
    kind: Option<EventKind>,
}

fn parse_message(line: &str, tick: TickSize) -> Result<Message, String> {
    let line = line.trim_start_matches('\u{feff}');
    let [time, typ, id, size, price, direction] = match crate::feed::split_exact::<6>(line) {
        Ok(f) => f,
        Err(n) => {
            return Err(format!(
                "LOBSTER message row has {n} fields, expected 6 (time,type,order_id,size,price,direction): {line:?}"
            ))
        }
    };
    let ns = parse_time(time).map_err(|e| format!("time: {e}"))?;
    let typ = int_field("type", typ)?;
    let size_raw = int_field("size", size)?;
    let price_raw = int_field("price", price)?;
    let direction_raw = int_field("direction", direction)?;

    if typ == 7 {
        // A halt row's order id, size and direction carry no meaning; they need only be integers.
        int_field("order_id", id)?;
        let kind = match price_raw {
            -1 => Some(EventKind::Halt { halted: true }),
            0 => None,
            1 => Some(EventKind::Halt { halted: false }),
            _ => return Err(format!("price {price:?} of a trading-halt row (type 7) is not -1, 0 or 1")),
        };
        return Ok(Message { ns, kind });
    }
    if !matches!(typ, 1..=5) {
        return Err(format!("type {typ} is not a LOBSTER event type (1-5, 7)"));
    }

    let id: u64 =
        crate::feed::parse_u64_trimmed(id).ok_or_else(|| format!("order_id {id:?} is not a non-negative integer"))?;
    if size_raw < 0 {
        return Err(format!("size {size_raw} is negative"));
    }
    let qty = size_raw as f64;
    let side = match direction_raw {
        1 => Side::Buy,
        -1 => Side::Sell,
        _ => return Err(format!("direction {direction_raw} is not 1 (buy) or -1 (sell)")),
    };
    let price = to_ticks("price", price_raw, tick)?;
    let kind = match typ {
        1 => EventKind::Add { id, side, price, qty },
        2 | 3 => EventKind::Cancel { id, side, price, qty },
        4 => EventKind::Trade { aggressor: Some(side.opposite()), price, qty, maker_order: Some(id) },
        _ => EventKind::Trade { aggressor: Some(side.opposite()), price, qty, maker_order: None },
    };
    Ok(Message { ns, kind: Some(kind) })
}

/// Reads one orderbook row into `asks` and `bids` (empty on entry): its visible
/// levels, best first, in ticks. Returns the row's levels per side.
fn parse_book(
    line: &str,
    tick: TickSize,
    depth: Option<usize>,
    asks: &mut Vec<(i64, f64)>,
    bids: &mut Vec<(i64, f64)>,
) -> Result<usize, String> {
    let line = line.trim_start_matches('\u{feff}');
    // Counted, then read field by field: no Vec per row.
    let count = line.bytes().filter(|&b| b == b',').count() + 1;
    if !count.is_multiple_of(4) || count < 4 {
        return Err(format!(
            "LOBSTER orderbook row has {count} fields, not a positive multiple of 4 (ask_px,ask_sz,bid_px,bid_sz per level)"
        ));
    }
    let n = count / 4;
    if let Some(d) = depth.filter(|&d| d != n) {
        return Err(format!("LOBSTER orderbook row has {n} levels, earlier rows had {d}"));
    }
    let mut asks = SideBuilder::new(Side::Sell, asks);
    let mut bids = SideBuilder::new(Side::Buy, bids);
    let mut fields = crate::feed::split_commas(line);
    for level in 1..=n {
        let (Some(ask_px), Some(ask_sz), Some(bid_px), Some(bid_sz)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(format!("LOBSTER orderbook level {level} is incomplete"));
        };
        asks.push(level, ask_px, ask_sz, tick)?;
        bids.push(level, bid_px, bid_sz, tick)?;
    }
    Ok(n)
}

/// Validates and collects one side of an orderbook row.
struct SideBuilder<'a> {
    side: Side,
    levels: &'a mut Vec<(i64, f64)>,
    /// The previous visible level's raw price and its level number.
    last: Option<(i64, usize)>,
    /// The first empty level's number, once one was seen.
    empty_from: Option<usize>,
}

impl<'a> SideBuilder<'a> {
    fn new(side: Side, levels: &'a mut Vec<(i64, f64)>) -> Self {
        SideBuilder { side, levels, last: None, empty_from: None }
    }

    /// A column's name, `ask_px_3` (only built for an error message).
    fn name(&self, what: &str, level: usize) -> String {
        let prefix = match self.side {
            Side::Sell => "ask",
            Side::Buy => "bid",
        };
        format!("{prefix}_{what}_{level}")
    }

    fn push(&mut self, level: usize, px: &str, sz: &str, tick: TickSize) -> Result<(), String> {
        let empty = match self.side {
            Side::Sell => EMPTY_ASK,
            Side::Buy => EMPTY_BID,
        };
        let px_name = |b: &Self| b.name("px", level);
        let sz_name = |b: &Self| b.name("sz", level);
        let raw_px = int_value(px).ok_or_else(|| not_an_integer(&px_name(self), px))?;
        let raw_sz = int_value(sz).ok_or_else(|| not_an_integer(&sz_name(self), sz))?;
        if raw_sz < 0 {
            return Err(format!("{} {raw_sz} is negative", sz_name(self)));
        }
        if raw_px == empty {
            if raw_sz != 0 {
                return Err(format!("{} {raw_sz} at the empty-level price {raw_px} is not 0", sz_name(self)));
            }
            if self.empty_from.is_none() {
                self.empty_from = Some(level);
            }
            return Ok(());
        }
        if let Some(first_empty) = self.empty_from {
            return Err(format!("{} {raw_px} follows the empty level {}", px_name(self), self.name("px", first_empty)));
        }
        if raw_sz == 0 {
            return Err(format!("{} is 0 at the visible price {} {raw_px}", sz_name(self), px_name(self)));
        }
        if let Some((last_px, last_level)) = self.last {
            let ordered = match self.side {
                Side::Sell => raw_px > last_px,
                Side::Buy => raw_px < last_px,
            };
            if !ordered {
                let want = if self.side == Side::Sell { "above" } else { "below" };
                return Err(format!(
                    "{} {raw_px} is not {want} {} {last_px}",
                    px_name(self),
                    self.name("px", last_level)
                ));
            }
        }
        // `to_ticks`, naming the column only for an error.
        let price = if raw_px > 0 && raw_px < EMPTY_ASK {
            tick.ticks(raw_px * RAW_TO_SCALED)
        } else {
            to_ticks(&px_name(self), raw_px, tick)?
        };
        let qty = raw_sz as f64;
        match self.levels.last_mut() {
            // A tick coarser than the data: levels that round together are one level.
            Some(last) if last.0 == price => last.1 += qty,
            _ => self.levels.push((price, qty)),
        }
        self.last = Some((raw_px, level));
        Ok(())
    }
}

/// Emits the `Level` events that turn `prev` into `new` (both best first), from the touch outwards.
fn diff(side: Side, prev: &[(i64, f64)], new: &[(i64, f64)], ns: i64, out: &mut Vec<Event>) {
    // Distance from the touch: asks ascend, bids descend. Prices are bounded, so negation is safe.
    let key = |p: i64| if side == Side::Sell { p } else { -p };
    let mut emit = |price: i64, qty: f64| {
        out.push(Event { exch_ns: ns, local_ns: ns, kind: EventKind::Level { side, price, qty } });
    };
    let (mut i, mut j) = (0, 0);
    loop {
        match (prev.get(i), new.get(j)) {
            (Some(&(pp, pq)), Some(&(np, nq))) => {
                if key(pp) < key(np) {
                    emit(pp, 0.0);
                    i += 1;
                } else if key(np) < key(pp) {
                    emit(np, nq);
                    j += 1;
                } else {
                    if pq != nq {
                        emit(np, nq);
                    }
                    i += 1;
                    j += 1;
                }
            }
            (Some(&(pp, _)), None) => {
                emit(pp, 0.0);
                i += 1;
            }
            (None, Some(&(np, nq))) => {
                emit(np, nq);
                j += 1;
            }
            (None, None) => break,
        }
    }
}

fn int_field(name: &str, s: &str) -> Result<i64, String> {
    int_value(s).ok_or_else(|| not_an_integer(name, s))
}

fn int_value(s: &str) -> Option<i64> {
    crate::feed::parse_i64_trimmed(s)
}

fn not_an_integer(name: &str, s: &str) -> String {
    format!("{name} {s:?} is not an integer")
}

/// A raw LOBSTER price (USD × 10⁴) in ticks. Prices must lie strictly between 0 and
/// the empty-level marker 9999999999, which also keeps the tick conversion from overflowing.
fn to_ticks(name: &str, raw: i64, tick: TickSize) -> Result<i64, String> {
    if raw <= 0 || raw >= EMPTY_ASK {
        return Err(format!("{name} {raw} is not a price between 1 and {}", EMPTY_ASK - 1));
    }
    Ok(tick.ticks(raw * RAW_TO_SCALED))
}

/// Seconds after midnight to ns, like [`parse_seconds_ns`], but rounding digits past the
/// 9th decimal to the nearest ns (the AMZN sample has `43002.632812672004`).
fn parse_time(s: &str) -> Result<i64, String> {
    let t = crate::feed::trim(s);
    let (int, frac) = crate::feed::split_once_byte(t, b'.').unwrap_or((t, ""));
    if frac.len() > 9 && frac.bytes().all(|b| b.is_ascii_digit()) {
        if let (Some(head), Some(&next)) = (frac.get(..9), frac.as_bytes().get(9)) {
            let ns = parse_seconds_ns(&format!("{int}.{head}"))
                .map_err(|_| format!("{s:?} is not a time in seconds after midnight"))?;
            return if next >= b'5' {
                ns.checked_add(1).ok_or_else(|| format!("{s:?} is out of range"))
            } else {
                Ok(ns)
            };
        }
    }
    parse_seconds_ns(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CENT: TickSize = TickSize(1_000_000);
    /// A 2-level book: asks 100.00×10, 100.05×5; bids 99.95×7, 99.90×3.
    const BOOK: &str = "1000000,10,999500,7,1000500,5,999000,3";

    fn ev(ns: i64, kind: EventKind) -> Event {
        Event { exch_ns: ns, local_ns: ns, kind }
    }
    fn lvl(side: Side, price: i64, qty: f64) -> EventKind {
        EventKind::Level { side, price, qty }
    }

    fn started() -> LobsterDecoder {
        let mut d = LobsterDecoder::new(CENT);
        let mut out = Vec::new();
        d.decode("34200.0,1,1,10,1000000,-1", Some(BOOK), &mut out).unwrap();
        d
    }

    fn decode(d: &mut LobsterDecoder, msg: &str, book: &str) -> Result<Vec<Event>, String> {
        let mut out = Vec::new();
        d.decode(msg, Some(book), &mut out).map(|()| out)
    }

    #[test]
    fn first_row_adds_then_clears_and_lists_levels() {
        let mut d = LobsterDecoder::new(CENT);
        let out = decode(&mut d, "34200.017459617,1,11885113,21,999500,1", BOOK).unwrap();
        let t = 34_200_017_459_617;
        assert_eq!(
            out,
            vec![
                ev(t, EventKind::Add { id: 11885113, side: Side::Buy, price: 9995, qty: 21.0 }),
                ev(t, EventKind::Clear),
                ev(t, lvl(Side::Sell, 10000, 10.0)),
                ev(t, lvl(Side::Sell, 10005, 5.0)),
                ev(t, lvl(Side::Buy, 9995, 7.0)),
                ev(t, lvl(Side::Buy, 9990, 3.0)),
            ]
        );
    }

    #[test]
    fn cancel_and_delete_emit_cancel_then_diffs() {
        let mut d = started();
        // Partial cancel of 4 at the best bid.
        let out = decode(&mut d, "34201.5,2,7,4,999500,1", "1000000,10,999500,3,1000500,5,999000,3").unwrap();
        let t = 34_201_500_000_000;
        assert_eq!(
            out,
            vec![
                ev(t, EventKind::Cancel { id: 7, side: Side::Buy, price: 9995, qty: 4.0 }),
                ev(t, lvl(Side::Buy, 9995, 3.0)),
            ]
        );
        // Delete the whole best ask: the second level moves up, a new one appears at level 2.
        let out = decode(&mut d, "34202,3,8,10,1000000,-1", "1000500,5,999500,3,1001000,2,999000,3").unwrap();
        let t = 34_202_000_000_000;
        assert_eq!(
            out,
            vec![
                ev(t, EventKind::Cancel { id: 8, side: Side::Sell, price: 10000, qty: 10.0 }),
                ev(t, lvl(Side::Sell, 10000, 0.0)),
                ev(t, lvl(Side::Sell, 10010, 2.0)),
            ]
        );
    }

    #[test]
    fn executions_name_aggressor_and_maker() {
        let mut d = started();
        // A visible sell order executed: a buyer lifted the offer.
        let out = decode(&mut d, "34203,4,9,4,1000000,-1", "1000000,6,999500,7,1000500,5,999000,3").unwrap();
        let t = 34_203_000_000_000;
        assert_eq!(
            out,
            vec![
                ev(t, EventKind::Trade { aggressor: Some(Side::Buy), price: 10000, qty: 4.0, maker_order: Some(9) }),
                ev(t, lvl(Side::Sell, 10000, 6.0)),
            ]
        );
        // A hidden buy order executed at a half-cent midpoint: no book change, price rounds half up.
        let out = decode(&mut d, "34204,5,0,63,999750,1", "1000000,6,999500,7,1000500,5,999000,3").unwrap();
        assert_eq!(
            out,
            vec![ev(
                34_204_000_000_000,
                EventKind::Trade { aggressor: Some(Side::Sell), price: 9998, qty: 63.0, maker_order: None }
            )]
        );
    }

    #[test]
    fn halts() {
        let mut d = started();
        let out = decode(&mut d, "40000,7,0,0,-1,-1", BOOK).unwrap();
        assert_eq!(out, vec![ev(40_000_000_000_000, EventKind::Halt { halted: true })]);
        // Quoting resumes: trading is still halted, nothing to say.
        assert_eq!(decode(&mut d, "40001,7,0,0,0,-1", BOOK).unwrap(), vec![]);
        let out = decode(&mut d, "40002,7,0,0,1,-1", BOOK).unwrap();
        assert_eq!(out, vec![ev(40_002_000_000_000, EventKind::Halt { halted: false })]);
        assert!(decode(&mut d, "40003,7,0,0,2,-1", BOOK).unwrap_err().contains("price"));
    }

    #[test]
    fn levels_leave_and_enter_the_window_and_empty_levels_are_skipped() {
        let mut d = started();
        // A bid improves inside the spread: 99.90 falls out of the 2-level window.
        let out = decode(&mut d, "34205,1,10,1,999800,1", "1000000,10,999800,1,1000500,5,999500,7").unwrap();
        let t = 34_205_000_000_000;
        assert_eq!(
            out,
            vec![
                ev(t, EventKind::Add { id: 10, side: Side::Buy, price: 9998, qty: 1.0 }),
                ev(t, lvl(Side::Buy, 9998, 1.0)),
                ev(t, lvl(Side::Buy, 9990, 0.0)),
            ]
        );
        // The whole ask side empties to one level; the second reads as the empty marker.
        let out = decode(&mut d, "34206,3,11,10,1000000,-1", "1000500,5,999800,1,9999999999,0,999500,7").unwrap();
        assert_eq!(
            out,
            vec![
                ev(34_206_000_000_000, EventKind::Cancel { id: 11, side: Side::Sell, price: 10000, qty: 10.0 }),
                ev(34_206_000_000_000, lvl(Side::Sell, 10000, 0.0)),
            ]
        );
        // Empty bid side entirely.
        let out =
            decode(&mut d, "34207,3,12,1,999800,1", "1000500,5,-9999999999,0,9999999999,0,-9999999999,0").unwrap();
        let t = 34_207_000_000_000;
        assert_eq!(
            out,
            vec![
                ev(t, EventKind::Cancel { id: 12, side: Side::Buy, price: 9998, qty: 1.0 }),
                ev(t, lvl(Side::Buy, 9998, 0.0)),
                ev(t, lvl(Side::Buy, 9995, 0.0)),
            ]
        );
    }

    #[test]
    fn crossed_book_is_decoded() {
        let mut d = started();
        let out = decode(&mut d, "34208,1,13,2,1000000,1", "1000000,10,1000000,2,1000500,5,999500,7").unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(out.get(1).map(|e| &e.kind), Some(&lvl(Side::Buy, 10000, 2.0)));
        assert_eq!(out.get(2).map(|e| &e.kind), Some(&lvl(Side::Buy, 9990, 0.0)));
    }

    #[test]
    fn coarse_tick_merges_levels() {
        let mut d = LobsterDecoder::new(TickSize(10_000_000)); // $0.10
        let out = decode(&mut d, "1,1,1,1,1000000,-1", "1000000,10,999500,7,1000100,5,999000,3").unwrap();
        let kinds: Vec<EventKind> = out.into_iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            vec![
                EventKind::Add { id: 1, side: Side::Sell, price: 1000, qty: 1.0 },
                EventKind::Clear,
                lvl(Side::Sell, 1000, 15.0),
                lvl(Side::Buy, 1000, 7.0),
                lvl(Side::Buy, 999, 3.0),
            ]
        );
    }

    #[test]
    fn long_time_fractions_round_to_the_nanosecond() {
        assert_eq!(parse_time("43002.632812672004").unwrap(), 43_002_632_812_672);
        assert_eq!(parse_time("43002.6328126725").unwrap(), 43_002_632_812_673);
        assert_eq!(parse_time("34200.18960767").unwrap(), 34_200_189_607_670);
        assert!(parse_time("1.2x").is_err());
        assert!(parse_time("1.1234567890x").is_err());
    }

    #[test]
    fn bad_rows_are_errors_naming_the_field() {
        let mut d = started();
        let ok_book = BOOK;
        let cases: &[(&str, &str, &str)] = &[
            ("34200,1,1,10,1000000", ok_book, "6"),
            ("34200,1,1,10,1000000,-1,9", ok_book, "6"),
            ("x,1,1,10,1000000,-1", ok_book, "time"),
            ("34200,6,1,10,1000000,-1", ok_book, "type 6"),
            ("34200,a,1,10,1000000,-1", ok_book, "type"),
            ("34200,1,-5,10,1000000,-1", ok_book, "order_id"),
            ("34200,1,1,-10,1000000,-1", ok_book, "size -10"),
            ("34200,1,1,1.5,1000000,-1", ok_book, "size"),
            ("34200,1,1,10,abc,-1", ok_book, "price \"abc\""),
            ("34200,1,1,10,0,-1", ok_book, "price 0"),
            ("34200,1,1,10,1000000,0", ok_book, "direction 0"),
            ("34200,1,1,10,1000000,2", ok_book, "direction 2"),
            ("34201,1,1,10,1000000,-1", "1000000,10,999500", "multiple of 4"),
            ("34201,1,1,10,1000000,-1", "", "multiple of 4"),
            ("34201,1,1,10,1000000,-1", "1000000,10,999500,7", "earlier rows had 2"),
            ("34201,1,1,10,1000000,-1", "1000000,x,999500,7,1000500,5,999000,3", "ask_sz_1"),
            ("34201,1,1,10,1000000,-1", "1000000,10,999500,-7,1000500,5,999000,3", "bid_sz_1 -7"),
            ("34201,1,1,10,1000000,-1", "1000500,10,999500,7,1000000,5,999000,3", "ask_px_2 1000000"),
            ("34201,1,1,10,1000000,-1", "1000000,10,999000,7,1000500,5,999500,3", "bid_px_2 999500"),
            ("34201,1,1,10,1000000,-1", "9999999999,0,999500,7,1000500,5,999000,3", "follows the empty level ask_px_1"),
            ("34201,1,1,10,1000000,-1", "9999999999,4,999500,7,9999999999,0,999000,3", "ask_sz_1 4"),
            ("34201,1,1,10,1000000,-1", "1000000,10,-5,7,1000500,5,999000,3", "bid_px_1 -5"),
            ("34201,1,1,10,1000000,-1", "1000000,0,999500,7,1000500,5,999000,3", "ask_sz_1 is 0"),
        ];
        for (msg, book, needle) in cases {
            let before = d.clone();
            let mut out = Vec::new();
            let err = d.decode(msg, Some(book), &mut out).expect_err(msg);
            assert!(err.contains(needle), "{msg:?} / {book:?}: {err:?} lacks {needle:?}");
            assert!(out.is_empty(), "{msg:?}: events pushed before the error");
            assert_eq!(d, before, "{msg:?}: state changed by a failed row");
        }
        let err = d.decode("34200,1,1,10,1000000,-1", None, &mut Vec::new()).unwrap_err();
        assert!(err.contains("orderbook file"), "{err}");
    }

    /// An error in the orderbook row says so (the shell then names the orderbook
    /// file); one in the message row does not.
    #[test]
    fn errors_say_which_file_of_the_pair() {
        let mut d = started();
        let mut out = Vec::new();
        let book =
            d.decode_located("34201,1,1,10,1000000,-1", Some("1000000,10,999500,x7,1000500,5,999000,3"), &mut out);
        assert_eq!(book, Err(DecodeError { message: "bid_sz_1 \"x7\" is not an integer".into(), in_paired: true }));
        let msg = d.decode_located("34201,1,1,10,-1000000,-1", Some(BOOK), &mut out).unwrap_err();
        assert!(!msg.in_paired && msg.message.contains("price -1000000"), "{msg:?}");
        let both = d.decode_located("34201,9,1,10,1000000,-1", Some("x"), &mut out).unwrap_err();
        assert!(!both.in_paired && both.message.contains("type 9"), "{both:?}");
        assert!(out.is_empty());
        assert_eq!(d, started(), "a failed row leaves the state as it was");
    }

    #[test]
    fn garbage_never_panics() {
        let mut d = started();
        for line in ["", ",,,,,", "\u{feff}", "1,1,1,1,1,1,1,1", "99999999999999999999,1,1,1,1,1", "1.,1,1,1,1,1"] {
            let _ = d.decode(line, Some(line), &mut Vec::new());
            let _ = d.decode(line, Some(BOOK), &mut Vec::new());
            let _ = looks_like_message(line);
            let _ = looks_like_orderbook(line);
        }
        let _ = d.decode("1,1,1,1,9999999998,1", Some("9999999998,1,9999999997,1"), &mut Vec::new());
    }

    #[test]
    fn sniffing() {
        assert!(looks_like_message("34200.017459617,5,0,1,2238200,-1"));
        assert!(looks_like_message("\u{feff}34200.18960767,1,11885113,21,2238100,1"));
        assert!(!looks_like_message("34200.1,1,1,21,2238100"));
        assert!(!looks_like_message("34200.1,1,1,21.5,2238100,1"));
        assert!(!looks_like_message("2239500,100,2231800,100"));
        assert!(looks_like_orderbook("2239500,100,2231800,100"));
        assert!(looks_like_orderbook("2239500,100,2231800,100,9999999999,0,-9999999999,0"));
        assert!(!looks_like_orderbook("2239500,100,2231800"));
        assert!(!looks_like_orderbook("34200.1,1,1,21"));
        assert!(!looks_like_orderbook(""));
    }

    #[test]
    fn state_round_trips_through_json() {
        let d = started();
        let json = serde_json::to_string(&d).unwrap();
        let back: LobsterDecoder = serde_json::from_str(&json).unwrap();
        assert_eq!(back, d);
    }

    #[test]
    fn finish_is_a_no_op() {
        let mut d = started();
        let mut out = Vec::new();
        assert!(d.finish(&mut out).is_ok());
        assert!(out.is_empty());
    }
}
