//! Tardis.dev downloadable CSV files.
//!
//! Tardis publishes one CSV file per exchange, data type, day and symbol
//! (comma-delimited, LF line ends, `.` decimal mark, no quoting, timestamps in
//! microseconds since the epoch, UTC). The data type is told apart by the
//! header line, so a file's content, not its name, says how to read it:
//!
//! | kind | columns after `exchange,symbol,timestamp,local_timestamp` | events per row |
//! | --- | --- | --- |
//! | `trades` | `id,side,price,amount` | [`EventKind::Trade`] (after a [`EventKind::SequenceGap`] when numeric ids jump) |
//! | `quotes` | `ask_amount,ask_price,bid_price,bid_amount` (ask first) | [`EventKind::Quote`] |
//! | `book_snapshot_N` | `asks[i].price,asks[i].amount,bids[i].price,bids[i].amount` for `i` in `0..N` | [`EventKind::Clear`], then one [`EventKind::Level`] per present level |
//! | `incremental_book_L2` | `is_snapshot,side,price,amount` | [`EventKind::Level`] (a [`EventKind::Clear`] first when a snapshot begins) |
//!
//! `timestamp` (exchange time) becomes `exch_ns`, `local_timestamp` (arrival
//! time) `local_ns`, both × 1000.
//!
//! One [`TardisDecoder`] reads one stream: one file, or several files of the
//! same kind back to back (consecutive days). A repeated identical header is
//! skipped; a different header is an error. Blank lines are skipped, a UTF-8 BOM
//! at the start of a line is ignored.
//!
//! Empty fields: in `quotes` a side and in `book_snapshot_N` a level is absent
//! when its price or its amount is empty (a non-empty one is still checked).
//!
//! `incremental_book_L2`: following Tardis's documentation, when a snapshot
//! row follows a non-snapshot row (or is the stream's first snapshot row, or
//! the first snapshot row of a following file) the book is discarded
//! ([`EventKind::Clear`]); non-snapshot rows before the stream's first
//! snapshot are updates buffered before the exchange sent its initial snapshot,
//! and are checked but dropped, since the book they would change is unknown.
use super::{parse_price, parse_qty, Event, EventKind, LineDecoder, Side, TickSize};
use serde::{Deserialize, Serialize};

/// The columns every kind starts with.
const COMMON: [&str; 4] = ["exchange", "symbol", "timestamp", "local_timestamp"];
const TRADES: [&str; 4] = ["id", "side", "price", "amount"];
const QUOTES: [&str; 4] = ["ask_amount", "ask_price", "bid_price", "bid_amount"];
const INCREMENTAL: [&str; 4] = ["is_snapshot", "side", "price", "amount"];

/// Which of the Tardis data types a stream holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Trades,
    Quotes,
    /// `book_snapshot_N` with `levels` = N levels a side.
    BookSnapshot {
        levels: usize,
    },
    IncrementalBookL2,
}

impl Kind {
    /// The Tardis data type name.
    fn name(self) -> String {
        match self {
            Kind::Trades => "trades".into(),
            Kind::Quotes => "quotes".into(),
            Kind::BookSnapshot { levels } => format!("book_snapshot_{levels}"),
            Kind::IncrementalBookL2 => "incremental_book_L2".into(),
        }
    }

    /// Fields a data row of this kind has.
    fn fields(self) -> usize {
        match self {
            Kind::BookSnapshot { levels } => COMMON.len() + 4 * levels,
            _ => COMMON.len() + 4,
        }
    }
}

/// Strips a UTF-8 BOM and a trailing carriage return.
fn clean(line: &str) -> &str {
    let line = line.strip_prefix('\u{feff}').unwrap_or(line);
    line.strip_suffix('\r').unwrap_or(line)
}

