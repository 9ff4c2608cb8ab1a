//! Loads real OHLCV bars and cuts them into one window per iteration.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
pub use mmsoak_core::market::window;
use mmsoak_core::market::{parse_bars_csv, Bar};

pub fn load(path: &Path) -> Result<Vec<Bar>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read market data {}", path.display()))?;
    parse_bars_csv(&text).map_err(|e| anyhow!("{}: {e}", path.display()))
}
