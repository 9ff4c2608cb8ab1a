//! Loads real OHLCV bars and cuts them into one window per iteration.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use mmsoak_core::market::{parse_bars_csv, Bar};

pub fn load(path: &Path) -> Result<Vec<Bar>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read market data {}", path.display()))?;
    parse_bars_csv(&text).map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// The bars for 1-based `iteration`, `minutes` long, wrapping around the data.
pub fn window(bars: &[Bar], iteration: u32, minutes: u32) -> Vec<Bar> {
    let start = (iteration.saturating_sub(1) as usize) * minutes as usize;
    (0..minutes as usize).map(|k| bars[(start + k) % bars.len()]).collect()
}