/// The kind a header line announces, if it is one of the four.
fn header_kind(line: &str) -> Option<Kind> {
    let cols: Vec<&str> = crate::feed::split_commas(line).collect();
    if cols.len() < COMMON.len() + 4 || cols[..COMMON.len()] != COMMON {
        return None;
    }
    let rest = &cols[COMMON.len()..];
    if rest == TRADES {
        return Some(Kind::Trades);
    }
    if rest == QUOTES {
        return Some(Kind::Quotes);
    }
    if rest == INCREMENTAL {
        return Some(Kind::IncrementalBookL2);
    }
    if !rest.len().is_multiple_of(4) {
        return None;
    }
    for (i, group) in rest.chunks_exact(4).enumerate() {
        let expected = [
            format!("asks[{i}].price"),
            format!("asks[{i}].amount"),
            format!("bids[{i}].price"),
            format!("bids[{i}].amount"),
        ];
        if group.iter().zip(expected.iter()).any(|(got, want)| *got != want.as_str()) {
            return None;
        }
    }
    Some(Kind::BookSnapshot { levels: rest.len() / 4 })
}

/// True for the header line of a Tardis `trades`, `quotes`, `book_snapshot_N` or
/// `incremental_book_L2` CSV file.
pub fn looks_like(line: &str) -> bool {
    header_kind(clean(line)).is_some()
}

/// Microseconds since the epoch → nanoseconds.
fn parse_us(col: &str, s: &str) -> Result<i64, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("column {col}: {s:?} is not microseconds since the epoch"));
    }
    crate::feed::parse_i64_trimmed(s)
        .and_then(|us| crate::feed::mul_const(us, 1000))
        .ok_or_else(|| format!("column {col}: {s:?} is out of range"))
}

fn price(col: &str, s: &str, tick: TickSize) -> Result<i64, String> {
    parse_price(s, tick).map_err(|e| format!("column {col}: {e}"))
}

fn qty(col: &str, s: &str) -> Result<f64, String> {
    parse_qty(s).map_err(|e| format!("column {col}: {e}"))
}

/// A `(price, amount)` pair that is absent when either field is empty; a
/// non-empty field is still checked. `col` names a column from its last part
/// (`"price"` or `"amount"`), and is only called for an error message.
fn optional_level(
    price_s: &str,
    qty_s: &str,
    tick: TickSize,
    col: impl Fn(&str) -> String,
) -> Result<Option<(i64, f64)>, String> {
    let p = if price_s.is_empty() { None } else { Some(price(&col("price"), price_s, tick)?) };
    let q = if qty_s.is_empty() { None } else { Some(qty(&col("amount"), qty_s)?) };
    Ok(p.zip(q))
}

/// Decodes one Tardis CSV stream (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TardisDecoder {
    tick: TickSize,
    /// Set by the first header line.
    kind: Option<Kind>,
    /// `trades`: the highest numeric trade id seen, `None` after a non-numeric id.
    last_trade_id: Option<u64>,
    /// `incremental_book_L2`: the previous row was a snapshot row.
    in_snapshot: bool,
    /// `incremental_book_L2`: a snapshot has started, so the book is known.
    seen_snapshot: bool,
}

impl TardisDecoder {
    pub fn new(tick: TickSize) -> Self {
        TardisDecoder { tick, kind: None, last_trade_id: None, in_snapshot: false, seen_snapshot: false }
    }

