//! `--source replay`: a bar file read once, cut into one window of market time
//! per iteration.

use std::path::Path;

use anyhow::{bail, Result};
use mmsoak_core::feed::bars::{interval_name, BarSeries};
use mmsoak_core::market::{window_by_time, Bar, BarClock};
use mmsoak_core::report::BarSettings;

/// Reads the bars and checks the run fits in them: `iterations × iteration_seconds`
/// of market time, unless `loop_data` lets it wrap.
pub fn plan(path: &Path, iterations: u32, iteration_seconds: u32, loop_data: bool) -> Result<(BarSeries, BarSettings)> {
    let series = crate::data::bars::load(path)?;
    let need = iterations as i64 * iteration_seconds as i64;
    let have = series.info.span_s();
    if need > have && !loop_data {
        bail!(
            "{}: the run needs {} of market time ({iterations} iterations × {iteration_seconds} s) but the bars cover {} ({} bars of {}); shorten the run, or add --loop-data to wrap around",
            path.display(),
            duration(need),
            duration(have),
            series.info.rows,
            interval_name(series.info.interval_s)
        );
    }
    let settings = BarSettings { file: series.info.clone(), loop_data };
    Ok((series, settings))
}

/// Iteration `i`'s bars and where they sit in time.
pub fn window(series: &BarSeries, settings: &BarSettings, i: u32, seconds: u32) -> Result<(Vec<Bar>, BarClock)> {
    match window_by_time(&series.bars, series.info.interval_s, i, seconds, settings.loop_data) {
        Some(w) => Ok(w),
        None => bail!("iteration {i} lies past the end of the bars (add --loop-data to wrap around)"),
    }
}

/// `29700` → `8 h 15 min`.
fn duration(s: i64) -> String {
    let (h, m, sec) = (s / 3600, s % 3600 / 60, s % 60);
    let mut parts = Vec::new();
    if h > 0 {
        parts.push(format!("{h} h"));
    }
    if m > 0 {
        parts.push(format!("{m} min"));
    }
    if sec > 0 || parts.is_empty() {
        parts.push(format!("{sec} s"));
    }
    parts.join(" ")
}
