//! Resource monitor: process RSS and the artifact directory's size after each
//! iteration, kept in `latest/RESOURCES.jsonl`. Separate from ITER_SUMMARY on
//! purpose: these numbers differ between machines and runs, and ITER_SUMMARY must
//! stay byte-identical for the same config and seed.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::fsutil::write_atomic;

pub const FILE: &str = "RESOURCES.jsonl";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sample {
    pub iteration: u32,
    /// Resident set size of the mmsoak process, bytes (None where the OS does not say).
    pub rss_bytes: Option<u64>,
    pub artifact_dir_bytes: u64,
}

/// Resident set size from /proc (Linux); other platforms report none.
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

pub fn dir_bytes(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else { return 0 };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(path).map(|d| d.flatten().map(|e| dir_bytes(&e.path())).sum()).unwrap_or(0)
}

/// Keeps the samples of iterations up to `upto` and drops the rest (a resumed run
/// records them again; a line a crash cut short does not parse and goes too). The
/// file is rewritten here, once per run, atomically.
pub fn keep_upto(latest: &Path, upto: u32) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(latest.join(FILE)) else { return Ok(()) };
    let mut kept = String::new();
    for line in text.lines() {
        if serde_json::from_str::<Sample>(line).is_ok_and(|s| s.iteration <= upto) {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    write_atomic(&latest.join(FILE), kept.as_bytes())
}

/// Records a sample: one line appended, so the cost and the memory of a sample do
/// not grow with the run. (Not fsynced: these numbers are machine-dependent and
/// never read back except by [`keep_upto`].)
pub fn record(latest: &Path, out: &Path, iteration: u32) -> Result<()> {
    let sample = Sample { iteration, rss_bytes: rss_bytes(), artifact_dir_bytes: dir_bytes(out) };
    let mut line = serde_json::to_string(&sample)?;
    line.push('\n');
    let path = latest.join(FILE);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    file.write_all(line.as_bytes()).with_context(|| format!("cannot write {}", path.display()))
}
