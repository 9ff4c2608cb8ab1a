//! The reference path: a line parsed into a `serde_json::Value` and read field
//! by field. It words every decoding error; the fast path ([`super::fast`])
//! hands a line here whenever it might end otherwise.

use super::sync::Diff;
use super::{push_quote, short, BinanceDecoder, Event, Side, TickSize};
use crate::feed::{parse_price, parse_qty};
use serde_json::{Map, Value};

impl BinanceDecoder {
    /// One message through a `serde_json::Value` (the reference path, and the one
    /// that words every error).
    pub(super) fn decode_value(&mut self, json: &str, local_ns: i64, out: &mut Vec<Event>) -> Result<(), String> {
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

impl BinanceDecoder {
    /// The exchange time of a message: `T`, else `E`, else local time plus the
    /// last seen offset. Updates the offset when the message has a time.
    fn exch_time(&mut self, d: &Map<String, Value>, what: &str, local_ns: i64) -> Result<i64, String> {
        let t = match opt_ms(d, what, "T")? {
            Some(t) => Some(t),
            None => opt_ms(d, what, "E")?,
        };
        Ok(self.stamp(t, local_ns))
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

    fn snapshot(&mut self, d: &Map<String, Value>, local_ns: i64, out: &mut Vec<Event>) -> Result<(), String> {
        let what = "depth snapshot";
        let last_update_id = get_u64(d, what, "lastUpdateId")?;
        let mut levels = Vec::new();
        get_levels(d, what, "bids", Side::Buy, self.tick, &mut levels)?;
        get_levels(d, what, "asks", Side::Sell, self.tick, &mut levels)?;
        let exch_ns = self.exch_time(d, what, local_ns)?;
        self.load_snapshot(last_update_id, levels, exch_ns, local_ns, out)
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
