//! OHLCV bar files as traders download them, read into one [`Bar`] series.
//!
//! Layouts taken (header names are matched case-insensitively, with aliases):
//! - a header naming the columns: the time column is the first of `timestamp`,
//!   `unix`, `open_time`, `time`, `date`, `datetime` … present; volume is
//!   `volume` or, failing that, the first column whose name starts with
//!   `volume`/`vol` (`Volume BTC`, `Volume_(BTC)`: the base currency comes first
//!   in CryptoDataDownload's and Kaggle's layouts);
//! - no header, 6 columns: `timestamp,open,high,low,close,volume`;
//! - no header, 12 columns: Binance's kline dump (`open_time,open,high,low,close,
//!   volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore`);
//! - up to five leading lines that are not CSV (CryptoDataDownload's URL line).
//!
//! Times are numbers whose unit is told by magnitude (seconds below 10¹¹,
//! milliseconds below 10¹⁴, microseconds below 10¹⁷, else nanoseconds — Binance's
//! spot dumps moved from ms to µs in 2025) or ISO-8601 date-times (UTC unless an
//! offset is given). Rows newest-first are reversed, unordered rows sorted, and
//! [`BarFileInfo`] says which. The bar interval is the most common step between
//! consecutive bars; a longer step that is a whole number of intervals is a gap
//! (time without trading), any other step is an error. Pure: the shell reads
//! and decompresses the file.

#[cfg(test)]
mod tests;
mod time;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::market::Bar;

pub use time::parse_time;

/// A bar file that cannot be read: 1-based line, 1-based column where one is to
/// blame, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct BarError {
    pub line: usize,
    pub column: Option<usize>,
    pub message: String,
}

impl core::fmt::Display for BarError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.column {
            Some(c) => write!(f, "line {}, column {}: {}", self.line, c, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

fn err(line: usize, column: Option<usize>, message: impl Into<String>) -> BarError {
    BarError { line, column, message: message.into() }
}

/// How the rows were ordered in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowOrder {
    OldestFirst,
    /// Newest first (CryptoDataDownload): reversed.
    NewestFirst,
    /// Neither: sorted by time.
    Unordered,
}

/// What the reader found: enough for a user to check it read the file as meant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BarFileInfo {
    /// `header`, `headerless` (6 columns) or `binance_kline` (12 columns, no header).
    pub layout: String,
    /// The columns used, as `field=column name` (or `field=#n` without a header).
    pub columns: Vec<String>,
    /// `s`, `ms`, `us`, `ns` or `iso8601` (several joined by `+` if rows differ).
    pub time_unit: String,
    /// Lines before the header that were not CSV.
    pub preamble_lines: u32,
    pub order: RowOrder,
    pub rows: u64,
    /// Rows whose open/high/low/close were all empty or NaN (no trading): read as gaps.
    pub empty_rows: u64,
    /// The detected bar interval, seconds.
    pub interval_s: u32,
    /// First and last bar open, Unix seconds.
    pub first: i64,
    pub last: i64,
    /// Steps longer than one interval, and the market time they leave without bars, s.
    pub gaps: u64,
    pub gap_seconds: i64,
    pub zero_volume_bars: u64,
}

impl BarFileInfo {
    /// Market time the file covers, seconds: from the first bar's open to the last bar's close.
    pub fn span_s(&self) -> i64 {
        self.last - self.first + self.interval_s as i64
    }

    /// One line for the terminal.
    pub fn describe(&self) -> String {
        let order = match self.order {
            RowOrder::OldestFirst => String::new(),
            RowOrder::NewestFirst => ", rows were newest-first: reversed".into(),
            RowOrder::Unordered => ", rows were out of order: sorted by time".into(),
        };
        format!(
            "{} bars of {}, {} layout, time in {}, {} h of market time{}{}{}{}",
            self.rows,
            interval_name(self.interval_s),
            self.layout,
            self.time_unit,
            fmt_hours(self.span_s()),
            if self.gaps > 0 {
                format!(", {} gaps ({} min without bars)", self.gaps, self.gap_seconds / 60)
            } else {
                String::new()
            },
            if self.zero_volume_bars > 0 {
                format!(", {} zero-volume bars", self.zero_volume_bars)
            } else {
                String::new()
            },
            if self.preamble_lines > 0 {
                format!(", {} preamble line(s) skipped", self.preamble_lines)
            } else {
                String::new()
            },
            order
        )
    }
}

