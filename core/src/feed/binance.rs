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

use super::{parse_price, parse_qty, Event, EventKind, LineDecoder, Side, TickSize};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::VecDeque;

/// At most this many depth diffs wait for a snapshot; older ones are dropped.
const MAX_BUFFERED_DIFFS: usize = 10_000;

/// `true` for a capture line: ASCII digits, one space, then `{`.
pub fn looks_like(line: &str) -> bool {
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && line.as_bytes().get(digits) == Some(&b' ') && line.as_bytes().get(digits + 1) == Some(&b'{')
}

/// One depth diff, kept while it waits for a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Diff {
    /// First update id (`U`).
    first: u64,
    /// Final update id (`u`).
    last: u64,
    /// Previous final update id (`pu`, futures only).
    prev: Option<u64>,
    exch_ns: i64,
    local_ns: i64,
    levels: Vec<(Side, i64, f64)>,
}

impl Diff {
    fn is_futures(&self) -> bool {
        self.prev.is_some()
    }
}

/// Where the depth-diff chain stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Depth {
    /// No usable snapshot yet (the start, or after a chain break): diffs wait.
    /// `unbridged` is `(U, u)` of the first diff that arrived in this state.
    Buffering { buffer: VecDeque<Diff>, unbridged: Option<(u64, u64)> },
    /// A snapshot was applied; the next non-stale diff must bridge it. `stale` is
    /// `(U, u)` of the last diff dropped as older than the snapshot.
    Bridging { last_update_id: u64, stale: Option<(u64, u64)> },
    /// In sync; `last` is the previous diff's `u`.
    Synced { last: u64 },
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

    /// The exchange time of a message: `T`, else `E`, else local time plus the
    /// last seen offset. Updates the offset when the message has a time.
    fn exch_time(&mut self, d: &Map<String, Value>, what: &str, local_ns: i64) -> Result<i64, String> {
        let t = match opt_ms(d, what, "T")? {
            Some(t) => Some(t),
            None => opt_ms(d, what, "E")?,
        };
        Ok(self.stamp(t, local_ns))
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

    fn check_symbol(&mut self, d: &Map<String, Value>, what: &str) -> Result<(), String> {
        let Some(v) = d.get("s") else { return Ok(()) };
        let Some(s) = v.as_str() else {
            return Err(format!("field `s` (symbol) of {what}: {} is not a string", show(v)));
        };
        match &self.symbol {
            None => {
                self.symbol = Some(s.to_string());
                Ok(())
            }
            Some(first) if first == s => Ok(()),
            Some(first) => Err(format!(
                "field `s` (symbol) of {what}: {s:?} differs from {first:?} seen earlier; one stream holds one symbol"
            )),
        }
    }

    fn trade(&mut self, d: &Map<String, Value>, agg: bool, local_ns: i64, out: &mut Vec<Event>) -> Result<(), String> {
        let (what, id_key) = if agg { ("aggTrade", "a") } else { ("trade", "t") };
        self.check_symbol(d, what)?;
        let id = get_u64(d, what, id_key)?;
        let price = get_price(d, what, "p", self.tick)?;
        let qty = get_qty(d, what, "q")?;
        let maker_is_buyer = match field(d, what, "m")? {
            Value::Bool(b) => *b,
            v => return Err(format!("field `m` (buyer is maker) of {what}: {} is not a boolean", show(v))),
        };
        let exch_ns = self.exch_time(d, what, local_ns)?;
        self.push_trade(agg, id, price, qty, maker_is_buyer, exch_ns, local_ns, out);
        Ok(())
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

    fn quote(&mut self, d: &Map<String, Value>, local_ns: i64, out: &mut Vec<Event>) -> Result<(), String> {
        let what = "bookTicker";
        self.check_symbol(d, what)?;
        let bid_px = get_price(d, what, "b", self.tick)?;
        let bid_qty = get_qty(d, what, "B")?;
        let ask_px = get_price(d, what, "a", self.tick)?;
        let ask_qty = get_qty(d, what, "A")?;
        let exch_ns = self.exch_time(d, what, local_ns)?;
        push_quote([bid_px, ask_px], [bid_qty, ask_qty], exch_ns, local_ns, out);
        Ok(())
    }

    fn depth_update(&mut self, d: &Map<String, Value>, local_ns: i64, out: &mut Vec<Event>) -> Result<(), String> {
        let what = "depthUpdate";
        self.check_symbol(d, what)?;
        let first = get_u64(d, what, "U")?;
        let last = get_u64(d, what, "u")?;
        let prev = match d.get("pu") {
            None | Some(Value::Null) => None,
            Some(_) => Some(get_u64(d, what, "pu")?),
        };
        if first > last {
            return Err(format!("field `U` of {what}: {first} is greater than `u` {last}"));
        }
        let mut levels = Vec::new();
        get_levels(d, what, "b", Side::Buy, self.tick, &mut levels)?;
        get_levels(d, what, "a", Side::Sell, self.tick, &mut levels)?;
        let exch_ns = self.exch_time(d, what, local_ns)?;
        self.apply_diff(Diff { first, last, prev, exch_ns, local_ns, levels }, None, out)
    }

    /// Runs one diff through the sync state machine. `stamp` overrides the
    /// diff's own times (buffered diffs replayed at a snapshot).
    fn apply_diff(&mut self, diff: Diff, stamp: Option<(i64, i64)>, out: &mut Vec<Event>) -> Result<(), String> {
        let (exch_ns, local_ns) = stamp.unwrap_or((diff.exch_ns, diff.local_ns));
        let emit = |diff: &Diff, out: &mut Vec<Event>| {
            out.extend(diff.levels.iter().map(|&(side, price, qty)| Event {
                exch_ns,
                local_ns,
                kind: EventKind::Level { side, price, qty },
            }));
        };
        match &mut self.depth {
            Depth::Buffering { buffer, unbridged } => {
                unbridged.get_or_insert((diff.first, diff.last));
                if buffer.len() >= MAX_BUFFERED_DIFFS {
                    buffer.pop_front();
                }
                buffer.push_back(diff);
            }
            Depth::Bridging { last_update_id, stale } => {
                let id = *last_update_id;
                let futures = diff.is_futures();
                let is_stale = if futures { diff.last < id } else { diff.last <= id };
                if is_stale {
                    *stale = Some((diff.first, diff.last));
                    return Ok(());
                }
                let (bridges, rule) = if futures {
                    (diff.first <= id && id <= diff.last, "U <= lastUpdateId <= u (USDⓈ-M futures)")
                } else {
                    let next = id.saturating_add(1);
                    (diff.first <= next && next <= diff.last, "U <= lastUpdateId+1 <= u (spot)")
                };
                if !bridges {
                    return Err(format!(
                        "depth snapshot lastUpdateId {id} is not bridged by the first diff after it \
                         (U {}, u {}); Binance requires {rule}",
                        diff.first, diff.last
                    ));
                }
                emit(&diff, out);
                self.depth = Depth::Synced { last: diff.last };
            }
            Depth::Synced { last } => {
                let chained = match diff.prev {
                    Some(pu) => pu == *last,
                    None => last.checked_add(1) == Some(diff.first),
                };
                if chained {
                    emit(&diff, out);
                    *last = diff.last;
                } else {
                    out.push(Event { exch_ns, local_ns, kind: EventKind::SequenceGap { book: true } });
                    let unbridged = Some((diff.first, diff.last));
                    self.depth = Depth::Buffering { buffer: VecDeque::from([diff]), unbridged };
                }
            }
        }
        Ok(())
    }

    fn snapshot(&mut self, d: &Map<String, Value>, local_ns: i64, out: &mut Vec<Event>) -> Result<(), String> {
        let what = "depth snapshot";
        let last_update_id = get_u64(d, what, "lastUpdateId")?;
        let mut levels = Vec::new();
        get_levels(d, what, "bids", Side::Buy, self.tick, &mut levels)?;
        get_levels(d, what, "asks", Side::Sell, self.tick, &mut levels)?;
        let exch_ns = self.exch_time(d, what, local_ns)?;
        self.load_snapshot(last_update_id, levels, exch_ns, local_ns, out)
    }

    /// A snapshot's levels (bids, then asks) into the book's sync state machine.
    fn load_snapshot(
        &mut self,
        last_update_id: u64,
        levels: Vec<(Side, i64, f64)>,
        exch_ns: i64,
        local_ns: i64,
        out: &mut Vec<Event>,
    ) -> Result<(), String> {
        let buffered = match &mut self.depth {
            Depth::Synced { .. } => return Ok(()),
            Depth::Bridging { .. } => VecDeque::new(),
            Depth::Buffering { buffer, .. } => std::mem::take(buffer),
        };
        out.push(Event { exch_ns, local_ns, kind: EventKind::Clear });
        out.extend(levels.into_iter().map(|(side, price, qty)| Event {
            exch_ns,
            local_ns,
            kind: EventKind::Level { side, price, qty },
        }));
        self.depth = Depth::Bridging { last_update_id, stale: None };
        for diff in buffered {
            self.apply_diff(diff, Some((exch_ns, local_ns)), out)?;
        }
        Ok(())
    }
}

/// The fast path: a line read straight into borrowed fields ([`fast`]) instead of
/// a `serde_json::Value` tree. Each step mirrors the `Value` path above; `None`
/// (nothing touched, nothing emitted) whenever that path might end otherwise —
/// any error, an escaped string, a number sent as a number where Binance sends a
/// string, a duplicate key, a field of an unexpected type — and the line is then
/// decoded the `Value` way, errors and all.
impl BinanceDecoder {
    fn decode_fast(&mut self, json: &str, local_ns: i64, out: &mut Vec<Event>) -> Option<Result<(), String>> {
        use fast::Val;
        let top: fast::Top = serde_json::from_str(json).ok()?;
        let (stream, d) = match top.data {
            Some(d) => (if let Some(Val::Str(s)) = top.stream { Some(s) } else { None }, d),
            None if top.own.last_update_id.is_some() => return self.fast_snapshot(&top.own, local_ns, out),
            None => (None, top.own),
        };
        let stream_kind = stream.and_then(|s| s.split('@').nth(1));
        let e = if let Some(Val::Str(e)) = d.e { Some(e) } else { None };
        match e {
            Some("trade") => self.fast_trade(&d, false, local_ns, out),
            Some("aggTrade") => self.fast_trade(&d, true, local_ns, out),
            Some("bookTicker") => self.fast_quote(&d, local_ns, out),
            Some("depthUpdate") if matches!(stream_kind, None | Some("depth")) => self.fast_depth(&d, local_ns, out),
            Some(_) => Some(Ok(())),
            None if stream_kind == Some("bookTicker")
                || (stream.is_none() && [&d.u, &d.s, &d.b, &d.b_qty, &d.a, &d.a_qty].iter().all(|f| f.is_some())) =>
            {
                self.fast_quote(&d, local_ns, out)
            }
            None => Some(Ok(())),
        }
    }

    /// The symbol check of [`Self::check_symbol`], without recording the symbol.
    fn fast_symbol<'a>(&self, d: &fast::Obj<'a>) -> Option<Option<&'a str>> {
        match d.s {
            None => Some(None),
            Some(fast::Val::Str(s)) => match &self.symbol {
                Some(first) if first != s => None,
                _ => Some(Some(s)),
            },
            Some(_) => None,
        }
    }

    fn keep_symbol(&mut self, s: Option<&str>) {
        if let (Some(s), None) = (s, &self.symbol) {
            self.symbol = Some(s.to_string());
        }
    }

    fn fast_trade(
        &mut self,
        d: &fast::Obj,
        agg: bool,
        local_ns: i64,
        out: &mut Vec<Event>,
    ) -> Option<Result<(), String>> {
        let symbol = self.fast_symbol(d)?;
        let id = fast::u64_of(if agg { &d.a } else { &d.t })?;
        let price = fast::price_of(&d.p, self.tick)?;
        let qty = fast::qty_of(&d.q)?;
        let Some(fast::Val::Bool(maker_is_buyer)) = d.m else { return None };
        let t = fast::time_of(d)?;
        self.keep_symbol(symbol);
        let exch_ns = self.stamp(t, local_ns);
        self.push_trade(agg, id, price, qty, maker_is_buyer, exch_ns, local_ns, out);
        Some(Ok(()))
    }

    fn fast_quote(&mut self, d: &fast::Obj, local_ns: i64, out: &mut Vec<Event>) -> Option<Result<(), String>> {
        let symbol = self.fast_symbol(d)?;
        let bid_px = fast::price_of(&d.b, self.tick)?;
        let bid_qty = fast::qty_of(&d.b_qty)?;
        let ask_px = fast::price_of(&d.a, self.tick)?;
        let ask_qty = fast::qty_of(&d.a_qty)?;
        let t = fast::time_of(d)?;
        self.keep_symbol(symbol);
        let exch_ns = self.stamp(t, local_ns);
        push_quote([bid_px, ask_px], [bid_qty, ask_qty], exch_ns, local_ns, out);
        Some(Ok(()))
    }

    fn fast_depth(&mut self, d: &fast::Obj, local_ns: i64, out: &mut Vec<Event>) -> Option<Result<(), String>> {
        let symbol = self.fast_symbol(d)?;
        let first = fast::u64_of(&d.first)?;
        let last = fast::u64_of(&d.u)?;
        let prev = match d.pu {
            None | Some(fast::Val::Null) => None,
            Some(fast::Val::U64(pu)) => Some(pu),
            Some(_) => return None,
        };
        if first > last {
            return None;
        }
        let mut levels = Vec::new();
        fast::levels_of(&d.b, Side::Buy, self.tick, &mut levels)?;
        fast::levels_of(&d.a, Side::Sell, self.tick, &mut levels)?;
        let t = fast::time_of(d)?;
        self.keep_symbol(symbol);
        let exch_ns = self.stamp(t, local_ns);
        Some(self.apply_diff(Diff { first, last, prev, exch_ns, local_ns, levels }, None, out))
    }

    fn fast_snapshot(&mut self, d: &fast::Obj, local_ns: i64, out: &mut Vec<Event>) -> Option<Result<(), String>> {
        let last_update_id = fast::u64_of(&d.last_update_id)?;
        let mut levels = Vec::new();
        fast::levels_of(&d.bids, Side::Buy, self.tick, &mut levels)?;
        fast::levels_of(&d.asks, Side::Sell, self.tick, &mut levels)?;
        let t = fast::time_of(d)?;
        let exch_ns = self.stamp(t, local_ns);
        Some(self.load_snapshot(last_update_id, levels, exch_ns, local_ns, out))
    }
}

