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

pub use crate::feed::bars::BarError;

/// Reads a bar file's text in any layout [`crate::feed::bars::read_bars`] takes.
/// Pure: the caller reads the file.
pub fn parse_bars_csv(text: &str) -> Result<Vec<Bar>, BarError> {
    crate::feed::bars::read_bars(text).map(|s| s.bars)
}

/// Where a window of bars sits in market time: the simulator needs it to place
/// each bar, and a bar-less stretch, at its true time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BarClock {
    /// The iteration's first second, Unix seconds (in the bars' time, after any loop shift).
    pub start: i64,
    /// Bar interval, seconds.
    pub interval_s: u32,
    /// Which pass through the data this window is in: 0 the first; 1 and more only with `--loop-data`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pass: u32,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// Market time `bars` (oldest first, `interval_s` apart or whole multiples) cover, s.
pub fn span_s(bars: &[Bar], interval_s: u32) -> i64 {
    match (bars.first(), bars.last()) {
        (Some(a), Some(b)) => b.timestamp - a.timestamp + interval_s as i64,
        _ => 0,
    }
}

/// The bars iteration `iteration` (1-based) of `seconds` market seconds needs, cut
/// by time from the first bar's open: every bar overlapping the window and the
/// second after it (the informed traders' look-ahead), and the last bar before
/// the window when a gap opens it (the mid it starts from). With `looped`,
/// time past the data's end wraps to its start (bars shifted by whole spans);
/// without, a window past the end is `None`.
pub fn window_by_time(
    bars: &[Bar],
    interval_s: u32,
    iteration: u32,
    seconds: u32,
    looped: bool,
) -> Option<(Vec<Bar>, BarClock)> {
    let first = bars.first()?.timestamp;
    let span = span_s(bars, interval_s);
    let interval = interval_s as i64;
    let offset = iteration.saturating_sub(1) as i64 * seconds as i64;
    let end_offset = offset + seconds as i64;
    if end_offset > span && !looped {
        return None;
    }
    // The pass the window's last second falls in: > 0 once any of it is looped data.
    let pass = ((end_offset - 1) / span) as u32;
    let start = first + offset;
    let to = start + seconds as i64 + 1;
    let (kmin, kmax) = if looped { ((offset / span - 1).max(0), (to - 1 - first).div_euclid(span)) } else { (0, 0) };
    let mut out = Vec::new();
    let mut before: Option<Bar> = None;
    for k in kmin..=kmax {
        let shift = k * span;
        for b in bars {
            let (ts, te) = (b.timestamp + shift, b.timestamp + shift + interval);
            if te <= start {
                before = Some(Bar { timestamp: ts, ..*b });
            } else if ts < to {
                out.push(Bar { timestamp: ts, ..*b });
            }
        }
    }
    if out.first().is_none_or(|b| b.timestamp > start) {
        if let Some(b) = before {
            out.insert(0, b);
        }
    }
    Some((out, BarClock { start, interval_s, pass }))
}

/// What a window's bars held: coverage, gaps, zero-volume bars, volume.
pub fn bar_window_facts(bars: &[Bar], clock: BarClock, seconds: u32) -> crate::edge::BarWindow {
    let (start, end) = (clock.start, clock.start + seconds as i64);
    let interval = clock.interval_s as i64;
    let mut covered = 0i64;
    let mut w =
        crate::edge::BarWindow { start, end, bar_seconds: clock.interval_s, pass: clock.pass, ..Default::default() };
    let mut volume = 0.0;
    for b in bars {
        let overlap = (b.timestamp + interval).min(end) - b.timestamp.max(start);
        if overlap <= 0 {
            continue;
        }
        covered += overlap;
        w.bars += 1;
        if b.volume == 0.0 {
            w.zero_volume_bars += 1;
        }
        volume += b.volume * overlap as f64 / interval as f64;
    }
    w.gap_seconds = (seconds as i64 - covered).max(0) as u32;
    w.volume = crate::edge::round6(volume);
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(t: i64, v: f64) -> Bar {
        Bar { timestamp: t, open: 10.0, high: 11.0, low: 9.0, close: 10.0, volume: v }
    }

    #[test]
    fn windows_are_cut_by_time_not_rows() {
        // 0..300 s of minute bars, then a hole until 1200, then 1200..1500.
        let bars: Vec<Bar> =
            [0, 60, 120, 180, 240, 1200, 1260, 1320, 1380, 1440].iter().map(|&t| bar(t, 1.0)).collect();
        let (w1, c1) = window_by_time(&bars, 60, 1, 300, false).unwrap();
        assert_eq!(c1, BarClock { start: 0, interval_s: 60, pass: 0 });
        assert_eq!(w1.iter().map(|b| b.timestamp).collect::<Vec<_>>(), vec![0, 60, 120, 180, 240]);
        // The second window lies wholly in the hole: the bar before it gives the mid.
        let (w2, c2) = window_by_time(&bars, 60, 2, 300, false).unwrap();
        assert_eq!(c2.start, 300);
        assert_eq!(w2.iter().map(|b| b.timestamp).collect::<Vec<_>>(), vec![240]);
        // 1500 s of data: a sixth window of 300 s is past the end.
        assert!(window_by_time(&bars, 60, 5, 300, false).is_some());
        assert!(window_by_time(&bars, 60, 6, 300, false).is_none());
        let (w6, c6) = window_by_time(&bars, 60, 6, 300, true).unwrap();
        assert_eq!(c6, BarClock { start: 1500, interval_s: 60, pass: 1 });
        // The data's first bars again, shifted by the 1500 s span (the hole follows).
        assert_eq!(w6.iter().map(|b| b.timestamp).collect::<Vec<_>>(), vec![1500, 1560, 1620, 1680, 1740]);
    }

    #[test]
    fn a_coarse_bar_spans_windows() {
        let bars: Vec<Bar> = (0..4).map(|k| bar(k * 3600, 1.0)).collect();
        let (w, c) = window_by_time(&bars, 3600, 2, 900, false).unwrap();
        assert_eq!(c.start, 900);
        assert_eq!(w.iter().map(|b| b.timestamp).collect::<Vec<_>>(), vec![0]);
        assert!(window_by_time(&bars, 3600, 16, 900, false).is_some());
        assert!(window_by_time(&bars, 3600, 17, 900, false).is_none());
    }
}
