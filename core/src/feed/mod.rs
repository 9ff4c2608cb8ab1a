//! Market data formats, normalized.
//!
//! Every format decodes, one line at a time, into the same [`Event`]: a book
//! change, a trade or a best quote (plus L3 order events where the data carries
//! order ids), with an exchange and a local timestamp in nanoseconds and prices
//! in integer ticks. Parsers are pure and incremental: the shell reads and
//! decompresses files and hands the core chunks of lines, so memory stays
//! O(book depth + chunk), never O(file).
//!
//! One file per format: [`lobster`] (LOBSTER message + orderbook pairs),
//! [`tardis`] (Tardis.dev downloadable CSV), [`binance`] (raw websocket
//! captures as hftbacktest's collector writes them). [`stream`] merges several
//! files by time.

pub mod bars;
pub mod binance;
pub mod group;
pub mod lobster;
pub mod stream;
pub mod tardis;

use serde::{Deserialize, Serialize};

/// Prices before tick conversion are integers in units of 10⁻⁸ of the quote
/// currency, so every decimal price with up to 8 decimals is exact.
pub const PRICE_SCALE: i64 = 100_000_000;

/// The side of an order (for a trade: the aggressor's side).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// A bid; for a trade, a buyer lifted the offer.
    Buy,
    /// An ask; for a trade, a seller hit the bid.
    Sell,
}

impl Side {
    /// +1 for buy, −1 for sell.
    pub fn sign(self) -> f64 {
        match self {
            Side::Buy => 1.0,
            Side::Sell => -1.0,
        }
    }

    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

/// One normalized market event.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Exchange (matching-engine) time, ns. LOBSTER: ns after midnight, exchange local time.
    pub exch_ns: i64,
    /// Capture (receive) time, ns; equal to `exch_ns` when the format has one stamp.
    pub local_ns: i64,
    pub kind: EventKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// L2: the total quantity resting at `price` on `side` is now `qty` (0 removes the level).
    Level { side: Side, price: i64, qty: f64 },
    /// A snapshot begins: every level is dropped; `Level` events follow.
    Clear,
    /// Best bid and offer from a quote stream (Tardis `quotes`, Binance `bookTicker`).
    /// A missing side is `None`.
    Quote { bid: Option<(i64, f64)>, ask: Option<(i64, f64)> },
    /// A trade printed at `price` for `qty`. `aggressor` is the side that took liquidity
    /// (`None` when the data does not say). `maker_order` is the resting order it executed,
    /// where the data has order ids (LOBSTER type 4); `None` for hidden executions.
    Trade { aggressor: Option<Side>, price: i64, qty: f64, maker_order: Option<u64> },
    /// L3: a new resting limit order.
    Add { id: u64, side: Side, price: i64, qty: f64 },
    /// L3: `qty` removed from resting order `id` by a cancel (partial or full delete).
    Cancel { id: u64, side: Side, price: i64, qty: f64 },
    /// Trading halted (`true`) or resumed (`false`).
    Halt { halted: bool },
    /// A sequence number skipped. `book`: the L2 book is unknown from here until the
    /// next `Clear` (a depth-diff chain broke); otherwise a trade id jumped.
    SequenceGap { book: bool },
}

/// The tick size, in [`PRICE_SCALE`] units (0.01 → 1_000_000).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TickSize(pub i64);

impl TickSize {
    /// The raw scale: one tick = 10⁻⁸ (used to scan prices before the tick is known).
    pub const RAW: TickSize = TickSize(1);

    /// Converts a price in [`PRICE_SCALE`] units to ticks, rounding to the nearest tick.
    pub fn ticks(self, scaled: i64) -> i64 {
        let t = self.0.max(1);
        let half = t / 2;
        if scaled >= 0 {
            (scaled + half) / t
        } else {
            -((-scaled + half) / t)
        }
    }

    /// A price in ticks as a decimal number of the quote currency.
    pub fn price(self, ticks: i64) -> f64 {
        (ticks as f64) * (self.0 as f64) / (PRICE_SCALE as f64)
    }
}

