//! The Tardis decoder reads the real Tardis.dev CSV excerpts in shared/data/tardis
//! (Binance USDⓈ-M futures BTCUSDT, 2020-02-22).

use mmsoak_core::feed::tardis::{looks_like, TardisDecoder};
use mmsoak_core::feed::{Event, EventKind, Format, LineDecoder, TickSize};
use std::path::Path;

/// 0.01 USDT.
const TICK: TickSize = TickSize(1_000_000);
/// 2020-02-22 00:00:00 UTC, ns.
const DAY_NS: i64 = 1_582_329_600 * 1_000_000_000;
const SEC_NS: i64 = 1_000_000_000;

fn read(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/tardis").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn decode(text: &str) -> Vec<Event> {
    let first = text.lines().next().expect("a header line");
    assert!(looks_like(first), "{first:?}");
    assert_eq!(Format::detect(first), Some(Format::Tardis));
    let mut d = TardisDecoder::new(TICK);
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        d.decode(line, None, &mut out).unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
    }
    d.finish(&mut out).unwrap();
    out
}

#[test]
fn feed_tardis_real_trades_decode_without_gaps() {
    let text = read("binance-futures_trades_2020-02-22_BTCUSDT_first9999.csv");
    let rows = text.lines().count() - 1;
    let events = decode(&text);
    // Every row is one trade; ids 42377944..=42387942 are contiguous, so no gap events.
    assert_eq!(rows, 9_999);
    assert_eq!(events.len(), rows);
    let mut buys = 0;
    for e in &events {
        match e.kind {
            EventKind::Trade { aggressor, price, qty, maker_order: None } => {
                assert!(aggressor.is_some());
                buys += usize::from(aggressor == Some(mmsoak_core::feed::Side::Buy));
                assert!((960_000..=980_000).contains(&price), "price {price} ticks");
                assert!(qty > 0.0);
            }
            ref k => panic!("unexpected {k:?}"),
        }
        assert!(e.local_ns >= e.exch_ns, "capture before exchange time: {e:?}");
    }
    assert_eq!(buys, 5_267);
    // First and last trades: 00:00:02 and 02:05:47 UTC.
    let first = &events[0];
    let last = &events[events.len() - 1];
    assert_eq!((first.exch_ns - DAY_NS) / SEC_NS, 2);
    assert_eq!((last.exch_ns - DAY_NS) / SEC_NS, 2 * 3600 + 5 * 60 + 47);
    assert_eq!(first.exch_ns, 1_582_329_602_111_000_000);
    assert_eq!(first.local_ns, 1_582_329_602_418_379_000);
    assert_eq!(
        first.kind,
        EventKind::Trade {
            aggressor: Some(mmsoak_core::feed::Side::Buy),
            price: 968_200,
            qty: 0.132,
            maker_order: None
        }
    );
    assert!(events.windows(2).all(|w| w[0].exch_ns <= w[1].exch_ns), "exchange time goes backwards");
}

#[test]
fn feed_tardis_real_trades_with_a_row_removed_report_a_gap() {
    let text = read("binance-futures_trades_2020-02-22_BTCUSDT_first9999.csv");
    let cut: String = text.lines().enumerate().filter(|&(n, _)| n != 500).map(|(_, l)| format!("{l}\n")).collect();
    let events = decode(&cut);
    let gaps: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.kind == EventKind::SequenceGap { book: false })
        .map(|(i, _)| i)
        .collect();
    assert_eq!(gaps, vec![499]);
    assert_eq!(events.len(), 9_999);
}

#[test]
fn feed_tardis_real_quotes_are_never_crossed() {
    let text = read("binance-futures_quotes_2020-02-22_BTCUSDT_first9999.csv");
    let events = decode(&text);
    assert_eq!(events.len(), 9_999);
    for e in &events {
        match e.kind {
            EventKind::Quote { bid: Some((bid, bq)), ask: Some((ask, aq)) } => {
                assert!(bid < ask, "crossed or locked quote {e:?}");
                assert!(bq > 0.0 && aq > 0.0, "{e:?}");
            }
            ref k => panic!("unexpected {k:?}"),
        }
    }
    // First row: ask 0.84 @ 9682, bid 9681.92 x 0.67 (the file lists ask first).
    assert_eq!(events[0].kind, EventKind::Quote { bid: Some((968_192, 0.67)), ask: Some((968_200, 0.84)) });
    // Covers 00:00:01 to 00:03:47 UTC.
    assert_eq!((events[0].exch_ns - DAY_NS) / SEC_NS, 1);
    assert_eq!((events[events.len() - 1].exch_ns - DAY_NS) / SEC_NS, 3 * 60 + 47);
}

#[test]
fn feed_tardis_two_real_files_of_the_same_kind_concatenate() {
    let text = read("binance-futures_quotes_2020-02-22_BTCUSDT_first9999.csv");
    let twice = format!("{text}{text}");
    assert_eq!(decode(&twice).len(), 2 * 9_999);
    let trades = read("binance-futures_trades_2020-02-22_BTCUSDT_first9999.csv");
    let mixed = format!("{text}{trades}");
    let mut d = TardisDecoder::new(TICK);
    let mut out = Vec::new();
    let err = mixed.lines().try_for_each(|l| d.decode(l, None, &mut out)).unwrap_err();
    assert!(err.contains("quotes") && err.contains("trades"), "{err}");
}
