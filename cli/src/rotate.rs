//! Artifact lifecycle: keep the newest ITER_SUMMARY files, fold older ones into a
//! compressed history (nothing is lost), compress old run snapshots, warn on size.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context, Result};
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
    let mut out = Vec::new();
    for_each_history(latest, |s| {
        out.push(s);
        Ok(())
    })?;
    Ok(out)
}

/// Calls `f` with each summary folded into `latest/history.jsonl.gz`, oldest first,
/// one line at a time (the history is never held whole).
fn for_each_history(latest: &Path, mut f: impl FnMut(IterSummary) -> Result<()>) -> Result<()> {
    let path = latest.join(HISTORY);
    let Ok(file) = std::fs::File::open(&path) else { return Ok(()) };
    let mut reader = BufReader::new(MultiGzDecoder::new(file));
    let mut line = String::new();
    for n in 1.. {
        line.clear();
        if reader.read_line(&mut line).with_context(|| format!("{}: cannot decompress", path.display()))? == 0 {
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        let summary = serde_json::from_str(&line)
            .with_context(|| format!("{}: line {n} is not an ITER_SUMMARY", path.display()))?;
        f(summary)?;
    }
    Ok(())
}

/// Calls `f` with the summaries of iterations 1 to `upto` in order, read one at a
/// time from `latest`: those folded into the history first, then the
/// ITER_SUMMARY files (a crash during rotation can leave an iteration in both: the
/// first copy counts). A missing iteration is an error naming its file. Memory
/// stays flat however long the run was.
pub fn for_each_summary(latest: &Path, upto: u32, mut f: impl FnMut(IterSummary) -> Result<()>) -> Result<()> {
    let mut next = 1u32;
    let missing = |i: u32| format!("{} is missing", latest.join(format!("ITER_SUMMARY_{i}.json")).display());
    for_each_history(latest, |s| {
        if s.iteration < next || s.iteration > upto {
            return Ok(());
        }
        if s.iteration != next {
            bail!("{}", missing(next));
        }
        next += 1;
        f(s)
    })?;
    for (i, path) in summary_files(latest)? {
        if i < next || i > upto {
            continue;
        }
        if i != next {
            bail!("{}", missing(next));
        }
        let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        f(serde_json::from_slice(&bytes).with_context(|| format!("{} is corrupt", path.display()))?)?;
        next += 1;
    }
    if next <= upto {
        bail!("{}", missing(next));
    }
    Ok(())
}

/// Applies the retention policy to `out`; returns one line per action taken.
pub fn rotate(out: &Path, r: &Retention) -> Result<Vec<String>> {
    let mut done = Vec::new();
    let latest = out.join("latest");
    let files = summary_files(&latest)?;
    if files.len() > r.keep_summaries {
        let fold = &files[..files.len() - r.keep_summaries];
        let history_path = latest.join(HISTORY);
        // Streamed into a temp file beside the history, one summary at a time: a
        // long run's history is never held in memory.
        let tmp = crate::fsutil::temp_in(&latest)?;
        let mut gz = GzEncoder::new(BufWriter::new(tmp), Compression::default());
        let mut have = std::collections::BTreeSet::new();
        let write_line = |gz: &mut GzEncoder<BufWriter<tempfile::NamedTempFile>>, s: &IterSummary| -> Result<()> {
            serde_json::to_writer(&mut *gz, s)?;
            gz.write_all(b"\n").with_context(|| format!("cannot write {}", history_path.display()))
        };
        for_each_history(&latest, |s| {
            have.insert(s.iteration);
            write_line(&mut gz, &s)
        })?;
        for (i, path) in fold {
            if have.insert(*i) {
                let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
                let summary: IterSummary = serde_json::from_slice(&bytes)
                    .with_context(|| format!("{} is not an ITER_SUMMARY", path.display()))?;
                write_line(&mut gz, &summary)?;
            }
        }
        let tmp = gz
            .finish()
            .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
            .with_context(|| format!("cannot write {}", history_path.display()))?;
        tmp.as_file().sync_all().with_context(|| format!("cannot flush {}", history_path.display()))?;
        // History first (atomically), then delete: a crash in between leaves duplicates, never a loss.
        tmp.persist(&history_path)
            .map_err(|e| e.error)
            .with_context(|| format!("cannot replace {}", history_path.display()))?;
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