/// Parses a decimal string (`"63943.90"`, `"9682"`, `"-1.5"`, `"1e-3"` is refused) into
/// [`PRICE_SCALE`] units exactly. More than 8 decimals are an error unless they are zeros.
pub fn parse_scaled(s: &str) -> Result<i64, String> {
    let t = trim(s);
    let (neg, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (int, frac) = match split_once_byte(body, b'.') {
        Some((i, f)) => (i, f),
        None => (body, ""),
    };
    let digits_ok = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits_ok(int) || !digits_ok(frac) {
        return Err(format!("{s:?} is not a decimal number"));
    }
    let frac_trim = frac.trim_end_matches('0');
    if frac_trim.len() > 8 {
        return Err(format!("{s:?} has more than 8 decimals"));
    }
    // Overflow is checked by comparison, not `checked_mul`: wasm32 has no
    // multiply-with-overflow, and LLVM lowers an i64 `checked_mul` there to a
    // call doing a 128-bit multiply, the hottest single function of a replay under
    // wasmtime. Same values, same errors.
    const INT_LIM: i64 = i64::MAX / 10;
    const INT_REM: i64 = i64::MAX % 10;
    let mut v: i64 = 0;
    for b in int.bytes() {
        let d = (b - b'0') as i64;
        if v > INT_LIM || (v == INT_LIM && d > INT_REM) {
            return Err(format!("{s:?} is too large"));
        }
        v = v * 10 + d;
    }
    let mut f: i64 = 0;
    for k in 0..8 {
        let d = frac_trim.as_bytes().get(k).map_or(0, |b| (b - b'0') as i64);
        f = f * 10 + d;
    }
    const SCALED_LIM: i64 = i64::MAX / PRICE_SCALE;
    const SCALED_REM: i64 = i64::MAX % PRICE_SCALE;
    if v > SCALED_LIM || (v == SCALED_LIM && f > SCALED_REM) {
        return Err(format!("{s:?} is too large"));
    }
    let scaled = v * PRICE_SCALE + f;
    Ok(if neg { -scaled } else { scaled })
}

/// Parses a price string into ticks. A price must be above zero: a format that
/// marks an empty side does so with an empty field (Tardis) or its own marker
/// (LOBSTER's ±9999999999, read by its decoder), never with a price of 0 or less.
pub fn parse_price(s: &str, tick: TickSize) -> Result<i64, String> {
    match parse_scaled(s)? {
        p if p > 0 => Ok(tick.ticks(p)),
        _ => Err(format!("{s:?} is not a positive price")),
    }
}

/// Parses a quantity: a finite, non-negative decimal.
pub fn parse_qty(s: &str) -> Result<f64, String> {
    let t = trim(s);
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("{s:?} is not a non-negative quantity")),
    }
}

/// Parses decimal seconds (`"34200.017459617"`, up to 9 decimals) into nanoseconds exactly.
pub fn parse_seconds_ns(s: &str) -> Result<i64, String> {
    let t = trim(s);
    let (int, frac) = split_once_byte(t, b'.').unwrap_or((t, ""));
    let digits_ok = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    if !digits_ok(int) || !(frac.is_empty() || digits_ok(frac)) || frac.len() > 9 {
        return Err(format!("{s:?} is not a time in seconds with at most 9 decimals"));
    }
    let secs: i64 = parse_i64_trimmed(int).ok_or_else(|| format!("{s:?} is out of range"))?;
    let mut ns: i64 = 0;
    for k in 0..9 {
        ns = ns * 10 + frac.as_bytes().get(k).map_or(0, |b| (b - b'0') as i64);
    }
    mul_const(secs, 1_000_000_000).and_then(|v| v.checked_add(ns)).ok_or_else(|| format!("{s:?} is out of range"))
}

/// `s.trim()`, returning `s` itself when its first and last bytes are ASCII and
/// not whitespace (every field of real data): `str::trim` decodes chars and asks
/// the Unicode tables at both ends, a measurable share of a replay under wasm32.
pub(crate) fn trim(s: &str) -> &str {
    // char::is_whitespace's ASCII members: \t \n \x0B \x0C \r and the space.
    let plain = |b: u8| b.is_ascii() && !matches!(b, b'\t'..=b'\r' | b' ');
    match s.as_bytes() {
        [first, .., last] if plain(*first) && plain(*last) => s,
        [only] if plain(*only) => s,
        _ => s.trim(),
    }
}