    fn trade(&mut self, f: &[&str], exch_ns: i64, local_ns: i64, out: &mut Vec<Event>) -> Result<(), String> {
        let aggressor = match f[5] {
            "buy" => Some(Side::Buy),
            "sell" => Some(Side::Sell),
            "unknown" => None,
            other => return Err(format!("column side: {other:?} is not buy, sell or unknown")),
        };
        let price = price("price", f[6], self.tick)?;
        let qty = qty("amount", f[7])?;
        let id = f[4];
        let numeric = if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
            crate::feed::parse_u64_trimmed(id)
        } else {
            None
        };
        match numeric {
            Some(id) => {
                if let Some(prev) = self.last_trade_id {
                    if id > prev.saturating_add(1) {
                        out.push(Event { exch_ns, local_ns, kind: EventKind::SequenceGap { book: false } });
                    }
                }
                self.last_trade_id = Some(self.last_trade_id.map_or(id, |prev| prev.max(id)));
            }
            None => self.last_trade_id = None,
        }
        out.push(Event { exch_ns, local_ns, kind: EventKind::Trade { aggressor, price, qty, maker_order: None } });
        Ok(())
    }

    fn quote(&self, f: &[&str], exch_ns: i64, local_ns: i64, out: &mut Vec<Event>) -> Result<(), String> {
        let ask = optional_level(f[5], f[4], self.tick, |c| format!("ask_{c}"))?;
        let bid = optional_level(f[6], f[7], self.tick, |c| format!("bid_{c}"))?;
        out.push(Event { exch_ns, local_ns, kind: EventKind::Quote { bid, ask } });
        Ok(())
    }

    fn snapshot(&self, f: &[&str], exch_ns: i64, local_ns: i64, out: &mut Vec<Event>) -> Result<(), String> {
        // Check the whole row before emitting, so a bad row leaves no half snapshot.
        let start = out.len();
        out.push(Event { exch_ns, local_ns, kind: EventKind::Clear });
        for (i, group) in f[COMMON.len()..].chunks_exact(4).enumerate() {
            for (side, name, p, q) in
                [(Side::Sell, "asks", group[0], group[1]), (Side::Buy, "bids", group[2], group[3])]
            {
                let level = optional_level(p, q, self.tick, |c| format!("{name}[{i}].{c}"));
                match level {
                    Ok(Some((price, qty))) => {
                        out.push(Event { exch_ns, local_ns, kind: EventKind::Level { side, price, qty } })
                    }
                    Ok(None) => {}
                    Err(e) => {
                        out.truncate(start);
                        return Err(e);
                    }
                }
            }
        }
        Ok(())
    }

    fn incremental(&mut self, f: &[&str], exch_ns: i64, local_ns: i64, out: &mut Vec<Event>) -> Result<(), String> {
        let is_snapshot = match f[4] {
            "true" => true,
            "false" => false,
            other => return Err(format!("column is_snapshot: {other:?} is not true or false")),
        };
        let side = match f[5] {
            "bid" => Side::Buy,
            "ask" => Side::Sell,
            other => return Err(format!("column side: {other:?} is not bid or ask")),
        };
        let price = price("price", f[6], self.tick)?;
        let qty = qty("amount", f[7])?;
        if is_snapshot {
            if !self.in_snapshot {
                out.push(Event { exch_ns, local_ns, kind: EventKind::Clear });
            }
            self.in_snapshot = true;
            self.seen_snapshot = true;
        } else {
            self.in_snapshot = false;
            if !self.seen_snapshot {
                return Ok(());
            }
        }
        out.push(Event { exch_ns, local_ns, kind: EventKind::Level { side, price, qty } });
        Ok(())
    }
}

impl LineDecoder for TardisDecoder {
    fn decode(&mut self, line: &str, _paired: Option<&str>, out: &mut Vec<Event>) -> Result<(), String> {
        let line = clean(line);
        if line.trim().is_empty() {
            return Ok(());
        }
        let Some(kind) = self.kind else {
            return match header_kind(line) {
                Some(kind) => {
                    self.kind = Some(kind);
                    Ok(())
                }
                None if line.starts_with("exchange,") => Err(format!("unrecognized Tardis header {line:?}")),
                None => {
                    Err("no Tardis header (trades, quotes, book_snapshot_N or incremental_book_L2) before this line"
                        .into())
                }
            };
        };
        if line.starts_with("exchange,") {
            return match header_kind(line) {
                Some(k) if k == kind => {
                    // The next file of the same stream: its first snapshot starts a new book.
                    self.in_snapshot = false;
                    Ok(())
                }
                Some(k) => Err(format!("header changed mid-stream from {} to {}", kind.name(), k.name())),
                None => Err(format!("unrecognized Tardis header {line:?} in a {} stream", kind.name())),
            };
        }
        let f: Vec<&str> = crate::feed::split_commas(line).collect();
        if f.len() != kind.fields() {
            return Err(format!("a {} row has {} fields, found {}", kind.name(), kind.fields(), f.len()));
        }
        let exch_ns = parse_us("timestamp", f[2])?;
        let local_ns = parse_us("local_timestamp", f[3])?;
        match kind {
            Kind::Trades => self.trade(&f, exch_ns, local_ns, out),
            Kind::Quotes => self.quote(&f, exch_ns, local_ns, out),
            Kind::BookSnapshot { .. } => self.snapshot(&f, exch_ns, local_ns, out),
            Kind::IncrementalBookL2 => self.incremental(&f, exch_ns, local_ns, out),
        }
    }