fn fmt_hours(s: i64) -> String {
    let tenths = s * 10 / 3600;
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// `60` → `1 min`, `3600` → `1 h`.
pub fn interval_name(s: u32) -> String {
    if s.is_multiple_of(86_400) {
        format!("{} d", s / 86_400)
    } else if s.is_multiple_of(3600) {
        format!("{} h", s / 3600)
    } else if s.is_multiple_of(60) {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

/// Bars oldest first, and what the reader did.
#[derive(Debug, Clone, PartialEq)]
pub struct BarSeries {
    pub bars: Vec<Bar>,
    pub info: BarFileInfo,
}

const TIME_NAMES: [&str; 12] = [
    "timestamp",
    "unix",
    "unix_timestamp",
    "open_time",
    "opentime",
    "open time",
    "time",
    "ts",
    "date",
    "datetime",
    "date_time",
    "time_period_start",
];
const OPEN_NAMES: [&str; 3] = ["open", "o", "open_price"];
const HIGH_NAMES: [&str; 3] = ["high", "h", "high_price"];
const LOW_NAMES: [&str; 3] = ["low", "l", "low_price"];
const CLOSE_NAMES: [&str; 3] = ["close", "c", "close_price"];
const VOLUME_NAMES: [&str; 4] = ["volume", "vol", "base_volume", "volume_traded"];
const FIELDS: [&str; 6] = ["time", "open", "high", "low", "close", "volume"];
const MAX_PREAMBLE: usize = 5;

/// Reads a bar file's text. Errors name the 1-based line and, where one is to
/// blame, the column: an unknown layout, a bad number or time, high below low,
/// open or close outside the range, duplicate timestamps, mixed intervals.
pub fn read_bars(text: &str) -> Result<BarSeries, BarError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines =
        text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end_matches('\r'))).filter(|(_, l)| !l.trim().is_empty());
    // Preamble: lines that do not split into at least six fields.
    let mut preamble = 0usize;
    let mut opening: Option<(usize, &str)> = None;
    let (first_no, first) = loop {
        let Some((no, line)) = lines.next() else {
            return Err(match opening {
                None => err(1, None, "no bars: the file is empty"),
                Some((no, line)) => err(
                    no,
                    None,
                    format!(
                        "unknown layout: no row has the 6 or more columns of a bar file (line {no}: {:?})",
                        clip(line)
                    ),
                ),
            });
        };
        opening.get_or_insert((no, line));
        if split(line).len() >= 6 {
            break (no, line);
        }
        preamble += 1;
        if preamble > MAX_PREAMBLE {
            return Err(err(no, None, format!("unknown layout: no CSV row with at least 6 columns in the first {MAX_PREAMBLE} lines (line {no}: {:?})", clip(line))));
        }
    };
    let head = split(first);
    let (cols, layout, names, data_first) = if parse_time(head[0]).is_ok() {
        let cols = match head.len() {
            6 => [0, 1, 2, 3, 4, 5],
            12 => [0, 1, 2, 3, 4, 5],
            n => {
                return Err(err(
                    first_no,
                    None,
                    format!("unknown layout: {n} columns without a header; expected 6 (timestamp,open,high,low,close,volume), Binance's 12-column klines, or a header row"),
                ))
            }
        };
        let layout = if head.len() == 12 { "binance_kline" } else { "headerless" };
        let names = FIELDS.iter().zip(cols).map(|(f, c)| format!("{f}=#{}", c + 1)).collect();
        (cols, layout, names, Some((first_no, first)))
    } else {
        let lower: Vec<String> = head.iter().map(|h| h.trim().trim_matches('"').to_ascii_lowercase()).collect();
        let find = |names: &[&str]| names.iter().find_map(|n| lower.iter().position(|h| h == n));
        let time = find(&TIME_NAMES);
        let volume = find(&VOLUME_NAMES).or_else(|| {
            lower.iter().position(|h| h.starts_with("volume") || h.starts_with("vol ") || h.starts_with("vol_"))
        });
        let found = [time, find(&OPEN_NAMES), find(&HIGH_NAMES), find(&LOW_NAMES), find(&CLOSE_NAMES), volume];
        let mut cols = [0usize; 6];
        for (k, f) in found.iter().enumerate() {
            match f {
                Some(c) => cols[k] = *c,
                None => {
                    return Err(err(
                        first_no,
                        None,
                        format!("unknown layout: no {} column in the header {:?}", FIELDS[k], clip(first)),
                    ))
                }
            }
        }
        let names = FIELDS.iter().zip(cols).map(|(f, c)| format!("{f}={}", head[c].trim().trim_matches('"'))).collect();
        (cols, "header", names, None)
    };
    let width = cols.iter().max().copied().unwrap_or(0) + 1;

    let mut rows: Vec<(i64, Bar, usize)> = Vec::new();
    let mut units: Vec<&'static str> = Vec::new();
    let mut empty_rows = 0u64;
    for (no, line) in data_first.into_iter().chain(lines) {
        let f = split(line);
        if f.len() < width {
            return Err(err(no, None, format!("expected at least {width} columns, found {}", f.len())));
        }
        let (ts, unit) = parse_time(f[cols[0]]).map_err(|m| err(no, Some(cols[0] + 1), m))?;
        if !units.contains(&unit) {
            units.push(unit);
        }
        let missing = |s: &str| {
            let s = s.trim().trim_matches('"');
            s.is_empty() || s.eq_ignore_ascii_case("nan")
        };
        if (1..5).all(|k| missing(f[cols[k]])) {
            empty_rows += 1;
            continue;
        }
        let mut v = [0.0f64; 5];
        for k in 1..6 {
            let raw = f[cols[k]].trim().trim_matches('"');
            let x: f64 = raw
                .parse()
                .ok()
                .filter(|x: &f64| x.is_finite())
                .ok_or_else(|| err(no, Some(cols[k] + 1), format!("{} {raw:?} is not a number", FIELDS[k])))?;
            if x < 0.0 || (k < 5 && x == 0.0) {
                let need = if k < 5 { "positive" } else { "zero or more" };
                return Err(err(no, Some(cols[k] + 1), format!("{} {raw} must be {need}", FIELDS[k])));
            }
            v[k - 1] = x;
        }
        let [open, high, low, close, volume] = v;
        if high < low {
            return Err(err(no, Some(cols[2] + 1), format!("high {high} is below low {low}")));
        }
        for (k, x) in [(1usize, open), (4, close)] {
            if x > high || x < low {
                return Err(err(
                    no,
                    Some(cols[k] + 1),
                    format!("{} {x} is outside the bar's range [{low}, {high}]", FIELDS[k]),
                ));
            }
        }
        rows.push((ts, Bar { timestamp: ts, open, high, low, close, volume }, no));
    }
    if rows.is_empty() {
        return Err(err(first_no + 1, None, "no bars: no data rows after the header"));
    }
    let increasing = rows.windows(2).all(|w| w[1].0 > w[0].0);
    let decreasing = rows.windows(2).all(|w| w[1].0 < w[0].0);
    let order = if increasing {
        RowOrder::OldestFirst
    } else if decreasing {
        rows.reverse();
        RowOrder::NewestFirst
    } else {
        rows.sort_by_key(|r| r.0);
        RowOrder::Unordered
    };
    if let Some(w) = rows.windows(2).find(|w| w[1].0 == w[0].0) {
        let (a, b) = (w[0].2.min(w[1].2), w[0].2.max(w[1].2));
        return Err(err(
            b,
            Some(cols[0] + 1),
            format!("duplicate timestamp {}: line {a} has the same bar time", w[0].0),
        ));
    }
    let interval = detect_interval(&rows).map_err(|(line, m)| err(line, Some(cols[0] + 1), m))?;
    let mut gaps = 0u64;
    let mut gap_seconds = 0i64;
    for w in rows.windows(2) {
        let d = w[1].0 - w[0].0;
        if d > interval as i64 {
            gaps += 1;
            gap_seconds += d - interval as i64;
        }
    }
    let bars: Vec<Bar> = rows.into_iter().map(|r| r.1).collect();
    let info = BarFileInfo {
        layout: layout.into(),
        columns: names,
        time_unit: units.join("+"),
        preamble_lines: preamble as u32,
        order,
        rows: bars.len() as u64,
        empty_rows,
        interval_s: interval,
        first: bars[0].timestamp,
        last: bars[bars.len() - 1].timestamp,
        gaps,
        gap_seconds,
        zero_volume_bars: bars.iter().filter(|b| b.volume == 0.0).count() as u64,
    };
    Ok(BarSeries { bars, info })
}

