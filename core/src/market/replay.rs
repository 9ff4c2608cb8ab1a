//! Real 1-minute OHLCV bars that drive the mid in `--source replay`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bar {
    /// Unix seconds of the bar's open.
    pub timestamp: i64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

/// A CSV row that is not a valid bar: 1-based line number and why.
#[derive(Debug, Clone, PartialEq)]
pub struct BarError {
    pub line: usize,
    pub message: String,
}

impl core::fmt::Display for BarError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Parses `timestamp,open,high,low,close,volume` CSV text (header required).
/// Pure: the caller reads the file.
pub fn parse_bars_csv(text: &str) -> Result<Vec<Bar>, BarError> {
    let mut lines = text.lines().enumerate();
    let expected = "timestamp,open,high,low,close,volume";
    match lines.next() {
        Some((_, header)) if header.trim().trim_start_matches('\u{feff}') == expected => {}
        Some((_, header)) => {
            return Err(BarError { line: 1, message: format!("header is {header:?}, expected {expected:?}") })
        }
        None => return Err(BarError { line: 1, message: "file is empty".into() }),
    }
    let mut bars: Vec<Bar> = Vec::new();
    for (idx, raw) in lines {
        let line = idx + 1;
        let row = raw.trim();
        if row.is_empty() {
            continue;
        }
        let fields: Vec<&str> = row.split(',').collect();
        if fields.len() != 6 {
            return Err(BarError { line, message: format!("expected 6 fields, found {}", fields.len()) });
        }
        let timestamp: i64 = fields[0]
            .trim()
            .parse()
            .map_err(|_| BarError { line, message: format!("timestamp {:?} is not an integer", fields[0]) })?;
        let mut nums = [0.0f64; 5];
        for (k, name) in ["open", "high", "low", "close", "volume"].iter().enumerate() {
            let s = fields[k + 1].trim();
            let v: f64 = s.parse().map_err(|_| BarError { line, message: format!("{name} {s:?} is not a number") })?;
            if !v.is_finite() || v < 0.0 || (k < 4 && v == 0.0) {
                return Err(BarError { line, message: format!("{name} {s:?} must be finite and positive") });
            }
            nums[k] = v;
        }
        let [open, high, low, close, volume] = nums;
        if high < low || open > high || open < low || close > high || close < low {
            return Err(BarError {
                line,
                message: format!("inconsistent bar: open {open} high {high} low {low} close {close}"),
            });
        }
        if let Some(prev) = bars.last() {
            if timestamp <= prev.timestamp {
                return Err(BarError {
                    line,
                    message: format!("timestamp {timestamp} is not after the previous row's {}", prev.timestamp),
                });
            }
        }
        bars.push(Bar { timestamp, open, high, low, close, volume });
    }
    if bars.is_empty() {
        return Err(BarError { line: 2, message: "no data rows".into() });
    }
    Ok(bars)
}

/// The bars for 1-based `iteration`, `minutes` long, wrapping around the data.
pub fn window(bars: &[Bar], iteration: u32, minutes: u32) -> Vec<Bar> {
    if bars.is_empty() {
        return Vec::new();
    }
    let start = (iteration.saturating_sub(1) as usize) * minutes as usize;
    (0..minutes as usize).map(|k| bars[(start + k) % bars.len()]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_valid_rows() {
        let bars =
            parse_bars_csv("timestamp,open,high,low,close,volume\n60,10,12,9,11,0.5\n120,11,11,10,10,0\n").unwrap();
        assert_eq!(bars.len(), 2);
        assert_eq!(bars[1].close, 10.0);
    }

    #[test]
    fn bad_rows_name_their_line() {
        let e =
            parse_bars_csv("timestamp,open,high,low,close,volume\n60,10,12,9,11,1\n120,11,abc,10,10,1\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("high"), "{e}");
        let e = parse_bars_csv("timestamp,open,high,low,close,volume\n60,10,9,12,11,1\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse_bars_csv("ts,o\n").unwrap_err();
        assert_eq!(e.line, 1);
    }
}