/// Binance messages read with borrowed strings and no `Value` tree. Every value
/// goes through `deserialize_any`, as a `Value` would, so exactly the same text
/// parses; a value of a kind not listed in [`Val`] fails the whole parse (and the
/// line takes the `Value` path).
mod fast {
    use std::fmt;

    use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

    use super::{parse_price, parse_qty, Side, TickSize};

    /// A value as Binance sends it in the fields read here.
    pub enum Val<'a> {
        Null,
        U64(u64),
        Bool(bool),
        /// A string without escapes.
        Str(&'a str),
        /// `[[string, string], …]`: price levels.
        Pairs(Vec<(&'a str, &'a str)>),
    }

    /// The fields read of one message object; other keys are parsed and dropped.
    #[derive(Default)]
    pub struct Obj<'a> {
        pub e: Option<Val<'a>>,
        /// `E`, event time (ms).
        pub event_ms: Option<Val<'a>>,
        /// `T`, transaction time (ms).
        pub trans_ms: Option<Val<'a>>,
        pub s: Option<Val<'a>>,
        pub t: Option<Val<'a>>,
        pub a: Option<Val<'a>>,
        pub b: Option<Val<'a>>,
        pub p: Option<Val<'a>>,
        pub q: Option<Val<'a>>,
        pub m: Option<Val<'a>>,
        /// `U`.
        pub first: Option<Val<'a>>,
        pub u: Option<Val<'a>>,
        pub pu: Option<Val<'a>>,
        /// `B`.
        pub b_qty: Option<Val<'a>>,
        /// `A`.
        pub a_qty: Option<Val<'a>>,
        pub last_update_id: Option<Val<'a>>,
        pub bids: Option<Val<'a>>,
        pub asks: Option<Val<'a>>,
    }

    /// A whole line: the combined-stream envelope's `stream` and `data`, and the
    /// object's own fields (a bare event or a REST snapshot).
    pub struct Top<'a> {
        pub stream: Option<Val<'a>>,
        pub data: Option<Obj<'a>>,
        pub own: Obj<'a>,
    }

    pub fn u64_of(v: &Option<Val>) -> Option<u64> {
        match v {
            Some(Val::U64(x)) => Some(*x),
            _ => None,
        }
    }

    fn str_of<'a>(v: &Option<Val<'a>>) -> Option<&'a str> {
        match v {
            Some(Val::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// As `parse_price_value`: a positive decimal price, in ticks.
    fn price(s: &str, tick: TickSize) -> Option<i64> {
        parse_price(s, tick).ok()
    }

    pub fn price_of(v: &Option<Val>, tick: TickSize) -> Option<i64> {
        price(str_of(v)?, tick)
    }

    pub fn qty_of(v: &Option<Val>) -> Option<f64> {
        parse_qty(str_of(v)?).ok()
    }

    /// As `opt_ms`: absent or null is `Some(None)`.
    fn ms_of(v: &Option<Val>) -> Option<Option<i64>> {
        match v {
            None | Some(Val::Null) => Some(None),
            Some(Val::U64(ms)) => crate::feed::mul_const(i64::try_from(*ms).ok()?, 1_000_000).map(Some),
            Some(_) => None,
        }
    }

    /// As `exch_time`'s reading: `T`, else `E`.
    pub fn time_of(d: &Obj) -> Option<Option<i64>> {
        match ms_of(&d.trans_ms)? {
            Some(t) => Some(Some(t)),
            None => ms_of(&d.event_ms),
        }
    }

    /// As `get_levels`.
    pub fn levels_of(v: &Option<Val>, side: Side, tick: TickSize, out: &mut Vec<(Side, i64, f64)>) -> Option<()> {
        let Some(Val::Pairs(pairs)) = v else { return None };
        out.reserve(pairs.len());
        for &(p, q) in pairs {
            out.push((side, price(p, tick)?, parse_qty(q).ok()?));
        }
        Some(())
    }

    fn slot<'de, A: MapAccess<'de>>(slot: &mut Option<Val<'de>>, map: &mut A) -> Result<(), A::Error> {
        if slot.is_some() {
            return Err(de::Error::custom("duplicate key"));
        }
        *slot = Some(map.next_value()?);
        Ok(())
    }

    impl<'de> Obj<'de> {
        fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
            let s = match key {
                "e" => &mut self.e,
                "E" => &mut self.event_ms,
                "T" => &mut self.trans_ms,
                "s" => &mut self.s,
                "t" => &mut self.t,
                "a" => &mut self.a,
                "b" => &mut self.b,
                "p" => &mut self.p,
                "q" => &mut self.q,
                "m" => &mut self.m,
                "U" => &mut self.first,
                "u" => &mut self.u,
                "pu" => &mut self.pu,
                "B" => &mut self.b_qty,
                "A" => &mut self.a_qty,
                "lastUpdateId" => &mut self.last_update_id,
                "bids" => &mut self.bids,
                "asks" => &mut self.asks,
                _ => {
                    map.next_value::<Any>()?;
                    return Ok(());
                }
            };
            slot(s, map)
        }
    }

    impl<'de> Deserialize<'de> for Val<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(ValVisitor)
        }
    }

    struct ValVisitor;

    impl<'de> Visitor<'de> for ValVisitor {
        type Value = Val<'de>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("null, an unsigned integer, a boolean, an unescaped string or [[string, string], …]")
        }

        fn visit_unit<E>(self) -> Result<Val<'de>, E> {
            Ok(Val::Null)
        }

        fn visit_u64<E>(self, v: u64) -> Result<Val<'de>, E> {
            Ok(Val::U64(v))
        }

        fn visit_bool<E>(self, v: bool) -> Result<Val<'de>, E> {
            Ok(Val::Bool(v))
        }

        fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Val<'de>, E> {
            Ok(Val::Str(v))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Val<'de>, A::Error> {
            let mut pairs = Vec::new();
            while let Some(Pair(p, q)) = seq.next_element()? {
                pairs.push((p, q));
            }
            Ok(Val::Pairs(pairs))
        }
    }

    /// `[string, string]`, exactly.
    struct Pair<'a>(&'a str, &'a str);

    impl<'de> Deserialize<'de> for Pair<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(PairVisitor)
        }
    }

    struct PairVisitor;

    impl<'de> Visitor<'de> for PairVisitor {
        type Value = Pair<'de>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("[string, string]")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Pair<'de>, A::Error> {
            let short = || de::Error::custom("not a pair");
            let p: &str = seq.next_element()?.ok_or_else(short)?;
            let q: &str = seq.next_element()?.ok_or_else(short)?;
            if seq.next_element::<Any>()?.is_some() {
                return Err(short());
            }
            Ok(Pair(p, q))
        }
    }

    /// Any JSON value, parsed as strictly as a `Value` is (`deserialize_any`, not
    /// `IgnoredAny`'s lenient skipping) and dropped.
    struct Any;

    impl<'de> Deserialize<'de> for Any {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(AnyVisitor)
        }
    }

    struct AnyVisitor;

    impl<'de> Visitor<'de> for AnyVisitor {
        type Value = Any;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("any JSON value")
        }

        fn visit_bool<E>(self, _: bool) -> Result<Any, E> {
            Ok(Any)
        }

        fn visit_i64<E>(self, _: i64) -> Result<Any, E> {
            Ok(Any)
        }

        fn visit_u64<E>(self, _: u64) -> Result<Any, E> {
            Ok(Any)
        }

        fn visit_f64<E>(self, _: f64) -> Result<Any, E> {
            Ok(Any)
        }

        fn visit_str<E>(self, _: &str) -> Result<Any, E> {
            Ok(Any)
        }

        fn visit_unit<E>(self) -> Result<Any, E> {
            Ok(Any)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Any, A::Error> {
            while seq.next_element::<Any>()?.is_some() {}
            Ok(Any)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Any, A::Error> {
            while map.next_entry::<Any, Any>()?.is_some() {}
            Ok(Any)
        }
    }

    impl<'de> Deserialize<'de> for Obj<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(ObjVisitor)
        }
    }

    struct ObjVisitor;

    impl<'de> Visitor<'de> for ObjVisitor {
        type Value = Obj<'de>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Obj<'de>, A::Error> {
            let mut o = Obj::default();
            while let Some(key) = map.next_key::<&'de str>()? {
                o.field(key, &mut map)?;
            }
            Ok(o)
        }
    }

    impl<'de> Deserialize<'de> for Top<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(TopVisitor)
        }
    }

    struct TopVisitor;

    impl<'de> Visitor<'de> for TopVisitor {
        type Value = Top<'de>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top<'de>, A::Error> {
            let mut top = Top { stream: None, data: None, own: Obj::default() };
            while let Some(key) = map.next_key::<&'de str>()? {
                match key {
                    "stream" => slot(&mut top.stream, &mut map)?,
                    "data" => {
                        if top.data.is_some() {
                            return Err(de::Error::custom("duplicate key"));
                        }
                        top.data = Some(map.next_value()?);
                    }
                    _ => top.own.field(key, &mut map)?,
                }
            }
            Ok(top)
        }
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
                "the depth snapshot (lastUpdateId {last_update_id}) was never bridged: every diff after it is older                  (last: U {first}, u {last})"
            )),
            _ => Ok(()),
        }
    }
}