/// The bar interval of bars already read (oldest first), seconds: the most
/// common step between consecutive bars; 60 for fewer than two bars.
pub fn interval_of(bars: &[Bar]) -> u32 {
    let rows: Vec<(i64, Bar, usize)> = bars.iter().map(|b| (b.timestamp, *b, 0)).collect();
    detect_interval(&rows).unwrap_or(60)
}

/// The most common step between consecutive bars (ties: the shorter); every
/// step must be a whole number of it.
fn detect_interval(rows: &[(i64, Bar, usize)]) -> Result<u32, (usize, String)> {
    if rows.len() < 2 {
        // One bar: nothing to measure; a minute is what such files nearly always hold.
        return Ok(60);
    }
    let mut counts: BTreeMap<i64, u64> = BTreeMap::new();
    for w in rows.windows(2) {
        *counts.entry(w[1].0 - w[0].0).or_default() += 1;
    }
    let (&interval, _) = counts.iter().fold((&0i64, &0u64), |best, kv| if kv.1 > best.1 { kv } else { best });
    if interval > u32::MAX as i64 {
        return Err((rows[1].2, format!("bars {interval} s apart: not a bar interval")));
    }
    for w in rows.windows(2) {
        let d = w[1].0 - w[0].0;
        if d % interval != 0 {
            return Err((
                w[1].2,
                format!(
                    "mixed intervals: this bar opens {d} s after the one on line {}, but the file's bars are {} apart",
                    w[0].2,
                    interval_name(interval as u32)
                ),
            ));
        }
    }
    Ok(interval as u32)
}

fn split(line: &str) -> Vec<&str> {
    let delim = if line.contains(',') {
        ','
    } else if line.contains(';') {
        ';'
    } else {
        '\t'
    };
    line.split(delim).collect()
}

fn clip(s: &str) -> String {
    s.chars().take(120).collect()
}
