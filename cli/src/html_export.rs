//! `mmsoak run --export-html FILE`: the path checked before the run starts, the
//! report rendered by the core (`mmsoak_core::html_report`) and written atomically.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use mmsoak_core::html_report::{render, ThresholdResult};
use mmsoak_core::report::TuningReport;

use crate::fsutil::write_atomic;

/// Checks, before anything runs, that `path` can be written: not a directory, in an
/// existing, writable directory. The error names the flag and the path.
pub fn check(path: &Path) -> Result<PathBuf> {
    if path.as_os_str().is_empty() {
        bail!("--export-html: the path is empty");
    }
    if path.is_dir() {
        bail!("--export-html {}: is a directory, not a file", path.display());
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        bail!("--export-html {}: directory {} does not exist", path.display(), parent.display());
    }
    tempfile::tempfile_in(parent)
        .with_context(|| format!("--export-html {}: directory {} is not writable", path.display(), parent.display()))?;
    Ok(path.to_path_buf())
}

/// Writes the HTML report. `thresholds` are the run's threshold results (none yet:
/// the `[thresholds]` gate fills them in).
pub fn write(path: &Path, report: &TuningReport, thresholds: &[ThresholdResult]) -> Result<()> {
    write_atomic(path, render(report, thresholds).as_bytes())
        .with_context(|| format!("--export-html {}", path.display()))
}