    fn finish(&mut self, _out: &mut Vec<Event>) -> Result<(), String> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICK: TickSize = TickSize(1_000_000); // 0.01

    const TRADES_H: &str = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount";
    const QUOTES_H: &str = "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount";
    const INCR_H: &str = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount";
    const SNAP2_H: &str = "exchange,symbol,timestamp,local_timestamp,asks[0].price,asks[0].amount,bids[0].price,bids[0].amount,asks[1].price,asks[1].amount,bids[1].price,bids[1].amount";

    fn run(lines: &[&str]) -> Result<Vec<Event>, String> {
        let mut d = TardisDecoder::new(TICK);
        let mut out = Vec::new();
        for (n, l) in lines.iter().enumerate() {
            d.decode(l, None, &mut out).map_err(|e| format!("line {}: {e}", n + 1))?;
        }
        d.finish(&mut out)?;
        Ok(out)
    }

    fn kinds(lines: &[&str]) -> Vec<EventKind> {
        run(lines).unwrap().into_iter().map(|e| e.kind).collect()
    }

    fn level(side: Side, price: i64, qty: f64) -> EventKind {
        EventKind::Level { side, price, qty }
    }

    #[test]
    fn headers_are_recognized() {
        assert!(looks_like(TRADES_H));
        assert!(looks_like(QUOTES_H));
        assert!(looks_like(INCR_H));
        assert!(looks_like(SNAP2_H));
        assert!(looks_like(&format!("\u{feff}{TRADES_H}\r")));
        let mut snap25 = COMMON.join(",");
        for i in 0..25 {
            snap25.push_str(&format!(",asks[{i}].price,asks[{i}].amount,bids[{i}].price,bids[{i}].amount"));
        }
        assert!(looks_like(&snap25));
        assert_eq!(header_kind(&snap25), Some(Kind::BookSnapshot { levels: 25 }));
        assert!(!looks_like("exchange,symbol,timestamp,local_timestamp"));
        assert!(!looks_like(
            "exchange,symbol,timestamp,local_timestamp,asks[0].price,asks[0].amount,bids[0].price,bids[1].amount"
        ));
        assert!(!looks_like("exchange,symbol,timestamp,local_timestamp,id,side,price"));
        assert!(!looks_like("binance-futures,BTCUSDT,1582329602111000,1582329602418379,42377944,buy,9682,0.132"));
        assert!(!looks_like("34200.017459617,1,11885113,21,2238200,1"));
        assert!(!looks_like(""));
    }

    #[test]
    fn trades_decode_with_times_sides_and_gaps() {
        let out = run(&[
            TRADES_H,
            "binance-futures,BTCUSDT,1582329602111000,1582329602418379,42377944,buy,9682,0.132",
            "binance-futures,BTCUSDT,1582329602116000,1582329602418420,42377945,sell,9681.99,0.5",
            "binance-futures,BTCUSDT,1582329602117000,1582329602418421,42377948,unknown,9681.5,1",
            "binance-futures,BTCUSDT,1582329602118000,1582329602418422,42377947,buy,9681.5,1",
            "binance-futures,BTCUSDT,1582329602119000,1582329602418423,42377949,buy,9681.5,1",
        ])
        .unwrap();
        assert_eq!(out[0].exch_ns, 1_582_329_602_111_000_000);
        assert_eq!(out[0].local_ns, 1_582_329_602_418_379_000);
        assert_eq!(
            out[0].kind,
            EventKind::Trade { aggressor: Some(Side::Buy), price: 968_200, qty: 0.132, maker_order: None }
        );
        assert_eq!(
            out[1].kind,
            EventKind::Trade { aggressor: Some(Side::Sell), price: 968_199, qty: 0.5, maker_order: None }
        );
        // 42377945 → 42377948 skips two ids: a gap, then the trade, with the trade's times.
        assert_eq!(out[2].kind, EventKind::SequenceGap { book: false });
        assert_eq!(out[2].exch_ns, 1_582_329_602_117_000_000);
        assert_eq!(out[3].kind, EventKind::Trade { aggressor: None, price: 968_150, qty: 1.0, maker_order: None });
        // A late id and the next one after the highest are no gaps.
        assert_eq!(out.len(), 6);
        assert!(matches!(out[4].kind, EventKind::Trade { .. }));
        assert!(matches!(out[5].kind, EventKind::Trade { .. }));
    }

