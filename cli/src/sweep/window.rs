//! Replay windows: a sweep axis of real bars instead of the simulated price path.
//!
//! Each `[[replay]]` table of the sweep file names a bar file (any layout
//! `mmsoak run --source replay` reads, relative to the sweep file) and where in it
//! a soak starts. A soak on a window is `mmsoak run --source replay` on the bars
//! from that start: iteration `i` replays market time
//! `[start + (i−1)·iteration_seconds, start + i·iteration_seconds)`, with the
//! regime of the `regimes` axis supplying what bars do not hold (spread, depth,
//! trade arrivals). The file's sha256 is part of the sweep's identity, so shards
//! computed from different data never merge.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use mmsoak_core::feed::bars::{interval_name, parse_time, BarSeries};
use mmsoak_core::market::{window_by_time, Bar, BarClock};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `[[replay]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayFile {
    /// The bar file, relative to the sweep file.
    data: String,
    /// First bar time of the window: ISO-8601 or Unix time (s, ms, µs or ns by
    /// magnitude), as in bar files [default: the file's first bar].
    #[serde(default)]
    start: Option<toml::Value>,
    /// Label in results [default: `<file name>@<start>`].
    #[serde(default)]
    name: Option<String>,
    /// Wrap to the window's start when the soak needs more market time than the
    /// file holds after it (as `--loop-data`).
    #[serde(default)]
    loop_data: bool,
}

/// A checked replay window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    pub name: String,
    /// As the sweep file gives it.
    pub data: String,
    /// sha256 of the file's bytes, hex.
    pub data_sha256: String,
    /// The window's first second, Unix seconds.
    pub start: i64,
    pub loop_data: bool,
    /// Where the file is on this machine (not part of the sweep's identity).
    #[serde(skip)]
    pub path: PathBuf,
}

/// Checks every `[[replay]]` table: the file reads as bars, the start lies in it,
/// and `iterations × iteration_seconds` of market time follow the start (unless
/// `loop_data`). Errors name the sweep file, `replay[i]` and the bad value.
pub fn parse(
    list: &[ReplayFile],
    base: &Path,
    origin: &str,
    iterations: u32,
    iteration_seconds: u32,
) -> Result<Vec<Window>> {
    let mut out: Vec<Window> = Vec::new();
    for (i, w) in list.iter().enumerate() {
        let at = format!("{origin}: replay[{i}]");
        let path = base.join(&w.data);
        let bytes = std::fs::read(&path)
            .with_context(|| format!("{at}: data = {:?}: cannot read {}", w.data, path.display()))?;
        let series = crate::data::bars::parse(&bytes, &path).with_context(|| format!("{at}: data = {:?}", w.data))?;
        let info = &series.info;
        let (start, start_text) = match &w.start {
            // Named by the first bar's time, as a window with `start` is by its own.
            None => (info.first, utc(info.first)),
            Some(v) => {
                let raw = match v {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Integer(n) => n.to_string(),
                    other => bail!("{at}: start = {other}: expected an ISO-8601 time or a Unix time"),
                };
                let (t, _) = parse_time(&raw).map_err(|e| anyhow::anyhow!("{at}: start = {raw:?}: {e}"))?;
                (t, raw)
            }
        };
        let end = info.first + info.span_s();
        if start < info.first || start >= end {
            bail!(
                "{at}: start = {start_text:?} ({start}) lies outside the bars of {}, which cover Unix seconds {} to {end}",
                w.data,
                info.first
            );
        }
        let need = iterations as i64 * iteration_seconds as i64;
        if need > end - start && !w.loop_data {
            bail!(
                "{at}: the soaks need {need} s of market time ({iterations} iterations × {iteration_seconds} s) but {} holds {} s of {} bars after start = {start_text:?}; start earlier, shorten the soaks, or set loop_data = true",
                w.data,
                end - start,
                interval_name(info.interval_s)
            );
        }
        let file_name = Path::new(&w.data).file_name().map_or(w.data.clone(), |n| n.to_string_lossy().into_owned());
        let name = w.name.clone().unwrap_or_else(|| format!("{file_name}@{start_text}"));
        if name.trim().is_empty() || name.len() > 128 {
            bail!("{at}: name = {name:?} must be 1 to 128 characters");
        }
        if out.iter().any(|o| o.name == name) {
            bail!("{at}: name {name:?} is used twice (give each window its own name)");
        }
        out.push(Window {
            name,
            data: w.data.clone(),
            data_sha256: hex::encode(Sha256::digest(&bytes)),
            start,
            loop_data: w.loop_data,
            path,
        });
    }
    Ok(out)
}

/// A window's bars, read once per shard and shared by its workers.
pub struct WindowBars {
    bars: Vec<Bar>,
    interval_s: u32,
    loop_data: bool,
}

impl WindowBars {
    /// Reads the window's file again (on the machine running the shard) and checks
    /// it is the file the sweep was planned on.
    pub fn load(w: &Window) -> Result<Arc<WindowBars>> {
        let bytes = std::fs::read(&w.path)
            .with_context(|| format!("replay window {}: cannot read {}", w.name, w.path.display()))?;
        let sha = hex::encode(Sha256::digest(&bytes));
        if sha != w.data_sha256 {
            bail!(
                "replay window {}: {} changed since the sweep was planned (sha256 {sha}, expected {})",
                w.name,
                w.path.display(),
                w.data_sha256
            );
        }
        let series: BarSeries = crate::data::bars::parse(&bytes, &w.path)?;
        let from = series.bars.partition_point(|b| b.timestamp < w.start);
        Ok(Arc::new(WindowBars {
            bars: series.bars[from..].to_vec(),
            interval_s: series.info.interval_s,
            loop_data: w.loop_data,
        }))
    }

    /// Iteration `i`'s bars and clock, as `mmsoak run --source replay` cuts them.
    pub fn iteration(&self, name: &str, i: u32, seconds: u32) -> Result<(Vec<Bar>, BarClock)> {
        match window_by_time(&self.bars, self.interval_s, i, seconds, self.loop_data) {
            Some(w) => Ok(w),
            None => bail!("replay window {name}: iteration {i} lies past the end of the bars"),
        }
    }
}

/// Unix seconds as ISO-8601 UTC (`2024-01-01T00:00:00Z`).
fn utc(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map_or_else(|| secs.to_string(), |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}
