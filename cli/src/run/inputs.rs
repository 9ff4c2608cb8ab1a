//! The run's input files as it started: their absolute paths, and the data
//! files' sizes and hashes that `--resume` checks.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use mmsoak_core::report::RunSettings;
use serde::{Deserialize, Serialize};

/// One input data file as the run started (see [`RunRecord::inputs`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputFile {
    /// Its absolute path, as in [`InputPaths::data`].
    pub path: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// sha256 of its bytes, hex.
    pub sha256: String,
}

impl InputFile {
    /// Reads the file once, streaming (a tick file can be hundreds of MB).
    pub(super) fn read(path: &str) -> std::io::Result<Self> {
        use sha2::{Digest, Sha256};
        let file = std::fs::File::open(path)?;
        let mut hasher = Sha256::new();
        let bytes = std::io::copy(&mut std::io::BufReader::with_capacity(1 << 20, file), &mut hasher)?;
        Ok(InputFile { path: path.to_string(), bytes, sha256: hex::encode(hasher.finalize()) })
    }

    /// Every data file in `paths`, each once. `known`: files the start-of-run
    /// scan already hashed whole (by their paths as given), not read again.
    pub(super) fn of(paths: &InputPaths, known: &[(PathBuf, crate::data::hashes::FileDigest)]) -> Result<Vec<Self>> {
        let known: Vec<(String, &crate::data::hashes::FileDigest)> =
            known.iter().map(|(p, d)| (absolute(&p.display().to_string()), d)).collect();
        let mut files: Vec<InputFile> = Vec::new();
        for path in &paths.data {
            if files.iter().any(|f| f.path == *path) {
                continue;
            }
            let file = match known.iter().find(|(p, _)| p == path) {
                Some((_, d)) => InputFile { path: path.clone(), bytes: d.bytes, sha256: d.sha256.clone() },
                None => Self::read(path).with_context(|| format!("cannot read {path}"))?,
            };
            files.push(file);
        }
        Ok(files)
    }

    /// Every recorded file that no longer holds the bytes the run started with
    /// (or cannot be read), in the record's order; empty when all are as they were.
    pub(crate) fn changed(recorded: &[Self]) -> Vec<&str> {
        recorded
            .iter()
            .filter(|was| Self::read(&was.path).ok().as_ref() != Some(*was))
            .map(|f| f.path.as_str())
            .collect()
    }

    /// `--resume`: every recorded file must still hold the bytes the run started
    /// with, or the resumed iterations would replay other data.
    /// Every changed file is named at once, so a user who restores them does not
    /// meet them one `--resume` at a time.
    pub(super) fn check_all(recorded: &[Self]) -> Result<()> {
        let mut changed = Vec::new();
        for was in recorded {
            let now = Self::read(&was.path).with_context(|| {
                format!(
                    "--resume: cannot read {}, a data file the run started with (restore it, or start a new run)",
                    was.path
                )
            })?;
            if now != *was {
                changed.push(format!(
                    "{} changed since the run started (recorded {} bytes sha256 {}, now {} bytes sha256 {})",
                    was.path, was.bytes, was.sha256, now.bytes, now.sha256
                ));
            }
        }
        if !changed.is_empty() {
            let restore = if changed.len() == 1 { "the file" } else { "the files" };
            bail!("--resume: {}; start a new run (without --resume) or restore {restore}", changed.join("; "));
        }
        Ok(())
    }
}

/// `p` resolved against the current directory: canonical (no `..`, no symlink
/// whose target may move), or absolute for a file that cannot be resolved (a
/// live bot's file is absolute already).
pub(super) fn absolute(p: &str) -> String {
    std::fs::canonicalize(p)
        .or_else(|_| std::path::absolute(p))
        .map_or_else(|_| p.to_string(), |a| a.display().to_string())
}

/// A run's input files, absolute (see [`RunRecord::paths`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InputPaths {
    /// `--data`: the bar or KPI file, or the tick files in the order of
    /// `settings.ticks.streams` flattened.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<String>,
    /// `--policy`: the plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
}

impl InputPaths {
    pub(super) fn is_empty(&self) -> bool {
        self.data.is_empty() && self.policy.is_none()
    }

    /// From the paths as recorded in `settings`, each [`absolute`].
    pub(super) fn of(settings: &RunSettings) -> Self {
        let abs = absolute;
        let data = match (&settings.ticks, settings.source.as_str(), &settings.data_file) {
            (Some(t), _, _) => t.streams.iter().flatten().map(|p| abs(p)).collect(),
            (None, "replay" | "kpis", Some(f)) => vec![abs(f)],
            _ => Vec::new(),
        };
        InputPaths { data, policy: settings.policy.as_ref().map(|p| abs(&p.file)) }
    }

    /// The file `--source` reads (`settings.data_file`), by its recorded absolute
    /// path for a bar or KPI file where the record has one (a live bot's is absolute).
    pub(crate) fn data_file<'a>(&'a self, settings: &'a RunSettings) -> Option<&'a String> {
        match settings.source.as_str() {
            "replay" | "kpis" => self.data.first().or(settings.data_file.as_ref()),
            _ => settings.data_file.as_ref(),
        }
    }

    /// The tick files to read: the absolute ones when recorded, else as typed.
    pub(crate) fn tick_files(&self, t: &mmsoak_core::report::TickSettings) -> Vec<PathBuf> {
        if self.data.is_empty() {
            t.streams.iter().flatten().map(PathBuf::from).collect()
        } else {
            self.data.iter().map(PathBuf::from).collect()
        }
    }
}