impl BinanceDecoder {
    /// One message through a `serde_json::Value` (the reference path, and the one
    /// that words every error).
    fn decode_value(&mut self, json: &str, local_ns: i64, out: &mut Vec<Event>) -> Result<(), String> {
        let value: Value = serde_json::from_str(json).map_err(|e| format!("invalid JSON ({e}): {}", short(json)))?;
        let Value::Object(obj) = value else {
            return Err(format!("JSON is not an object: {}", short(json)));
        };
        let (stream, data) = match obj.get("data") {
            Some(data) => {
                let stream = obj.get("stream").and_then(Value::as_str);
                match data {
                    Value::Object(d) => (stream, d),
                    v => return Err(format!("field `data` is not an object: {}", show(v))),
                }
            }
            None if obj.contains_key("lastUpdateId") => return self.snapshot(&obj, local_ns, out),
            None => (None, &obj),
        };
        // The stream's kind: `btcusdt@depth@0ms` → `depth`.
        let stream_kind = stream.and_then(|s| s.split('@').nth(1));
        match data.get("e").and_then(Value::as_str) {
            Some("trade") => self.trade(data, false, local_ns, out),
            Some("aggTrade") => self.trade(data, true, local_ns, out),
            Some("bookTicker") => self.quote(data, local_ns, out),
            Some("depthUpdate") if matches!(stream_kind, None | Some("depth")) => {
                self.depth_update(data, local_ns, out)
            }
            Some(_) => Ok(()),
            // Spot bookTicker has no `e`.
            None if stream_kind == Some("bookTicker")
                || (stream.is_none() && ["u", "s", "b", "B", "a", "A"].iter().all(|k| data.contains_key(*k))) =>
            {
                self.quote(data, local_ns, out)
            }
            None => Ok(()),
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

/// A JSON value for an error message, as JSON (strings keep their quotes),
/// cut to a readable length.
fn show(v: &Value) -> String {
    const MAX: usize = 80;
    let s = v.to_string();
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s,
    }
}

fn field<'a>(d: &'a Map<String, Value>, what: &str, key: &str) -> Result<&'a Value, String> {
    d.get(key).ok_or_else(|| format!("{what} has no field `{key}`"))
}