/// `s.split_once(c)` for an ASCII `c`, found byte by byte (a short field does
/// not pay for memchr's set-up, which under wasm32 runs without SIMD).
pub(crate) fn split_once_byte(s: &str, c: u8) -> Option<(&str, &str)> {
    debug_assert!(c.is_ascii());
    let i = s.bytes().position(|b| b == c)?;
    Some((&s[..i], &s[i + 1..]))
}

/// `s.trim().parse::<i64>().ok()`, the same value for every input. A field that
/// is a sign and at most 19 digits (every field of real data) is read here with
/// no `checked_mul`: `str::parse`'s becomes a 128-bit multiply call under wasm32
/// (see [`parse_scaled`]), the hottest function of a LOBSTER replay under
/// wasmtime. Anything else (spaces, junk, 20+ digits) goes to `str::parse`.
pub(crate) fn parse_i64_trimmed(s: &str) -> Option<i64> {
    match digits_i64(s.as_bytes()) {
        Some(v) => v,
        None => trim(s).parse::<i64>().ok(),
    }
}

/// `s.trim().parse::<u64>().ok()`, the same value for every input (as [`parse_i64_trimmed`]).
pub(crate) fn parse_u64_trimmed(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let body = b.strip_prefix(b"+").unwrap_or(b);
    if body.is_empty() || !body.iter().all(u8::is_ascii_digit) {
        return trim(s).parse::<u64>().ok();
    }
    const LIM: u64 = u64::MAX / 10;
    const REM: u64 = u64::MAX % 10;
    let mut v: u64 = 0;
    for &c in body {
        let d = (c - b'0') as u64;
        if v > LIM || (v == LIM && d > REM) {
            return None;
        }
        v = v * 10 + d;
    }
    Some(v)
}

/// An optional `+`/`-` and 1 to 19 ASCII digits: `Some(value, or None on
/// overflow)`, as `str::parse::<i64>` reads it, in one pass; `None` for any
/// other shape (left to `str::parse`). 18 digits cannot overflow an i64, so only
/// a 19th (a nanosecond epoch) is checked, by comparison.
fn digits_i64(b: &[u8]) -> Option<Option<i64>> {
    let (neg, body) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    if body.is_empty() || body.len() > 19 {
        return None;
    }
    let (head, last) = body.split_at(body.len().min(18));
    let mut v: i64 = 0;
    for &c in head {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + d as i64;
    }
    let Some(&c) = last.first() else {
        return Some(Some(if neg { -v } else { v }));
    };
    let d = c.wrapping_sub(b'0');
    if d > 9 {
        return None;
    }
    let d = d as i64;
    // |value| = 10 v + d is at most 9223372036854775807, or ...808 when negative.
    const LIM: i64 = i64::MAX / 10;
    let last_max = if neg { -(i64::MIN % 10) } else { i64::MAX % 10 };
    if v > LIM || (v == LIM && d > last_max) {
        return Some(None);
    }
    Some(Some(if neg { -(v * 10) - d } else { v * 10 + d }))
}