    #[test]
    fn non_numeric_trade_ids_never_gap() {
        let k = kinds(&[
            TRADES_H,
            "coinbase,BTC-USD,1,1,7,buy,1,1",
            "coinbase,BTC-USD,2,2,a1b2-c3,buy,1,1",
            "coinbase,BTC-USD,3,3,20,buy,1,1",
            "coinbase,BTC-USD,4,4,,sell,1,1",
            "coinbase,BTC-USD,5,5,99,sell,1,1",
        ]);
        assert_eq!(k.len(), 5);
        assert!(k.iter().all(|k| matches!(k, EventKind::Trade { .. })));
    }

    #[test]
    fn quotes_decode_ask_first_and_missing_sides() {
        let out = run(&[
            QUOTES_H,
            "binance-futures,BTCUSDT,1582329601096000,1582329603502092,0.84,9682,9681.92,0.67",
            "binance-futures,BTCUSDT,1582329601097000,1582329603502093,,,9681.92,0.67",
            "binance-futures,BTCUSDT,1582329601098000,1582329603502094,0.84,9682,,",
            "binance-futures,BTCUSDT,1582329601099000,1582329603502095,,,,",
            "binance-futures,BTCUSDT,1582329601099000,1582329603502095,,9682,9681.92,",
        ])
        .unwrap();
        let q: Vec<_> = out.iter().map(|e| e.kind).collect();
        assert_eq!(q[0], EventKind::Quote { bid: Some((968_192, 0.67)), ask: Some((968_200, 0.84)) });
        assert_eq!(q[1], EventKind::Quote { bid: Some((968_192, 0.67)), ask: None });
        assert_eq!(q[2], EventKind::Quote { bid: None, ask: Some((968_200, 0.84)) });
        assert_eq!(q[3], EventKind::Quote { bid: None, ask: None });
        assert_eq!(q[4], EventKind::Quote { bid: None, ask: None });
        assert_eq!(out[0].exch_ns, 1_582_329_601_096_000_000);
        assert_eq!(out[0].local_ns, 1_582_329_603_502_092_000);
        // A present but malformed field is still an error, naming its column.
        let e = run(&[QUOTES_H, "x,Y,1,1,,96x82,9681.92,0.67"]).unwrap_err();
        assert!(e.contains("ask_price") && e.contains("96x82"), "{e}");
    }

    #[test]
    fn book_snapshots_clear_then_levels() {
        let k = kinds(&[
            SNAP2_H,
            "binance-futures,BTCUSDT,1598918403696000,1598918403810979,11657.08,1.714,11657.07,10.896,11657.54,5.4,11656.97,0.2",
            "binance-futures,BTCUSDT,1598918403888000,1598918403894256,11657.08,1.476,11657.07,10.896,,,11656.97,0.2",
        ]);
        assert_eq!(
            k,
            vec![
                EventKind::Clear,
                level(Side::Sell, 1_165_708, 1.714),
                level(Side::Buy, 1_165_707, 10.896),
                level(Side::Sell, 1_165_754, 5.4),
                level(Side::Buy, 1_165_697, 0.2),
                EventKind::Clear,
                level(Side::Sell, 1_165_708, 1.476),
                level(Side::Buy, 1_165_707, 10.896),
                level(Side::Buy, 1_165_697, 0.2),
            ]
        );
        // A bad level anywhere in the row leaves nothing of the row behind.
        let mut d = TardisDecoder::new(TICK);
        let mut out = Vec::new();
        d.decode(SNAP2_H, None, &mut out).unwrap();
        let e = d.decode("b,S,1,1,1,1,1,1,1,1,1,-2", None, &mut out).unwrap_err();
        assert!(e.contains("bids[1].amount") && e.contains("-2"), "{e}");
        assert!(out.is_empty());
        let e = run(&[SNAP2_H, "b,S,1,1,1,1,1,1,1,1,1"]).unwrap_err();
        assert!(e.contains("12 fields") && e.contains("11"), "{e}");
    }

