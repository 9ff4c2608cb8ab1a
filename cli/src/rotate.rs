//! Artifact lifecycle: keep the newest ITER_SUMMARY files, fold older ones into a
//! compressed history (nothing is lost), compress old run snapshots, warn on size.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use mmsoak_core::soak::IterSummary;

use crate::config::Retention;
use crate::fsutil::write_atomic;

pub const HISTORY: &str = "history.jsonl.gz";

/// ITER_SUMMARY files in `latest`, by iteration number (numeric order, so 99 comes before 149).
pub fn summary_files(latest: &Path) -> Result<Vec<(u32, PathBuf)>> {
    let mut files = Vec::new();
    let Ok(dir) = std::fs::read_dir(latest) else { return Ok(files) };
    for entry in dir {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if let Some(i) =
            name.strip_prefix("ITER_SUMMARY_").and_then(|r| r.strip_suffix(".json")).and_then(|n| n.parse().ok())
        {
            files.push((i, path));
        }
    }
    files.sort_by_key(|(i, _)| *i);
    Ok(files)
}

/// Every summary folded into `latest/history.jsonl.gz`, oldest first.
pub fn read_history(latest: &Path) -> Result<Vec<IterSummary>> {
    let path = latest.join(HISTORY);
    let Ok(file) = std::fs::File::open(&path) else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for (n, line) in BufReader::new(MultiGzDecoder::new(file)).lines().enumerate() {
        let line = line.with_context(|| format!("{}: cannot decompress", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(
            serde_json::from_str(&line)
                .with_context(|| format!("{}: line {} is not an ITER_SUMMARY", path.display(), n + 1))?,
        );
    }
    Ok(out)
}

/// Applies the retention policy to `out`; returns one line per action taken.
pub fn rotate(out: &Path, r: &Retention) -> Result<Vec<String>> {
    let mut done = Vec::new();
    let latest = out.join("latest");
    let files = summary_files(&latest)?;
    if files.len() > r.keep_summaries {
        let fold = &files[..files.len() - r.keep_summaries];
        let history_path = latest.join(HISTORY);
        let mut kept: Vec<String> = Vec::new();
        let mut have = std::collections::BTreeSet::new();
        for s in read_history(&latest)? {
            have.insert(s.iteration);
            kept.push(serde_json::to_string(&s)?);
        }
        for (i, path) in fold {
            if have.insert(*i) {
                let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
                let summary: IterSummary = serde_json::from_slice(&bytes)
                    .with_context(|| format!("{} is not an ITER_SUMMARY", path.display()))?;
                kept.push(serde_json::to_string(&summary)?);
            }
        }
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        for line in &kept {
            gz.write_all(line.as_bytes())?;
            gz.write_all(b"\n")?;
        }
        // History first (atomically), then delete: a crash in between leaves duplicates, never a loss.
        write_atomic(&history_path, &gz.finish()?)?;
        for (_, path) in fold {
            std::fs::remove_file(path).with_context(|| format!("cannot remove {}", path.display()))?;
        }
        done.push(format!(
            "folded {} ITER_SUMMARY files (iterations {}..{}) into {}",
            fold.len(),
            fold[0].0,
            fold[fold.len() - 1].0,
            history_path.display()
        ));
    }
    let runs = out.join("runs");
    if let Ok(entries) = std::fs::read_dir(&runs) {
        let cutoff = SystemTime::now() - Duration::from_secs(r.compress_after_days * 86_400);
        for entry in entries.flatten() {
            let path = entry.path();
            let old = entry.metadata().and_then(|m| m.modified()).map(|t| t < cutoff).unwrap_or(false);
            if path.is_dir() && old {
                let archive = path.with_extension("tar.gz");
                compress_dir(&path, &archive)?;
                std::fs::remove_dir_all(&path).with_context(|| format!("cannot remove {}", path.display()))?;
                done.push(format!("compressed {} into {}", path.display(), archive.display()));
            }
        }
    }
    let total = crate::resources::dir_bytes(out);
    if total > r.warn_total_mb * 1024 * 1024 {
        done.push(format!(
            "warning: {} holds {} MB, above the {} MB limit (retention.warn_total_mb)",
            out.display(),
            total / (1024 * 1024),
            r.warn_total_mb
        ));
    }
    Ok(done)
}

fn compress_dir(dir: &Path, archive: &Path) -> Result<()> {
    let mut tar = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    let name = dir.file_name().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("run"));
    tar.append_dir_all(&name, dir).with_context(|| format!("cannot archive {}", dir.display()))?;
    let bytes = tar.into_inner()?.finish()?;
    write_atomic(archive, &bytes)
}