/// `s.split(',')` for comma-separated rows: the same pieces, found byte by byte
/// (a comma is one byte in UTF-8, so every cut is a char boundary). `str::split`
/// with a char pattern calls memchr once per field, slow for short fields and
/// slower under wasm32 (no SIMD).
pub(crate) fn split_commas(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let r = rest?;
        match r.bytes().position(|b| b == b',') {
            Some(i) => {
                rest = Some(&r[i + 1..]);
                Some(&r[..i])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// The `N` fields of a comma-separated row, or how many it has if not `N`
/// (as `s.split(',')` counts them), without collecting them into a Vec.
pub(crate) fn split_exact<const N: usize>(s: &str) -> Result<[&str; N], usize> {
    let mut out = [""; N];
    let mut n = 0;
    for f in split_commas(s) {
        if let Some(slot) = out.get_mut(n) {
            *slot = f;
        }
        n += 1;
    }
    if n == N {
        Ok(out)
    } else {
        Err(n)
    }
}

/// `a.checked_mul(b)` for a constant `b > 0`, by comparison: on wasm32 an i64
/// `checked_mul` becomes a call doing a 128-bit multiply (see [`parse_scaled`]);
/// with `b` a literal, the bounds here fold to constants.
#[inline]
pub(crate) fn mul_const(a: i64, b: i64) -> Option<i64> {
    debug_assert!(b > 0);
    // a * b <= MAX  <=>  a <= floor(MAX / b); a * b >= MIN  <=>  a >= ceil(MIN / b),
    // and Rust's division truncates toward zero, which is the ceiling for MIN / b.
    (a <= i64::MAX / b && a >= i64::MIN / b).then(|| a * b)
}

/// A line that does not decode: what is wrong, and whether it is in the paired
/// (companion) line rather than the line itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub message: String,
    pub in_paired: bool,
}

/// What one line of a format decodes into. Implemented by each format's decoder.
pub trait LineDecoder {
    /// Decodes one line (without its line ending) and pushes its events, in order.
    /// `paired` is the same row of the companion file, for formats that come in
    /// pairs (LOBSTER's orderbook file); `None` otherwise.
    ///
    /// Errors name the field and the bad value; the caller adds file and line.
    fn decode(&mut self, line: &str, paired: Option<&str>, out: &mut Vec<Event>) -> Result<(), String>;

    /// [`LineDecoder::decode`], saying which of the two lines an error is in: a
    /// paired format's companion line (LOBSTER's orderbook row) or the line itself.
    fn decode_located(&mut self, line: &str, paired: Option<&str>, out: &mut Vec<Event>) -> Result<(), DecodeError> {
        self.decode(line, paired, out).map_err(|message| DecodeError { message, in_paired: false })
    }

    /// The stream ended: flush what is buffered, or fail if the data leaves
    /// something unresolved (a Binance depth-diff chain no snapshot ever bridged).
    fn finish(&mut self, out: &mut Vec<Event>) -> Result<(), String>;
}

/// The formats `--source ticks` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// LOBSTER message file (its orderbook file is the paired stream).
    Lobster,
    /// Tardis.dev downloadable CSV (trades, quotes, book_snapshot_N, incremental_book_L2).
    Tardis,
    /// A Binance websocket capture: `<local ns> <json>` lines.
    Binance,
}

impl Format {
    pub const NAMES: [&'static str; 3] = ["lobster", "tardis", "binance"];

    pub fn name(self) -> &'static str {
        match self {
            Format::Lobster => "lobster",
            Format::Tardis => "tardis",
            Format::Binance => "binance",
        }
    }

    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "lobster" => Some(Format::Lobster),
            "tardis" => Some(Format::Tardis),
            "binance" => Some(Format::Binance),
            _ => None,
        }
    }

    /// Tells the format from a file's first line (content, not name).
    pub fn detect(first_line: &str) -> Option<Format> {
        let line = first_line.trim_start_matches('\u{feff}');
        if binance::looks_like(line) {
            Some(Format::Binance)
        } else if tardis::looks_like(line) {
            Some(Format::Tardis)
        } else if lobster::looks_like_message(line) {
            Some(Format::Lobster)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn overflow_checks_by_comparison_agree_with_checked_arithmetic() {
        for a in [0, 1, -1, 9, 92_233_720_368, -92_233_720_368, 92_233_720_369, i64::MAX / 1000, i64::MIN / 1000]
            .into_iter()
            .chain([i64::MAX, i64::MIN, i64::MAX / 1_000_000 + 1, i64::MIN / 1_000_000 - 1])
        {
            for b in [1, 10, 1000, 1_000_000, 1_000_000_000, PRICE_SCALE] {
                assert_eq!(super::mul_const(a, b), a.checked_mul(b), "{a} * {b}");
            }
        }
        // parse_scaled's reference: the checked version it replaced.
        let reference = |s: &str| -> Option<i64> {
            let (neg, body) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
            let (int, frac) = body.split_once('.').unwrap_or((body, ""));
            let mut v: i64 = 0;
            for b in int.bytes() {
                v = v.checked_mul(10)?.checked_add((b - b'0') as i64)?;
            }
            let frac = frac.trim_end_matches('0');
            let f: i64 = (0..8).fold(0, |f, k| f * 10 + frac.as_bytes().get(k).map_or(0, |b| (b - b'0') as i64));
            let v = v.checked_mul(PRICE_SCALE)?.checked_add(f)?;
            Some(if neg { -v } else { v })
        };
        for s in [
            "0",
            "1.5",
            "-2.25",
            "92233720368.54775807",
            "92233720368.54775808",
            "92233720368.54775806",
            "92233720369",
            "92233720367.99999999",
            "-92233720368.54775807",
            "9223372036854775807",
            "9223372036854775808",
            "922337203685477580",
            "99999999999999999999",
            "00000000000000000000001.1",
        ] {
            assert_eq!(super::parse_scaled(s).ok(), reference(s), "{s}");
        }
    }

    use super::*;

    #[test]
    fn decimals_are_exact() {
        assert_eq!(parse_scaled("63943.90").unwrap(), 6_394_390_000_000);
        assert_eq!(parse_scaled("9682").unwrap(), 968_200_000_000);
        assert_eq!(parse_scaled("-0.5").unwrap(), -50_000_000);
        assert!(parse_scaled("1e3").is_err());
        assert!(parse_scaled("").is_err());
        assert!(parse_scaled("0.123456789").is_err());
        assert_eq!(parse_scaled("0.123456780").unwrap(), 12_345_678);
        let tick = TickSize(10_000_000); // 0.1
        assert_eq!(parse_price("63943.90", tick).unwrap(), 639_439);
        assert_eq!(tick.price(639_439), 63943.9);
        for bad in ["0", "0.00", "-0", "-1", "-63943.90"] {
            assert_eq!(parse_price(bad, tick), Err(format!("{bad:?} is not a positive price")));
        }
        assert_eq!(parse_price("0.00000001", TickSize::RAW).unwrap(), 1);
    }

    #[test]
    fn seconds_to_ns() {
        assert_eq!(parse_seconds_ns("34200.017459617").unwrap(), 34_200_017_459_617);
        assert_eq!(parse_seconds_ns("34200.18960767").unwrap(), 34_200_189_607_670);
        assert_eq!(parse_seconds_ns("5").unwrap(), 5_000_000_000);
        assert!(parse_seconds_ns("1.0000000001").is_err());
        assert!(parse_seconds_ns("-1").is_err());
    }

    #[test]
    fn integer_fields_read_exactly_as_str_parse() {
        let cases = [
            "0",
            "7",
            "-7",
            "+7",
            "007",
            "-0",
            "+",
            "-",
            "",
            " 12",
            "12 ",
            "\t-3\r",
            "1 2",
            "1.0",
            "--1",
            "+-1",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999",
            "1721260800123456789",
            "\u{a0}5",
            "5\u{3000}",
            "\u{feff}5",
            "٣",
        ];
        for s in cases {
            assert_eq!(parse_i64_trimmed(s), s.trim().parse::<i64>().ok(), "i64 {s:?}");
            assert_eq!(parse_u64_trimmed(s), s.trim().parse::<u64>().ok(), "u64 {s:?}");
        }
        for s in ["", " ", "a", " a", "a\u{b}", "\u{85}a", "a\u{a0}", "é", "\t", "a b", "a.b.c", "ab."] {
            assert_eq!(trim(s), s.trim(), "{s:?}");
            assert_eq!(split_once_byte(s, b'.'), s.split_once('.'), "{s:?}");
        }
        for s in ["", ",", "a,", ",b", "a,,b", "a,b,c", "é,ü,", "x"] {
            let want: Vec<&str> = s.split(',').collect();
            assert_eq!(split_commas(s).collect::<Vec<_>>(), want, "{s:?}");
            assert_eq!(
                split_exact::<3>(s).map(Vec::from),
                if want.len() == 3 { Ok(want.clone()) } else { Err(want.len()) }
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_reads_as_str_parse(s in "[ ,+\\-0-9a\t]{0,24}") {
            proptest::prop_assert_eq!(parse_i64_trimmed(&s), s.trim().parse::<i64>().ok());
            proptest::prop_assert_eq!(parse_u64_trimmed(&s), s.trim().parse::<u64>().ok());
            proptest::prop_assert_eq!(split_commas(&s).collect::<Vec<_>>(), s.split(',').collect::<Vec<_>>());
            proptest::prop_assert_eq!(trim(&s), s.trim());
            proptest::prop_assert_eq!(split_once_byte(&s, b' '), s.split_once(' '));
        }

        #[test]
        fn any_integer_reads_back(v in proptest::prelude::any::<i64>(), u in proptest::prelude::any::<u64>()) {
            proptest::prop_assert_eq!(parse_i64_trimmed(&v.to_string()), Some(v));
            proptest::prop_assert_eq!(parse_u64_trimmed(&u.to_string()), Some(u));
        }
    }
}
