//! Resource monitor: process RSS and the artifact directory's size after each
//! iteration, kept in `latest/RESOURCES.jsonl`. Separate from ITER_SUMMARY on
//! purpose: these numbers differ between machines and runs, and ITER_SUMMARY must
//! stay byte-identical for the same config and seed.

use std::path::Path;

use anyhow::Result;
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

/// The samples already recorded for iterations up to `upto` (after a resume).
pub fn load(latest: &Path, upto: u32) -> Vec<Sample> {
    let Ok(text) = std::fs::read_to_string(latest.join(FILE)) else { return Vec::new() };
    text.lines().filter_map(|l| serde_json::from_str::<Sample>(l).ok()).filter(|s| s.iteration <= upto).collect()
}

/// Records a sample and rewrites the file atomically.
pub fn record(latest: &Path, out: &Path, iteration: u32, samples: &mut Vec<Sample>) -> Result<()> {
    samples.push(Sample { iteration, rss_bytes: rss_bytes(), artifact_dir_bytes: dir_bytes(out) });
    let mut text = String::new();
    for s in samples.iter() {
        text.push_str(&serde_json::to_string(s)?);
        text.push('\n');
    }
    write_atomic(&latest.join(FILE), text.as_bytes())
}
