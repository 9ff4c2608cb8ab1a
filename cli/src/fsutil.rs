//! Atomic artifact writes: a temp file in the target directory, fsync, rename.
//! `tempfile`'s persist replaces an existing file on Windows too (MoveFileEx with
//! MOVEFILE_REPLACE_EXISTING), so readers see the old bytes or the new, never half.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".mmsoak-tmp-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    tmp.write_all(bytes).with_context(|| format!("cannot write {}", path.display()))?;
    tmp.as_file().sync_all().with_context(|| format!("cannot flush {}", path.display()))?;
    tmp.persist(path).map_err(|e| e.error).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

/// Pretty JSON with `\n` line endings and a final newline, on every platform.
/// The core's formatting, so the web app's artifacts (made by the core) are the same bytes.
pub fn json_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    Ok(mmsoak_core::session::try_artifact(value).context("serializing an artifact")?.into_bytes())
}

pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    write_atomic(path, &json_bytes(value)?)
}
