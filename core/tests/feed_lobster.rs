//! The LOBSTER decoder against the real AMZN 2012-06-21 sample (shared/data/lobster, see its README):
//! every message row decodes, the execution counts match, the L2 diffs rebuild every orderbook row
//! exactly, and the day runs 09:30:00.017 to 15:59:59.959.

use flate2::read::GzDecoder;
use mmsoak_core::feed::lobster::{looks_like_message, looks_like_orderbook, LobsterDecoder};
use mmsoak_core::feed::{Event, EventKind, LineDecoder, Side, TickSize};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

const CENT: TickSize = TickSize(1_000_000);

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/lobster").join(name)
}

fn lines(name: &str) -> std::io::Lines<BufReader<GzDecoder<File>>> {
    let path = data(name);
    let file = File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    BufReader::new(GzDecoder::new(file)).lines()
}

/// An orderbook row parsed independently of the decoder: visible levels in cents.
fn expected_levels(row: &str) -> (BTreeMap<i64, f64>, BTreeMap<i64, f64>) {
    let f: Vec<i64> = row.split(',').map(|x| x.parse().unwrap()).collect();
    assert_eq!(f.len(), 20, "5 levels");
    let (mut asks, mut bids) = (BTreeMap::new(), BTreeMap::new());
    for l in f.chunks_exact(4) {
        if l[0] != 9_999_999_999 {
            assert_eq!(l[0] % 100, 0, "book prices are whole cents");
            asks.insert(l[0] / 100, l[1] as f64);
        }
        if l[2] != -9_999_999_999 {
            assert_eq!(l[2] % 100, 0, "book prices are whole cents");
            bids.insert(l[2] / 100, l[3] as f64);
        }
    }
    (asks, bids)
}

#[derive(Default)]
struct Tally {
    rows: usize,
    adds: usize,
    cancels: usize,
    visible: usize,
    hidden: usize,
    halts: usize,
    clears: usize,
    levels: usize,
    crossed: usize,
}

#[test]
fn feed_lobster_amzn_sample_decodes_and_rebuilds_every_book_row() {
    let mut msgs = lines("AMZN_2012-06-21_34200000_57600000_message_5.csv.gz");
    let mut books = lines("AMZN_2012-06-21_34200000_57600000_orderbook_5.csv.gz");
    let mut dec = LobsterDecoder::new(CENT);
    let (mut asks, mut bids): (BTreeMap<i64, f64>, BTreeMap<i64, f64>) = (BTreeMap::new(), BTreeMap::new());
    let mut t = Tally::default();
    let (mut first_ns, mut last_ns) = (None, 0i64);
    let mut out: Vec<Event> = Vec::new();
    loop {
        let (msg, book) = match (msgs.next(), books.next()) {
            (Some(m), Some(b)) => (m.unwrap(), b.unwrap()),
            (None, None) => break,
            _ => panic!("message and orderbook files differ in length at row {}", t.rows + 1),
        };
        t.rows += 1;
        if t.rows == 1 {
            assert!(looks_like_message(&msg), "{msg}");
            assert!(!looks_like_orderbook(&msg), "{msg}");
            assert!(looks_like_orderbook(&book), "{book}");
            assert!(!looks_like_message(&book), "{book}");
        }
        out.clear();
        dec.decode(&msg, Some(&book), &mut out).unwrap_or_else(|e| panic!("row {}: {e}", t.rows));

        let typ: u8 = msg.split(',').nth(1).unwrap().parse().unwrap();
        let ns = out.first().expect("every row has its own event").exch_ns;
        assert!(out.iter().all(|e| e.exch_ns == ns && e.local_ns == ns), "row {}: one timestamp", t.rows);
        assert!(ns >= last_ns, "row {}: time went backwards", t.rows);
        first_ns.get_or_insert(ns);
        last_ns = ns;

        // The message's own event comes first, then only book events.
        let own = &out[0].kind;
        match (typ, own) {
            (1, EventKind::Add { .. }) => t.adds += 1,
            (2 | 3, EventKind::Cancel { .. }) => t.cancels += 1,
            (4, EventKind::Trade { maker_order: Some(_), aggressor: Some(_), .. }) => t.visible += 1,
            (5, EventKind::Trade { maker_order: None, aggressor: Some(_), .. }) => t.hidden += 1,
            (7, EventKind::Halt { .. }) => t.halts += 1,
            _ => panic!("row {}: type {typ} decoded to {own:?}", t.rows),
        }
        for e in &out[1..] {
            match e.kind {
                EventKind::Clear => {
                    t.clears += 1;
                    asks.clear();
                    bids.clear();
                }
                EventKind::Level { side, price, qty } => {
                    t.levels += 1;
                    let book = if side == Side::Sell { &mut asks } else { &mut bids };
                    if qty == 0.0 {
                        assert!(book.remove(&price).is_some(), "row {}: removed an absent level {price}", t.rows);
                    } else {
                        let old = book.insert(price, qty);
                        assert_ne!(old, Some(qty), "row {}: a Level that changes nothing", t.rows);
                    }
                }
                ref k => panic!("row {}: unexpected book event {k:?}", t.rows),
            }
        }

        let (want_asks, want_bids) = expected_levels(&book);
        assert_eq!(asks, want_asks, "row {}: asks", t.rows);
        assert_eq!(bids, want_bids, "row {}: bids", t.rows);
        if let (Some((&a, _)), Some((&b, _))) = (asks.first_key_value(), bids.last_key_value()) {
            if b >= a {
                t.crossed += 1;
            }
        }

        // The state is serialized between chunks: a round trip must not change the decoding.
        if t.rows.is_multiple_of(10_000) {
            let json = serde_json::to_string(&dec).unwrap();
            assert!(json.len() < 1_000, "decoder state stays small: {} bytes", json.len());
            dec = serde_json::from_str(&json).unwrap();
        }
    }
    out.clear();
    dec.finish(&mut out).unwrap();
    assert!(out.is_empty());

    assert_eq!(t.rows, 155_935);
    assert_eq!(t.visible, 8_974);
    assert_eq!(t.hidden, 2_445);
    assert_eq!(t.adds, 77_381);
    assert_eq!(t.cancels, 450 + 66_685);
    assert_eq!(t.halts, 0);
    assert_eq!(t.clears, 1);
    assert_eq!(t.crossed, 0, "the README says the book is never crossed");
    assert!(t.levels > t.rows / 2, "{} level events", t.levels);
    // 09:30:00.017 and 15:59:59.959.
    assert_eq!(first_ns.unwrap() / 1_000_000, (9 * 3600 + 30 * 60) * 1000 + 17);
    assert_eq!(last_ns / 1_000_000, (15 * 3600 + 59 * 60 + 59) * 1000 + 959);
}