    #[test]
    fn incremental_clears_when_a_snapshot_begins() {
        let k = kinds(&[
            INCR_H,
            // Buffered before the first snapshot: dropped.
            "deribit,BTC-PERPETUAL,1,1,false,bid,6421,10",
            "deribit,BTC-PERPETUAL,2,2,true,ask,6421.5,18640",
            "deribit,BTC-PERPETUAL,2,2,true,bid,6421,100",
            "deribit,BTC-PERPETUAL,3,3,false,ask,6421.5,0",
            "deribit,BTC-PERPETUAL,3,3,false,ask,6422,5",
            "deribit,BTC-PERPETUAL,4,4,true,ask,6423,7",
            "deribit,BTC-PERPETUAL,4,4,true,bid,6420,8",
        ]);
        assert_eq!(
            k,
            vec![
                EventKind::Clear,
                level(Side::Sell, 642_150, 18640.0),
                level(Side::Buy, 642_100, 100.0),
                level(Side::Sell, 642_150, 0.0),
                level(Side::Sell, 642_200, 5.0),
                EventKind::Clear,
                level(Side::Sell, 642_300, 7.0),
                level(Side::Buy, 642_000, 8.0),
            ]
        );
    }

    #[test]
    fn concatenated_files_skip_a_repeated_header() {
        let k = kinds(&[
            TRADES_H,
            "b,S,1,1,10,buy,1,1",
            TRADES_H,
            "b,S,2,2,11,sell,1,1",
            &format!("\u{feff}{TRADES_H}"),
            "b,S,3,3,13,sell,1,1",
        ]);
        assert_eq!(k.len(), 4);
        assert_eq!(k[2], EventKind::SequenceGap { book: false });
        // The next day's incremental file starts with its own snapshot: a new Clear
        // even though the previous file ended inside a snapshot.
        let k = kinds(&[INCR_H, "d,S,1,1,true,bid,1,1", INCR_H, "d,S,2,2,true,bid,1,2"]);
        assert_eq!(k, vec![EventKind::Clear, level(Side::Buy, 100, 1.0), EventKind::Clear, level(Side::Buy, 100, 2.0)]);
        // CRLF line ends and blank lines are fine.
        assert_eq!(kinds(&[&format!("{QUOTES_H}\r"), "", "b,S,1,1,1,2,1,1\r"]).len(), 1);
    }

    #[test]
    fn a_different_header_mid_stream_is_an_error() {
        let e = run(&[TRADES_H, "b,S,1,1,10,buy,1,1", QUOTES_H]).unwrap_err();
        assert!(e.contains("trades") && e.contains("quotes"), "{e}");
        let e = run(&[SNAP2_H, INCR_H]).unwrap_err();
        assert!(e.contains("book_snapshot_2") && e.contains("incremental_book_L2"), "{e}");
        let e = run(&[TRADES_H, "exchange,symbol,what"]).unwrap_err();
        assert!(e.contains("unrecognized Tardis header"), "{e}");
    }

    #[test]
    fn data_before_a_header_is_an_error() {
        let e = run(&["binance-futures,BTCUSDT,1,1,1,buy,1,1"]).unwrap_err();
        assert!(e.contains("no Tardis header"), "{e}");
        let e = run(&["exchange,symbol,timestamp,local_timestamp,foo"]).unwrap_err();
        assert!(e.contains("unrecognized Tardis header"), "{e}");
    }

