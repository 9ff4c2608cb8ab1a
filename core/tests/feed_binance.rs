//! The Binance decoder on real data: hftbacktest's BTCUSDT USDⓈ-M capture,
//! two files read as one stream (the second continues the first's depth chain
//! and has no snapshot of its own).

use flate2::read::GzDecoder;
use mmsoak_core::feed::binance::{looks_like, BinanceDecoder};
use mmsoak_core::feed::{Event, EventKind, Format, LineDecoder, Side, TickSize};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;

fn lines(name: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/binance_usdm_raw").join(name);
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    BufReader::new(GzDecoder::new(file)).lines().map(|l| l.unwrap()).collect()
}

/// Best bid and ask, in ticks.
type Bbo = (i64, i64);

#[derive(Default)]
struct Book {
    bids: BTreeMap<i64, f64>,
    asks: BTreeMap<i64, f64>,
    loaded: bool,
}

impl Book {
    fn apply(&mut self, e: &Event) {
        match e.kind {
            EventKind::Clear => {
                self.bids.clear();
                self.asks.clear();
                self.loaded = true;
            }
            EventKind::Level { side, price, qty } => {
                let book = if side == Side::Buy { &mut self.bids } else { &mut self.asks };
                if qty > 0.0 {
                    book.insert(price, qty);
                } else {
                    book.remove(&price);
                }
            }
            _ => {}
        }
    }

    fn best(&self) -> (Option<i64>, Option<i64>) {
        (self.bids.keys().next_back().copied(), self.asks.keys().next().copied())
    }
}

/// The update id `u` of a raw bookTicker or depthUpdate line.
fn update_id(line: &str) -> u64 {
    let (_, json) = line.split_once(' ').unwrap();
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v["data"]["u"].as_u64().unwrap()
}

#[test]
fn feed_binance_usdm_capture_decodes_consistently() {
    let tick = TickSize(10_000_000); // 0.1
    let mut dec = BinanceDecoder::new(tick);
    let (mut trades, mut quotes, mut trade_gaps, mut book_gaps, mut clears) = (0, 0, 0, 0, 0);
    let mut book = Book::default();
    let mut last_local = i64::MIN;
    let mut last_quote: Option<Bbo> = None;
    // After each applied diff: (its u, the book's best bid/ask, the latest bookTicker received).
    let mut checks: Vec<(u64, Bbo, Option<Bbo>)> = Vec::new();
    // Every bookTicker: (its u, bid and ask).
    let mut tickers: Vec<(u64, Bbo)> = Vec::new();
    let mut out = Vec::new();
    for (file, name) in ["btcusdt_20240718.gz", "btcusdt_20240719.gz"].iter().enumerate() {
        let lines = lines(name);
        assert_eq!(Format::detect(&lines[0]), Some(Format::Binance));
        for (n, line) in lines.iter().enumerate() {
            assert!(looks_like(line), "{name}:{}", n + 1);
            out.clear();
            dec.decode(line, None, &mut out).unwrap_or_else(|e| panic!("{name}:{}: {e}", n + 1));
            for e in &out {
                // Exchange stamps are real (ms since epoch, July 2024).
                assert!(e.exch_ns > 1_721_000_000_000_000_000 && e.exch_ns < 1_722_000_000_000_000_000, "{e:?}");
                assert!(e.local_ns >= last_local, "local time goes back at {name}:{}", n + 1);
                last_local = e.local_ns;
                match &e.kind {
                    EventKind::Trade { aggressor, price, qty, maker_order } => {
                        trades += 1;
                        assert!(aggressor.is_some() && *price > 0 && *qty > 0.0 && maker_order.is_none());
                    }
                    EventKind::Quote { bid: Some((b, _)), ask: Some((a, _)) } => {
                        quotes += 1;
                        assert!(b < a, "crossed bookTicker {e:?}");
                        last_quote = Some((*b, *a));
                        tickers.push((update_id(line), (*b, *a)));
                    }
                    EventKind::Quote { .. } => panic!("one-sided quote {e:?}"),
                    EventKind::SequenceGap { book: true } => book_gaps += 1,
                    EventKind::SequenceGap { book: false } => trade_gaps += 1,
                    EventKind::Clear => clears += 1,
                    _ => {}
                }
                book.apply(e);
            }
            let book_line = line.contains("\"depthUpdate\"") || line.contains("\"lastUpdateId\"");
            if book_line && book.loaded && !out.is_empty() {
                let (bid, ask) = book.best();
                let (bid, ask) = (bid.unwrap(), ask.unwrap());
                assert!(bid < ask, "book crossed ({bid} >= {ask}) after {name}:{}", n + 1);
                if line.contains("\"depthUpdate\"") {
                    checks.push((update_id(line), (bid, ask), last_quote));
                }
            }
        }
        if file == 0 {
            assert_eq!(clears, 1, "the first file holds the one snapshot");
        }
    }
    dec.finish(&mut out).unwrap();
    assert_eq!(trades, 10_701);
    assert_eq!(trade_gaps, 0);
    assert_eq!(quotes, 52_260);
    assert_eq!(book_gaps, 0);
    assert_eq!(clears, 1);
    // 9,022 diffs; 6 arrive before the snapshot: 5 are stale (u < lastUpdateId) and the
    // sixth bridges it, applied with the snapshot. The other 9,016 are checked one by one.
    assert_eq!(checks.len(), 9_022 - 6);

    // At each diff, the book's best bid/ask against the latest bookTicker received.
    let agree = checks.iter().filter(|(_, best, q)| Some(*best) == *q).count() as f64 / checks.len() as f64;
    // The same against the bookTicker with the largest update id up to the diff's `u`
    // (bookTicker arrives on its own connection, so arrival order can lag).
    tickers.sort_by_key(|t| t.0);
    let by_id = checks
        .iter()
        .filter(|(u, best, _)| {
            let k = tickers.partition_point(|t| t.0 <= *u);
            k > 0 && tickers[k - 1].1 == *best
        })
        .count();
    eprintln!(
        "book vs latest bookTicker at each of {} diffs: {:.2} % by arrival, {by_id} by update id",
        checks.len(),
        100.0 * agree
    );
    assert!(agree > 0.9, "book agrees with bookTicker only {:.2} % of the time", 100.0 * agree);
    assert_eq!(by_id, checks.len(), "by update id the book must match bookTicker exactly");
}
