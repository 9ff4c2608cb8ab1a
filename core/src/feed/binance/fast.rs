//! The fast path: a line read straight into borrowed fields instead of a
//! `serde_json::Value` tree ([`super::value`]). Each step mirrors the `Value`
//! path; `None` (nothing touched, nothing emitted) whenever that path might end
//! otherwise — any error, an escaped string, a number sent as a number where
//! Binance sends a string, a duplicate key, a field of an unexpected type — and
//! the line is then decoded the `Value` way, errors and all.
//!
//! Every value goes through `deserialize_any`, as a `Value` would, so exactly
//! the same text parses; a value of a kind not listed in [`Val`] fails the whole
//! parse (and the line takes the `Value` path).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{push_quote, sync::Diff, BinanceDecoder, Event, Side, TickSize};
use crate::feed::{parse_price, parse_qty};

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

impl BinanceDecoder {
    pub(super) fn decode_fast(
        &mut self,
        json: &str,
        local_ns: i64,
        out: &mut Vec<Event>,
    ) -> Option<Result<(), String>> {
        let top: Top = serde_json::from_str(json).ok()?;
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
    fn fast_symbol<'a>(&self, d: &Obj<'a>) -> Option<Option<&'a str>> {
        match d.s {
            None => Some(None),
            Some(Val::Str(s)) => match &self.symbol {
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

    fn fast_trade(&mut self, d: &Obj, agg: bool, local_ns: i64, out: &mut Vec<Event>) -> Option<Result<(), String>> {
        let symbol = self.fast_symbol(d)?;
        let id = u64_of(if agg { &d.a } else { &d.t })?;
        let price = price_of(&d.p, self.tick)?;
        let qty = qty_of(&d.q)?;
        let Some(Val::Bool(maker_is_buyer)) = d.m else { return None };
        let t = time_of(d)?;
        self.keep_symbol(symbol);
        let exch_ns = self.stamp(t, local_ns);
        self.push_trade(agg, id, price, qty, maker_is_buyer, exch_ns, local_ns, out);
        Some(Ok(()))
    }

    fn fast_quote(&mut self, d: &Obj, local_ns: i64, out: &mut Vec<Event>) -> Option<Result<(), String>> {
        let symbol = self.fast_symbol(d)?;
        let bid_px = price_of(&d.b, self.tick)?;
        let bid_qty = qty_of(&d.b_qty)?;
        let ask_px = price_of(&d.a, self.tick)?;
        let ask_qty = qty_of(&d.a_qty)?;
        let t = time_of(d)?;
        self.keep_symbol(symbol);
        let exch_ns = self.stamp(t, local_ns);
        push_quote([bid_px, ask_px], [bid_qty, ask_qty], exch_ns, local_ns, out);
        Some(Ok(()))
    }

    fn fast_depth(&mut self, d: &Obj, local_ns: i64, out: &mut Vec<Event>) -> Option<Result<(), String>> {
        let symbol = self.fast_symbol(d)?;
        let first = u64_of(&d.first)?;
        let last = u64_of(&d.u)?;
        let prev = match d.pu {
            None | Some(Val::Null) => None,
            Some(Val::U64(pu)) => Some(pu),
            Some(_) => return None,
        };
        if first > last {
            return None;
        }
        let mut levels = Vec::new();
        levels_of(&d.b, Side::Buy, self.tick, &mut levels)?;
        levels_of(&d.a, Side::Sell, self.tick, &mut levels)?;
        let t = time_of(d)?;
        self.keep_symbol(symbol);
        let exch_ns = self.stamp(t, local_ns);
        Some(self.apply_diff(Diff { first, last, prev, exch_ns, local_ns, levels }, None, out))
    }

    fn fast_snapshot(&mut self, d: &Obj, local_ns: i64, out: &mut Vec<Event>) -> Option<Result<(), String>> {
        let last_update_id = u64_of(&d.last_update_id)?;
        let mut levels = Vec::new();
        levels_of(&d.bids, Side::Buy, self.tick, &mut levels)?;
        levels_of(&d.asks, Side::Sell, self.tick, &mut levels)?;
        let t = time_of(d)?;
        let exch_ns = self.stamp(t, local_ns);
        Some(self.load_snapshot(last_update_id, levels, exch_ns, local_ns, out))
    }
}