fn get_u64(d: &Map<String, Value>, what: &str, key: &str) -> Result<u64, String> {
    let v = field(d, what, key)?;
    v.as_u64().ok_or_else(|| format!("field `{key}` of {what}: {} is not a non-negative integer", show(v)))
}

/// An optional millisecond time field, in ns.
fn opt_ms(d: &Map<String, Value>, what: &str, key: &str) -> Result<Option<i64>, String> {
    match d.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|ms| i64::try_from(ms).ok())
            .and_then(|ms| crate::feed::mul_const(ms, 1_000_000))
            .map(Some)
            .ok_or_else(|| format!("field `{key}` (time, ms) of {what}: {} is not a valid time", show(v))),
    }
}

/// A decimal given as a JSON string (Binance's way) or number.
fn decimal_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn parse_price_value(v: &Value, tick: TickSize) -> Result<i64, String> {
    let s = decimal_text(v).ok_or_else(|| format!("{} is not a decimal", show(v)))?;
    parse_price(&s, tick)
}

fn parse_qty_value(v: &Value) -> Result<f64, String> {
    let s = decimal_text(v).ok_or_else(|| format!("{} is not a decimal", show(v)))?;
    parse_qty(&s)
}

fn get_price(d: &Map<String, Value>, what: &str, key: &str, tick: TickSize) -> Result<i64, String> {
    parse_price_value(field(d, what, key)?, tick).map_err(|e| format!("field `{key}` (price) of {what}: {e}"))
}

fn get_qty(d: &Map<String, Value>, what: &str, key: &str) -> Result<f64, String> {
    parse_qty_value(field(d, what, key)?).map_err(|e| format!("field `{key}` (quantity) of {what}: {e}"))
}

