use super::sync::MAX_BUFFERED_DIFFS;
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
fn finish_with_only_stale_diffs_after_the_snapshot() {
    let mut dec = BinanceDecoder::new(TICK);
    run(&mut dec, &fsnap(1_000, 1, 20));
    run(&mut dec, &fdiff(2_000, 2, 10, 15, 9, ("99", "1")));
    let e = dec.finish(&mut Vec::new()).unwrap_err();
    assert_eq!(
        e,
        "the depth snapshot (lastUpdateId 20) was never bridged: every diff after it is older (last: U 10, u 15)"
    );
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
    let t = |aggressor| EventKind::Trade { aggressor: Some(aggressor), price: 639_439, qty: 0.003, maker_order: None };
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
    assert_eq!(run(&mut dec, &spot(1_000_000)), vec![Event { exch_ns: 1_000_000, local_ns: 1_000_000, kind: quote }]);
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
    run(&mut dec, r#"1 {"stream":"x@trade","data":{"e":"trade","T":1,"s":"BTCUSDT","t":1,"p":"1","q":"1","m":true}}"#);
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