#[test]
fn feed_lobster_first_rows_of_the_sample() {
    let msgs: Vec<String> =
        lines("AMZN_2012-06-21_34200000_57600000_message_5.csv.gz").take(2).map(|l| l.unwrap()).collect();
    let books: Vec<String> =
        lines("AMZN_2012-06-21_34200000_57600000_orderbook_5.csv.gz").take(2).map(|l| l.unwrap()).collect();
    let mut dec = LobsterDecoder::new(CENT);
    let mut out = Vec::new();
    // 34200.017459617,5,0,1,2238200,-1: a hidden sell order executed, i.e. a buyer-initiated trade.
    dec.decode(&msgs[0], Some(&books[0]), &mut out).unwrap();
    let t0 = 34_200_017_459_617;
    assert_eq!(
        out[0],
        Event {
            exch_ns: t0,
            local_ns: t0,
            kind: EventKind::Trade { aggressor: Some(Side::Buy), price: 22382, qty: 1.0, maker_order: None },
        }
    );
    assert_eq!(out[1].kind, EventKind::Clear);
    assert_eq!(out[2].kind, EventKind::Level { side: Side::Sell, price: 22395, qty: 100.0 });
    assert_eq!(out.len(), 2 + 10);
    // 34200.18960767,1,11885113,21,2238100,1: a new bid at 223.81, which enters at level 1 and
    // pushes 222.62 out of the 5-level window.
    out.clear();
    dec.decode(&msgs[1], Some(&books[1]), &mut out).unwrap();
    let t1 = 34_200_189_607_670;
    let kinds: Vec<(i64, EventKind)> = out.into_iter().map(|e| (e.exch_ns, e.kind)).collect();
    assert_eq!(
        kinds,
        vec![
            (t1, EventKind::Add { id: 11_885_113, side: Side::Buy, price: 22381, qty: 21.0 }),
            (t1, EventKind::Level { side: Side::Buy, price: 22381, qty: 21.0 }),
            (t1, EventKind::Level { side: Side::Buy, price: 22262, qty: 0.0 }),
        ]
    );
}