    #[test]
    fn bad_rows_name_the_column_and_the_value() {
        let cases: [(&str, &str, &[&str]); 21] = [
            (TRADES_H, "b,S,1,1,10,buy,1", &["8 fields", "7"]),
            (TRADES_H, "b,S,1,1,10,buy,1,1,1", &["8 fields", "9"]),
            (TRADES_H, "b,S,12x,1,10,buy,1,1", &["timestamp", "12x"]),
            (TRADES_H, "b,S,1,-5,10,buy,1,1", &["local_timestamp", "-5"]),
            (TRADES_H, "b,S,,1,10,buy,1,1", &["timestamp", "\"\""]),
            (TRADES_H, "b,S,99999999999999999999,1,10,buy,1,1", &["timestamp", "out of range"]),
            (TRADES_H, "b,S,1,1,10,BUY,1,1", &["side", "BUY"]),
            (TRADES_H, "b,S,1,1,10,buy,abc,1", &["price", "abc"]),
            (TRADES_H, "b,S,1,1,10,buy,1,nan", &["amount", "nan"]),
            (TRADES_H, "b,S,1,1,10,buy,,1", &["price", "\"\""]),
            (INCR_H, "d,S,1,1,yes,bid,1,1", &["is_snapshot", "yes"]),
            (INCR_H, "d,S,1,1,true,buy,1,1", &["side", "buy"]),
            (INCR_H, "d,S,1,1,true,bid,1,-1", &["amount", "-1"]),
            (QUOTES_H, "b,S,1,1,0.84,9682,9681.92,x", &["bid_amount", "\"x\""]),
            // A price of 0 or less is bad data, not a crossed book (an empty side is empty fields).
            (QUOTES_H, "b,S,1,1,0.84,-9682,9681.92,0.67", &["column ask_price: \"-9682\" is not a positive price"]),
            (QUOTES_H, "b,S,1,1,0.84,9682,0,0.67", &["column bid_price: \"0\" is not a positive price"]),
            (QUOTES_H, "b,S,1,1,,-1,,", &["column ask_price: \"-1\""]),
            (TRADES_H, "b,S,1,1,10,buy,0.00,1", &["column price: \"0.00\" is not a positive price"]),
            (TRADES_H, "b,S,1,1,10,sell,-9682,1", &["column price: \"-9682\" is not a positive price"]),
            (INCR_H, "d,S,1,1,true,ask,-1,1", &["column price: \"-1\" is not a positive price"]),
            (
                SNAP2_H,
                "b,S,1,1,11657.08,1.7,11657.07,10.9,11657.54,5.4,-11656.97,0.2",
                &["bids[1].price", "\"-11656.97\""],
            ),
        ];
        for (header, row, needles) in cases {
            let e = run(&[header, row]).unwrap_err();
            for n in needles {
                assert!(e.contains(n), "{row}: {e:?} lacks {n:?}");
            }
        }
    }

    #[test]
    fn garbage_never_panics() {
        let junk = [
            "",
            ",",
            ",,,,,,,",
            "\u{feff}",
            "é,ß,∞",
            "exchange,",
            "exchange,symbol,timestamp,local_timestamp,asks[0].price",
        ];
        for header in [TRADES_H, QUOTES_H, INCR_H, SNAP2_H, "junk"] {
            let mut d = TardisDecoder::new(TICK);
            let mut out = Vec::new();
            let _ = d.decode(header, None, &mut out);
            for j in junk {
                let _ = d.decode(j, None, &mut out);
            }
            assert!(d.finish(&mut out).is_ok());
        }
    }

    #[test]
    fn decoder_state_round_trips_through_serde() {
        let mut d = TardisDecoder::new(TICK);
        let mut out = Vec::new();
        d.decode(SNAP2_H, None, &mut out).unwrap();
        let json = serde_json::to_string(&d).unwrap();
        let back: TardisDecoder = serde_json::from_str(&json).unwrap();
        assert_eq!(back, d);
    }
}