/// Reads `[[price, qty], …]` into `(side, ticks, qty)` levels.
fn get_levels(
    d: &Map<String, Value>,
    what: &str,
    key: &str,
    side: Side,
    tick: TickSize,
    out: &mut Vec<(Side, i64, f64)>,
) -> Result<(), String> {
    let Value::Array(levels) = field(d, what, key)? else {
        return Err(format!("field `{key}` of {what} is not an array of [price, qty] pairs"));
    };
    out.reserve(levels.len());
    for (k, level) in levels.iter().enumerate() {
        let pair = match level {
            Value::Array(pair) if pair.len() >= 2 => pair,
            v => return Err(format!("field `{key}` of {what}: level {k} ({}) is not a [price, qty] pair", show(v))),
        };
        let price =
            parse_price_value(&pair[0], tick).map_err(|e| format!("field `{key}` of {what}: level {k} price: {e}"))?;
        let qty = parse_qty_value(&pair[1]).map_err(|e| format!("field `{key}` of {what}: level {k} quantity: {e}"))?;
        out.push((side, price, qty));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICK: TickSize = TickSize(10_000_000); // 0.1

    fn run(dec: &mut BinanceDecoder, line: &str) -> Vec<Event> {
        let mut out = Vec::new();
        dec.decode(line, None, &mut out).unwrap_or_else(|e| panic!("{line}: {e}"));
        out
    }

    fn err(dec: &mut BinanceDecoder, line: &str) -> String {
        let mut out = Vec::new();
        match dec.decode(line, None, &mut out) {
            Ok(()) => panic!("{line}: expected an error, got {out:?}"),
            Err(e) => e,
        }
    }

    /// A futures diff line: bid level `bid` (price, qty).
    fn fdiff(local: i64, t_ms: i64, first: u64, last: u64, pu: u64, bid: (&str, &str)) -> String {
        format!(
            r#"{local} {{"stream":"btcusdt@depth@0ms","data":{{"e":"depthUpdate","E":{e},"T":{t_ms},"s":"BTCUSDT","U":{first},"u":{last},"pu":{pu},"b":[["{}","{}"]],"a":[]}}}}"#,
            bid.0,
            bid.1,
            e = t_ms + 1
        )
    }

    fn sdiff(local: i64, e_ms: i64, first: u64, last: u64, ask: (&str, &str)) -> String {
        format!(
            r#"{local} {{"stream":"btcusdt@depth@100ms","data":{{"e":"depthUpdate","E":{e_ms},"s":"BTCUSDT","U":{first},"u":{last},"b":[],"a":[["{}","{}"]]}}}}"#,
            ask.0, ask.1
        )
    }

    fn fsnap(local: i64, t_ms: i64, id: u64) -> String {
        format!(
            r#"{local} {{"lastUpdateId":{id},"E":{},"T":{t_ms},"bids":[["100.0","1.5"]],"asks":[["100.1","2"]]}}"#,
            t_ms + 2
        )
    }

    fn ssnap(local: i64, id: u64) -> String {
        format!(r#"{local} {{"lastUpdateId":{id},"bids":[["100.0","1.5"]],"asks":[["100.1","2"]]}}"#)
    }

    fn level(exch_ns: i64, local_ns: i64, side: Side, price: i64, qty: f64) -> Event {
        Event { exch_ns, local_ns, kind: EventKind::Level { side, price, qty } }
    }

    fn snapshot_events(exch_ns: i64, local_ns: i64) -> Vec<Event> {
        vec![
            Event { exch_ns, local_ns, kind: EventKind::Clear },
            level(exch_ns, local_ns, Side::Buy, 1000, 1.5),
            level(exch_ns, local_ns, Side::Sell, 1001, 2.0),
        ]
    }

    const MS: i64 = 1_000_000;

    #[test]
    fn recognises_capture_lines() {
        assert!(looks_like(r#"1721347020984480942 {"stream":"x","data":{}}"#));
        assert!(looks_like("1 {"));
        assert!(!looks_like(" 1 {"));
        assert!(!looks_like("1721347020984480942,{"));
        assert!(!looks_like("1721347020984480942 ["));
        assert!(!looks_like("{\"stream\":1}"));
        assert!(!looks_like("123"));
        assert!(!looks_like(""));
    }

    #[test]
    fn futures_sync_with_late_snapshot() {
        let mut dec = BinanceDecoder::new(TICK);
        // Stale (u < lastUpdateId = 12), then the bridging diff, both before the snapshot.
        assert!(run(&mut dec, &fdiff(1_000, 5, 1, 9, 0, ("99.0", "1"))).is_empty());
        assert!(run(&mut dec, &fdiff(2_000, 6, 10, 15, 9, ("99.5", "0.000"))).is_empty());
        let out = run(&mut dec, &fsnap(3_000, 7, 12));
        let mut want = snapshot_events(7 * MS, 3_000);
        want.push(level(7 * MS, 3_000, Side::Buy, 995, 0.0)); // buffered: stamped with the snapshot's times
        assert_eq!(out, want);
        // Live diffs chain on pu and carry their own times (T, not E).
        assert_eq!(
            run(&mut dec, &fdiff(4_000, 8, 16, 20, 15, ("99.9", "3"))),
            vec![level(8 * MS, 4_000, Side::Buy, 999, 3.0)]
        );
        assert_eq!(dec.finish(&mut Vec::new()), Ok(()));
    }

    #[test]
    fn futures_boundaries_u_equal_to_last_update_id_is_kept() {
        let mut dec = BinanceDecoder::new(TICK);
        run(&mut dec, &fdiff(1_000, 5, 10, 12, 9, ("99.0", "1")));
        let out = run(&mut dec, &fsnap(3_000, 7, 12));
        assert_eq!(out.len(), 4, "u == lastUpdateId bridges for futures: {out:?}");
    }

    #[test]
    fn snapshot_before_any_diff_waits_for_the_bridge() {
        let mut dec = BinanceDecoder::new(TICK);
        assert_eq!(run(&mut dec, &fsnap(1_000, 1, 50)), snapshot_events(MS, 1_000));
        assert!(run(&mut dec, &fdiff(2_000, 2, 40, 49, 39, ("99.0", "1"))).is_empty(), "stale diff dropped");
        assert_eq!(run(&mut dec, &fdiff(3_000, 3, 45, 55, 49, ("99.0", "2"))).len(), 1);
        assert_eq!(run(&mut dec, &fdiff(4_000, 4, 56, 57, 55, ("99.0", "3"))).len(), 1);
        assert_eq!(dec.finish(&mut Vec::new()), Ok(()));
    }

    #[test]
    fn spot_sync_rules() {
        let mut dec = BinanceDecoder::new(TICK);
        // lastUpdateId 20: u <= 20 is stale; the bridge needs U <= 21 <= u.
        assert!(run(&mut dec, &sdiff(1_000, 1, 15, 20, ("101", "1"))).is_empty());
        assert!(run(&mut dec, &sdiff(2_000, 2, 21, 25, ("101.5", "2"))).is_empty());
        let out = run(&mut dec, &ssnap(3_000, 20));
        // Spot snapshots have no time: local plus the last offset (2 ms − 2,000 ns).
        let exch = 3_000 + (2 * MS - 2_000);
        let mut want = snapshot_events(exch, 3_000);
        want.push(level(exch, 3_000, Side::Sell, 1015, 2.0));
        assert_eq!(out, want);
        // Spot chains on U == previous u + 1; diffs use E.
        assert_eq!(
            run(&mut dec, &sdiff(4_000, 4, 26, 30, ("102", "0"))),
            vec![level(4 * MS, 4_000, Side::Sell, 1020, 0.0)]
        );
        let out = run(&mut dec, &sdiff(5_000, 5, 32, 33, ("102", "1")));
        assert_eq!(out, vec![Event { exch_ns: 5 * MS, local_ns: 5_000, kind: EventKind::SequenceGap { book: true } }]);
        let e = dec.finish(&mut Vec::new()).unwrap_err();
        assert!(e.contains("never bridged") && e.contains("U 32") && e.contains("u 33"), "{e}");
    }

    #[test]
    fn spot_snapshot_must_bridge_at_last_update_id_plus_one() {
        let mut dec = BinanceDecoder::new(TICK);
        run(&mut dec, &sdiff(1_000, 1, 22, 25, ("101", "1")));
        let e = err(&mut dec, &ssnap(2_000, 20));
        assert!(e.contains("lastUpdateId 20") && e.contains("U 22") && e.contains("u 25"), "{e}");
    }

    #[test]
    fn non_bridging_snapshot_is_an_error() {
        // Buffered diff past the snapshot.
        let mut dec = BinanceDecoder::new(TICK);
        run(&mut dec, &fdiff(1_000, 1, 20, 30, 19, ("99", "1")));
        let e = err(&mut dec, &fsnap(2_000, 2, 10));
        assert!(e.contains("lastUpdateId 10") && e.contains("U 20") && e.contains("u 30"), "{e}");
        // The next diff to arrive past the snapshot.
        let mut dec = BinanceDecoder::new(TICK);
        run(&mut dec, &fsnap(2_000, 2, 10));
        let e = err(&mut dec, &fdiff(3_000, 3, 11, 12, 10, ("99", "1")));
        assert!(e.contains("lastUpdateId 10") && e.contains("U 11") && e.contains("u 12"), "{e}");
    }

    #[test]
    fn chain_break_then_resync() {
        let mut dec = BinanceDecoder::new(TICK);
        run(&mut dec, &fdiff(1_000, 1, 1, 10, 0, ("99", "1")));
        run(&mut dec, &fsnap(2_000, 2, 5));
        assert_eq!(run(&mut dec, &fdiff(3_000, 3, 11, 20, 10, ("99", "2"))).len(), 1);
        // pu 25 != 20: the book is unknown until the next snapshot.
        let out = run(&mut dec, &fdiff(4_000, 4, 26, 30, 25, ("99", "3")));
        assert_eq!(out, vec![Event { exch_ns: 4 * MS, local_ns: 4_000, kind: EventKind::SequenceGap { book: true } }]);
        assert!(run(&mut dec, &fdiff(5_000, 5, 31, 40, 30, ("99", "4"))).is_empty(), "buffered");
        let e = dec.finish(&mut Vec::new()).unwrap_err();
        assert!(e.contains("U 26") && e.contains("u 30"), "{e}");
        // The resync snapshot: Clear, its levels, then the buffered diff that bridges (u 40 >= 35).
        let out = run(&mut dec, &fsnap(6_000, 6, 35));
        let mut want = snapshot_events(6 * MS, 6_000);
        want.push(level(6 * MS, 6_000, Side::Buy, 990, 4.0));
        assert_eq!(out, want);
        assert_eq!(run(&mut dec, &fdiff(7_000, 7, 41, 42, 40, ("99", "5"))).len(), 1);
        assert_eq!(dec.finish(&mut Vec::new()), Ok(()));
        // A snapshot while in sync is ignored.
        assert!(run(&mut dec, &fsnap(8_000, 8, 42)).is_empty());
        assert_eq!(run(&mut dec, &fdiff(9_000, 9, 43, 44, 42, ("99", "6"))).len(), 1);
    }

    #[test]
    fn chain_break_inside_the_buffer_is_a_gap() {
        let mut dec = BinanceDecoder::new(TICK);
        run(&mut dec, &fdiff(1_000, 1, 1, 10, 0, ("99", "1")));
        run(&mut dec, &fdiff(2_000, 2, 15, 20, 14, ("99", "2")));
        let out = run(&mut dec, &fsnap(3_000, 3, 5));
        assert_eq!(out.len(), 5, "{out:?}");
        assert_eq!(out[4].kind, EventKind::SequenceGap { book: true });
        assert!(dec.finish(&mut Vec::new()).unwrap_err().contains("U 15, u 20"));
    }

    #[test]
    fn finish_without_snapshot() {
        let mut dec = BinanceDecoder::new(TICK);
        assert_eq!(dec.finish(&mut Vec::new()), Ok(()), "no depth stream at all");
        run(&mut dec, &fdiff(1_000, 1, 7, 9, 6, ("99", "1")));
        run(&mut dec, &fdiff(2_000, 2, 10, 12, 9, ("99", "1")));
        let e = dec.finish(&mut Vec::new()).unwrap_err();
        assert_eq!(e, "the depth diffs were never bridged by a snapshot (first unbridged diff: U 7, u 9)");
    }

    #[test]
    fn buffer_is_bounded() {
        let mut dec = BinanceDecoder::new(TICK);
        for k in 0..(MAX_BUFFERED_DIFFS as u64 + 5) {
            run(&mut dec, &fdiff(1_000, 1, 2 * k + 1, 2 * k + 2, 2 * k, ("99", "1")));
        }
        match &dec.depth {
            Depth::Buffering { buffer, unbridged } => {
                assert_eq!(buffer.len(), MAX_BUFFERED_DIFFS);
                assert_eq!(buffer[0].first, 11);
                assert_eq!(*unbridged, Some((1, 2)));
            }
            d => panic!("{d:?}"),
        }
        // A snapshot needing a dropped diff no longer bridges.
        assert!(err(&mut dec, &fsnap(2_000, 2, 3)).contains("lastUpdateId 3"));
    }

    #[test]
    fn trades_aggressor_and_gaps() {
        let mut dec = BinanceDecoder::new(TICK);
        let trade = |local: i64, id: u64, m: bool| {
            format!(
                r#"{local} {{"stream":"btcusdt@trade","data":{{"e":"trade","E":{},"T":{},"s":"BTCUSDT","t":{id},"p":"63943.90","q":"0.003","X":"MARKET","m":{m}}}}}"#,
                local + 1,
                local
            )
        };
        let t =
            |aggressor| EventKind::Trade { aggressor: Some(aggressor), price: 639_439, qty: 0.003, maker_order: None };
        assert_eq!(run(&mut dec, &trade(1, 100, true)), vec![Event { exch_ns: MS, local_ns: 1, kind: t(Side::Sell) }]);
        assert_eq!(run(&mut dec, &trade(2, 101, false))[0].kind, t(Side::Buy));
        let out = run(&mut dec, &trade(3, 104, false));
        assert_eq!(
            out.iter().map(|e| e.kind).collect::<Vec<_>>(),
            vec![EventKind::SequenceGap { book: false }, t(Side::Buy)]
        );
        assert!(run(&mut dec, &trade(4, 104, false)).is_empty(), "duplicate id dropped");
        // aggTrade ids are their own sequence.
        let agg = r#"5 {"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":9,"a":7,"s":"BTCUSDT","p":"1.0","q":"2","f":1,"l":2,"T":8,"m":false}}"#;
        assert_eq!(
            run(&mut dec, agg),
            vec![Event {
                exch_ns: 8 * MS,
                local_ns: 5,
                kind: EventKind::Trade { aggressor: Some(Side::Buy), price: 10, qty: 2.0, maker_order: None }
            }]
        );
        assert_eq!(dec.finish(&mut Vec::new()), Ok(()));
    }

    #[test]
    fn book_ticker_times() {
        let mut dec = BinanceDecoder::new(TICK);
        let spot = |local: i64| {
            format!(
                r#"{local} {{"stream":"btcusdt@bookTicker","data":{{"u":400900217,"s":"BTCUSDT","b":"63943.90","B":"46.371","a":"63944.00","A":"0.000"}}}}"#
            )
        };
        let quote = EventKind::Quote { bid: Some((639_439, 46.371)), ask: None };
        // No exchange time seen yet: local time.
        assert_eq!(
            run(&mut dec, &spot(1_000_000)),
            vec![Event { exch_ns: 1_000_000, local_ns: 1_000_000, kind: quote }]
        );
        // A trade 1.5 s ahead of the recorder's clock sets the offset.
        let trade = r#"2000000 {"stream":"btcusdt@trade","data":{"e":"trade","E":1502,"T":1502,"s":"BTCUSDT","t":1,"p":"1","q":"1","m":true,"M":true}}"#;
        run(&mut dec, trade);
        assert_eq!(run(&mut dec, &spot(3_000_000))[0].exch_ns, 3_000_000 + 1_500_000_000);
        // A bare spot bookTicker without the envelope.
        let bare = r#"4000000 {"u":1,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"}"#;
        assert_eq!(run(&mut dec, bare)[0].exch_ns, 1_504_000_000);
        // Futures bookTicker: T.
        let fut = r#"5 {"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":1,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1","T":7,"E":8}}"#;
        assert_eq!(
            run(&mut dec, fut),
            vec![Event {
                exch_ns: 7 * MS,
                local_ns: 5,
                kind: EventKind::Quote { bid: Some((10, 1.0)), ask: Some((20, 1.0)) }
            }]
        );
    }

    #[test]
    fn unknown_streams_are_skipped() {
        let mut dec = BinanceDecoder::new(TICK);
        for line in [
            r#"1 {"stream":"btcusdt@markPrice","data":{"e":"markPriceUpdate","E":1,"s":"BTCUSDT","p":"1"}}"#,
            r#"1 {"result":null,"id":1}"#,
            // A partial-book stream is a top-N picture, not a diff.
            r#"1 {"stream":"btcusdt@depth5@100ms","data":{"e":"depthUpdate","E":1,"T":1,"s":"BTCUSDT","U":1,"u":2,"pu":0,"b":[],"a":[]}}"#,
            r#"1 {"stream":"btcusdt@depth20","data":{"lastUpdateId":5,"bids":[],"asks":[]}}"#,
            "",
            "\r",
        ] {
            assert!(run(&mut dec, line).is_empty(), "{line}");
        }
        assert_eq!(dec, BinanceDecoder::new(TICK));
        assert_eq!(dec.finish(&mut Vec::new()), Ok(()));
    }

    #[test]
    fn errors_name_the_field_and_value() {
        let mut dec = BinanceDecoder::new(TICK);
        let cases = [
            ("17213 {\"stream\":", "invalid JSON"),
            ("nonsense", "expected `<local receive time ns> <json>`"),
            ("-5 {}", "local receive time \"-5\""),
            ("12a {}", "local receive time \"12a\""),
            ("1 [1,2]", "JSON is not an object"),
            (r#"1 {"stream":"x@trade","data":5}"#, "field `data`"),
            (
                r#"1 {"stream":"x@trade","data":{"e":"trade","T":1,"t":1,"p":"abc","q":"1","m":true}}"#,
                "field `p` (price) of trade: \"abc\"",
            ),
            (
                r#"1 {"stream":"x@trade","data":{"e":"trade","T":1,"t":1,"p":"-1","q":"1","m":true}}"#,
                "field `p` (price) of trade: \"-1\" is not a positive price",
            ),
            (
                r#"1 {"stream":"x@trade","data":{"e":"trade","T":1,"t":1,"p":"0.0","q":"1","m":true}}"#,
                "field `p` (price) of trade: \"0.0\" is not a positive price",
            ),
            (
                r#"1 {"stream":"x@bookTicker","data":{"e":"bookTicker","b":"0","B":"1","a":"2","A":"1"}}"#,
                "field `b` (price) of bookTicker: \"0\" is not a positive price",
            ),
            (
                r#"1 {"stream":"x@bookTicker","data":{"e":"bookTicker","b":"1","B":"1","a":"-2","A":"1"}}"#,
                "field `a` (price) of bookTicker: \"-2\" is not a positive price",
            ),
            (
                r#"1 {"stream":"x@depth","data":{"e":"depthUpdate","E":1,"U":1,"u":2,"b":[["-5","1"]],"a":[]}}"#,
                "field `b` of depthUpdate: level 0 price: \"-5\" is not a positive price",
            ),
            (r#"1 {"stream":"x@trade","data":{"e":"trade","T":1,"p":"1","q":"1","m":true}}"#, "trade has no field `t`"),
            (
                r#"1 {"stream":"x@trade","data":{"e":"trade","T":1,"t":-3,"p":"1","q":"1","m":true}}"#,
                "field `t` of trade: -3",
            ),
            (
                r#"1 {"stream":"x@trade","data":{"e":"trade","T":1,"t":1,"p":"1","q":"-1","m":true}}"#,
                "field `q` (quantity) of trade: \"-1\"",
            ),
            (
                r#"1 {"stream":"x@trade","data":{"e":"trade","T":1,"t":1,"p":"1","q":"1","m":"yes"}}"#,
                "field `m` (buyer is maker) of trade: \"yes\"",
            ),
            (
                r#"1 {"stream":"x@trade","data":{"e":"trade","T":"x","t":1,"p":"1","q":"1","m":true}}"#,
                "field `T` (time, ms) of trade: \"x\"",
            ),
            (
                r#"1 {"stream":"x@trade","data":{"e":"trade","T":99999999999999999,"t":1,"p":"1","q":"1","m":true}}"#,
                "field `T` (time, ms)",
            ),
            (
                r#"1 {"stream":"x@bookTicker","data":{"e":"bookTicker","b":"1","B":"1","a":"x","A":"1"}}"#,
                "field `a` (price) of bookTicker: \"x\"",
            ),
            (
                r#"1 {"stream":"x@depth","data":{"e":"depthUpdate","E":1,"U":1,"u":2,"b":[["1"]],"a":[]}}"#,
                "field `b` of depthUpdate: level 0",
            ),
            (
                r#"1 {"stream":"x@depth","data":{"e":"depthUpdate","E":1,"U":1,"u":2,"b":[],"a":[["1","q"]]}}"#,
                "field `a` of depthUpdate: level 0 quantity: \"q\"",
            ),
            (
                r#"1 {"stream":"x@depth","data":{"e":"depthUpdate","E":1,"U":1,"u":2,"b":{},"a":[]}}"#,
                "field `b` of depthUpdate is not an array",
            ),
            (
                r#"1 {"stream":"x@depth","data":{"e":"depthUpdate","E":1,"U":3,"u":2,"b":[],"a":[]}}"#,
                "field `U` of depthUpdate: 3",
            ),
            (r#"1 {"lastUpdateId":"7","bids":[],"asks":[]}"#, "field `lastUpdateId` of depth snapshot: \"7\""),
            (
                r#"1 {"lastUpdateId":7,"bids":[["x","1"]],"asks":[]}"#,
                "field `bids` of depth snapshot: level 0 price: \"x\"",
            ),
        ];
        for (line, want) in cases {
            let e = err(&mut dec, line);
            assert!(e.contains(want), "{line}: {e:?} lacks {want:?}");
        }
        // A second symbol in one stream.
        run(
            &mut dec,
            r#"1 {"stream":"x@trade","data":{"e":"trade","T":1,"s":"BTCUSDT","t":1,"p":"1","q":"1","m":true}}"#,
        );
        let e = err(
            &mut dec,
            r#"1 {"stream":"x@trade","data":{"e":"trade","T":1,"s":"ETHUSDT","t":2,"p":"1","q":"1","m":true}}"#,
        );
        assert!(e.contains("\"ETHUSDT\"") && e.contains("\"BTCUSDT\""), "{e}");
    }

    /// Decodes through the `Value` path only (the reference for the fast path).
    fn decode_slow(dec: &mut BinanceDecoder, line: &str, out: &mut Vec<Event>) -> Result<(), String> {
        match split_line(line)? {
            None => Ok(()),
            Some((local_ns, json)) => dec.decode_value(json, local_ns, out),
        }
    }

    /// Same result, same events, same decoder state from both paths.
    fn same_both_ways(fast: &mut BinanceDecoder, slow: &mut BinanceDecoder, line: &str) -> bool {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let ra = fast.decode(line, None, &mut a);
        let rb = decode_slow(slow, line, &mut b);
        assert_eq!(ra, rb, "{line}");
        assert_eq!(a, b, "{line}");
        assert_eq!(fast, slow, "{line}");
        ra.is_ok()
    }

    /// Variants of one capture line: each scalar value retyped, escaped, nulled,
    /// dropped or duplicated, arrays replaced, odd keys added.
    fn variants(line: &str) -> Vec<String> {
        let mut v = Vec::new();
        let b = line.as_bytes();
        let mut i = 0;
        while let Some(k) = line[i..].find("\":").map(|k| k + i) {
            i = k + 2;
            let key_start = line[..k].rfind('"').unwrap();
            let key = &line[key_start..k + 1]; // "key"
            let start = k + 2;
            let end = match b.get(start) {
                Some(b'"') => start + 1 + line[start + 1..].find('"').unwrap() + 1,
                Some(b'[') => {
                    // the matching bracket
                    let mut depth = 0;
                    let mut j = start;
                    loop {
                        match b[j] {
                            b'[' => depth += 1,
                            b']' => {
                                depth -= 1;
                                if depth == 0 {
                                    break j + 1;
                                }
                            }
                            _ => {}
                        }
                        j += 1;
                    }
                }
                Some(b'{') => continue,
                _ => start + line[start..].find([',', '}']).unwrap(),
            };
            let val = &line[start..end];
            let with = |x: &str| format!("{}{}{}", &line[..start], x, &line[end..]);
            let mut news: Vec<String> = vec!["null".into(), "true".into(), "-1".into(), "1.5".into(), "{}".into()];
            if let Some(inner) = val.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
                news.push(inner.to_string());
                if let Some(c) = inner.chars().next() {
                    news.push(format!("\"\\u{:04x}{}\"", c as u32, &inner[c.len_utf8()..]));
                }
                news.push(format!("\"-{inner}\""));
                news.push(format!("\"{inner}0000000001\""));
                news.push("\"\"".into());
            } else if val.starts_with('[') {
                news.extend(
                    ["[]", "[[\"1\",\"2\",\"3\"]]", "[[1,2]]", "[\"1\",\"2\"]", "[[\"1\"]]", "[[\"\\u0031\",\"2\"]]"]
                        .map(String::from),
                );
            } else {
                news.push(format!("\"{val}\""));
                news.push(format!("{val}.0"));
                news.push("18446744073709551616".into());
                news.push("0".into());
            }
            for n in news {
                v.push(with(&n));
            }
            // Dropped, duplicated, and the key escaped.
            let pair_end = if b.get(end) == Some(&b',') { end + 1 } else { end };
            v.push(format!("{}{}", &line[..key_start], &line[pair_end..]));
            v.push(format!("{}{key}:{val},{}", &line[..key_start], &line[key_start..]));
            let escaped = format!("\"\\u{:04x}{}", key.as_bytes()[1], &key[2..]);
            v.push(format!("{}{escaped}{}", &line[..key_start], &line[k + 1..]));
        }
        let close = line.rfind('}').unwrap();
        for extra in [
            r#","x":"\ud800""#,
            r#","x":1e400"#,
            r#","x":{"y":[1,-2,{"z":null}],"w":"\n"}"#,
            r#","s":"ETHUSDT""#,
            r#","x":"#,
            r#"}"#,
        ] {
            v.push(format!("{}{extra}{}", &line[..close], &line[close..]));
        }
        v.push(line.replacen("{\"stream\"", "{\"data\":null,\"stream\"", 1));
        v.push(line.replacen("\"data\":{", "\"data\":{\"data\":7,\"stream\":[],", 1));
        v.push(line.replacen("@depth@0ms", "@depth5@100ms", 1));
        v.push(line.replacen("@bookTicker", "@depth", 1));
        v.push(line.replacen("\"e\":\"bookTicker\",", "", 1));
        v
    }

    /// The fast path against the `Value` path over the real capture, line by line,
    /// and over thousands of altered lines at every stage of the book's sync.
    #[test]
    fn fast_path_decodes_as_the_value_path() {
        let mut lines = Vec::new();
        for f in ["btcusdt_20240718.gz", "btcusdt_20240719.gz"] {
            let path = format!("{}/../../shared/data/binance_usdm_raw/{f}", env!("CARGO_MANIFEST_DIR"));
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            let mut text = String::new();
            std::io::Read::read_to_string(&mut flate2::read::MultiGzDecoder::new(&bytes[..]), &mut text).unwrap();
            lines.extend(text.lines().map(String::from));
        }
        let snapshot = lines.iter().position(|l| l.contains("lastUpdateId")).unwrap();
        let (mut fast, mut slow) = (BinanceDecoder::new(TICK), BinanceDecoder::new(TICK));
        let (mut checked, mut failed) = (0, 0);
        for (i, line) in lines.iter().enumerate() {
            if i < 12 || i.abs_diff(snapshot) < 12 || i % 7919 == 0 {
                for v in variants(line) {
                    let ok = same_both_ways(&mut fast.clone(), &mut slow.clone(), &v);
                    checked += 1;
                    failed += !ok as u32;
                }
            }
            // Every real line takes the fast path.
            let (t, json) = split_line(line).unwrap().unwrap();
            assert!(fast.clone().decode_fast(json, t, &mut Vec::new()).is_some(), "{line}");
            assert!(same_both_ways(&mut fast, &mut slow, line));
        }
        assert_eq!(fast.finish(&mut Vec::new()), slow.finish(&mut Vec::new()));
        assert!(checked > 3000 && failed > 500, "{checked} variants, {failed} errors");
    }

    #[test]
    fn odd_input_never_panics() {
        let mut dec = BinanceDecoder::new(TICK);
        for line in [
            "99999999999999999999999 {}",
            "9223372036854775807 {\"stream\":\"a@trade\",\"data\":{\"e\":\"trade\",\"T\":0,\"t\":18446744073709551615,\"p\":\"1\",\"q\":\"1\",\"m\":true}}",
            "9223372036854775807 {\"stream\":\"a@trade\",\"data\":{\"e\":\"trade\",\"t\":18446744073709551615,\"p\":\"1\",\"q\":\"1\",\"m\":true}}",
            "0 {\"stream\":\"a@depth\",\"data\":{\"e\":\"depthUpdate\",\"U\":18446744073709551615,\"u\":18446744073709551615,\"b\":[],\"a\":[]}}",
            "0 {\"lastUpdateId\":18446744073709551615,\"bids\":[],\"asks\":[]}",
            "0 {\"stream\":\"a@depth\",\"data\":{\"e\":\"depthUpdate\",\"U\":1,\"u\":1,\"b\":[],\"a\":[]}}",
            "1 {\"stream\":\"é@€\",\"data\":{\"e\":null}}",
            "\u{feff}1 {\"stream\":7,\"data\":{}}",
            "1 {\"stream\":\"a@trade\",\"data\":{\"e\":\"trade\",\"T\":1,\"t\":1,\"p\":\"99999999999999999999\",\"q\":\"1e400\",\"m\":true}}",
        ] {
            let mut out = Vec::new();
            let _ = dec.decode(line, None, &mut out);
        }
        let _ = dec.finish(&mut Vec::new());
    }

    #[test]
    fn state_survives_serialization() {
        let lines = [
            fdiff(1_000, 5, 1, 9, 0, ("99.0", "1")),
            fdiff(2_000, 6, 10, 15, 9, ("99.5", "0.000")),
            fsnap(3_000, 7, 12),
            fdiff(4_000, 8, 16, 20, 15, ("99.9", "3")),
        ];
        let mut straight = BinanceDecoder::new(TICK);
        let mut hopped = BinanceDecoder::new(TICK);
        for line in &lines {
            let a = run(&mut straight, line);
            let json = serde_json::to_string(&hopped).unwrap();
            hopped = serde_json::from_str(&json).unwrap();
            assert_eq!(a, run(&mut hopped, line));
        }
        assert_eq!(straight, hopped);
    }
}
