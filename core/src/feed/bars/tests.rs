use super::*;

const CANON: &str = "timestamp,open,high,low,close,volume\n60,10,12,9,11,0.5\n120,11,11,10,10,0\n";

#[test]
fn canonical_csv() {
    let s = read_bars(CANON).unwrap();
    assert_eq!(s.bars.len(), 2);
    assert_eq!(s.info.interval_s, 60);
    assert_eq!(s.info.layout, "header");
    assert_eq!(s.info.zero_volume_bars, 1);
}

#[test]
fn times_by_magnitude_and_iso() {
    assert_eq!(parse_time("1736208060").unwrap(), (1736208060, "s"));
    assert_eq!(parse_time("1736208060000").unwrap(), (1736208060, "ms"));
    assert_eq!(parse_time("1736208060000000").unwrap(), (1736208060, "us"));
    assert_eq!(parse_time("1736208060000000000").unwrap(), (1736208060, "ns"));
    assert_eq!(parse_time("1736208060.0").unwrap(), (1736208060, "s"));
    assert_eq!(parse_time("2025-01-07 00:01:00").unwrap().0, 1736208060);
    assert_eq!(parse_time("2025-01-07T00:01:00Z").unwrap().0, 1736208060);
    assert_eq!(parse_time("2025-01-07T00:01:00.000Z").unwrap().0, 1736208060);
    assert_eq!(parse_time("2025-01-07T01:01:00+01:00").unwrap().0, 1736208060);
    assert_eq!(parse_time("2024-02-29").unwrap().0, 1709164800);
    assert!(parse_time("2023-02-29").is_err());
    assert!(parse_time("yesterday").is_err());
}

#[test]
fn layouts_read_to_the_same_bars() {
    let kline = "1736208060000,10,12,9,11,0.5,1736208119999,5.5,3,0.2,2.2,0\n1736208120000,11,11,10,10,0,1736208179999,0,0,0,0,0\n";
    let k = read_bars(kline).unwrap();
    assert_eq!(k.info.layout, "binance_kline");
    assert_eq!(k.info.time_unit, "ms");
    let cdd = "https://www.CryptoDataDownload.com\nunix,date,symbol,open,high,low,close,Volume BTC,Volume USD\n1736208120,2025-01-07 00:02:00,BTC/USD,11,11,10,10,0,0\n1736208060,2025-01-07 00:01:00,BTC/USD,10,12,9,11,0.5,5.5\n";
    let c = read_bars(cdd).unwrap();
    assert_eq!(c.info.order, RowOrder::NewestFirst);
    assert_eq!(c.info.preamble_lines, 1);
    assert_eq!(c.bars, k.bars);
    let kaggle = "Timestamp,Open,High,Low,Close,Volume\n1736208060.0,10,12,9,11,0.5\n1736208120.0,11,11,10,10,0\n";
    assert_eq!(read_bars(kaggle).unwrap().bars, k.bars);
}

#[test]
fn bad_files_name_line_and_column() {
    let e = read_bars("timestamp,open,high,low,close,volume\n60,10,12,9,11,1\n120,11,abc,10,10,1\n").unwrap_err();
    assert_eq!((e.line, e.column), (3, Some(3)));
    let e = read_bars("timestamp,open,high,low,close,volume\n60,10,9,12,11,1\n").unwrap_err();
    assert_eq!((e.line, e.column), (2, Some(3)));
    assert!(e.message.contains("below low"), "{e}");
    let e = read_bars("ts,o\n").unwrap_err();
    assert!(e.message.contains("unknown layout"), "{e}");
    let e = read_bars("time,open,high,low,close,volume\n60,1,1,1,1,1\n60,1,1,1,1,1\n").unwrap_err();
    assert_eq!(e.line, 3);
    assert!(e.message.contains("duplicate"), "{e}");
    let e = read_bars("time,open,high,low,close,volume\n0,1,1,1,1,1\n60,1,1,1,1,1\n120,1,1,1,1,1\n150,1,1,1,1,1\n")
        .unwrap_err();
    assert_eq!(e.line, 5);
    assert!(e.message.contains("mixed intervals"), "{e}");
}

#[test]
fn gaps_and_empty_rows() {
    let s = read_bars(
        "time,open,high,low,close,volume\n0,1,1,1,1,1\n60,NaN,NaN,NaN,NaN,NaN\n1800,1,1,1,1,1\n1860,1,1,1,1,0\n",
    )
    .unwrap();
    assert_eq!(s.info.interval_s, 60);
    assert_eq!(s.info.empty_rows, 1);
    assert_eq!((s.info.gaps, s.info.gap_seconds), (1, 1740));
    assert_eq!(s.info.span_s(), 1920);
}
