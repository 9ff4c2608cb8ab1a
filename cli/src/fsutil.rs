//! Atomic artifact writes: a temp file in the target directory, fsync, rename, and
//! (on Unix) fsync of the directory, so a power cut leaves the old file or the new,
//! never half of one and never neither.
//!
//! `tempfile`'s persist replaces an existing file on Windows too (MoveFileEx with
//! MOVEFILE_REPLACE_EXISTING), but Windows refuses while another process has the
//! file open without FILE_SHARE_DELETE (a bot reading runtime_overrides.json):
//! ERROR_SHARING_VIOLATION or ERROR_ACCESS_DENIED. Such a replace is retried with
//! backoff for up to [`REPLACE_RETRY_BUDGET`]; if the file is still held, the error
//! names it, the old file is untouched and the temp file is removed.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;

/// How long a replace blocked by another process's open handle is retried (Windows).
pub const REPLACE_RETRY_BUDGET: Duration = Duration::from_secs(2);
/// First wait between attempts; doubles up to [`RETRY_MAX_DELAY`].
const RETRY_FIRST_DELAY: Duration = Duration::from_millis(10);
const RETRY_MAX_DELAY: Duration = Duration::from_millis(250);

/// A temp file in `dir` (so the rename stays on one file system) that is renamed
/// onto an artifact. It is created with mode 0666 less the umask, as any file
/// would be, not tempfile's private 0600: the artifacts are for other readers
/// (the bot, a merge, a dashboard run by another user).
pub fn temp_in(dir: &Path) -> Result<tempfile::NamedTempFile> {
    let mut b = tempfile::Builder::new();
    b.prefix(".mmsoak-tmp-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(0o666));
    }
    b.tempfile_in(dir).with_context(|| format!("cannot create a temporary file in {}", dir.display()))
}

/// Replaces `path` with `bytes` atomically and durably: the new content is on disk
/// (file and directory flushed) when this returns.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    replace(path, bytes, true)
}

/// Replaces `path` with `bytes` atomically but leaves flushing to a later
/// [`flush`] (see `checkpoint.rs`): readers, a crash of the process and a
/// `SIGKILL` see the old file or the new, never half; only a power cut before the
/// flush can lose it.
pub fn write_atomic_unsynced(path: &Path, bytes: &[u8]) -> Result<()> {
    replace(path, bytes, false)
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Flushes files written by [`write_atomic_unsynced`], in order, then each of
/// their directories once (the renames).
///
/// On Linux, more than a few files are flushed with one `syncfs(2)` on their file
/// system (one journal commit instead of one per file; it also flushes other dirty
/// data there, which costs the same or less than a flush per file on a quiet disk).
pub fn flush(paths: &[std::path::PathBuf]) -> Result<()> {
    #[cfg(target_os = "linux")]
    if paths.len() > 4 {
        use std::os::fd::AsRawFd;
        let mut dirs: Vec<&Path> = Vec::new();
        for dir in paths.iter().map(|p| parent_dir(p)) {
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
        let synced = dirs.iter().all(|dir| {
            // (A second directory on the same file system finds nothing left to flush.)
            std::fs::File::open(dir).is_ok_and(|d| {
                // SAFETY: syncfs only reads the descriptor, which `d` keeps open.
                unsafe { libc::syncfs(d.as_raw_fd()) == 0 }
            })
        });
        if synced {
            return Ok(());
        }
        // An error (EIO, or a kernel before 5.8 hiding one) falls back to per-file flushes.
    }
    let mut dirs: Vec<&Path> = Vec::new();
    for path in paths {
        // Windows' FlushFileBuffers needs a handle with write access.
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(cfg!(windows))
            .open(path)
            .with_context(|| format!("cannot open {} to flush it", path.display()))?;
        f.sync_all().with_context(|| format!("cannot flush {}", path.display()))?;
        let dir = parent_dir(path);
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    dirs.into_iter().try_for_each(sync_dir)
}

fn replace(path: &Path, bytes: &[u8], sync: bool) -> Result<()> {
    let dir = parent_dir(path);
    let mut tmp = temp_in(dir)?;
    tmp.write_all(bytes).with_context(|| format!("cannot write {}", path.display()))?;
    if sync {
        tmp.as_file().sync_all().with_context(|| format!("cannot flush {}", path.display()))?;
    }
    let started = Instant::now();
    let mut delay = RETRY_FIRST_DELAY;
    loop {
        match tmp.persist(path) {
            Ok(_) => break,
            Err(e) if held_open(&e.error) && started.elapsed() < REPLACE_RETRY_BUDGET => {
                tmp = e.file;
                std::thread::sleep(delay.min(REPLACE_RETRY_BUDGET.saturating_sub(started.elapsed())));
                delay = (delay * 2).min(RETRY_MAX_DELAY);
            }
            Err(e) => {
                let held = held_open(&e.error);
                // Dropping the temp file deletes it; the old file was never touched.
                drop(e.file);
                let err = anyhow::Error::new(e.error);
                return Err(if held {
                    err.context(format!(
                        "cannot replace {}: another process still holds it open after {} ms of retries \
                         (the previous file is unchanged)",
                        path.display(),
                        started.elapsed().as_millis()
                    ))
                } else {
                    err.context(format!("cannot replace {}", path.display()))
                });
            }
        }
    }
    if sync {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Windows' answer to replacing a file another handle holds without FILE_SHARE_DELETE:
/// ERROR_ACCESS_DENIED (5), ERROR_SHARING_VIOLATION (32), ERROR_LOCK_VIOLATION (33).
fn held_open(e: &std::io::Error) -> bool {
    cfg!(windows) && matches!(e.raw_os_error(), Some(5 | 32 | 33))
}

/// Makes the rename itself durable: a directory entry reaches the disk only when the
/// directory is flushed (POSIX fsync on the directory). Windows has no equivalent.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<()> {
    let d = std::fs::File::open(dir).with_context(|| format!("cannot open directory {}", dir.display()))?;
    match d.sync_all() {
        // Some file systems cannot flush a directory (EINVAL): nothing more to do there.
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => Ok(()),
        other => other.with_context(|| format!("cannot flush directory {}", dir.display())),
    }
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<()> {
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

pub fn write_json_unsynced<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    write_atomic_unsynced(path, &json_bytes(value)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_files_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runtime_overrides.json");
        write_atomic(&path, b"{\"a\": 1}\n").unwrap();
        write_atomic(&path, b"{\"a\": 2}\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"a\": 2}\n");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("runtime_overrides.json")]);
    }

    #[test]
    fn a_failed_replace_names_the_file_and_removes_the_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: the rename fails on every platform.
        let path = dir.path().join("runtime_overrides.json");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("keep"), b"x").unwrap();
        let e = format!("{:#}", write_atomic(&path, b"new").unwrap_err());
        assert!(e.contains("runtime_overrides.json"), "{e}");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("runtime_overrides.json")], "temp file left behind");
    }

    /// Artifacts are readable as any file the user creates is (0666 less the
    /// umask), not private like a temp file: a bot run as another user reads
    /// runtime_overrides.json.
    #[cfg(target_os = "linux")]
    #[test]
    fn artifacts_get_the_umask_mode_not_the_temp_files_0600() {
        use std::os::unix::fs::PermissionsExt;
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let umask = status.lines().find_map(|l| l.strip_prefix("Umask:")).unwrap().trim();
        let umask = u32::from_str_radix(umask, 8).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runtime_overrides.json");
        write_atomic(&path, b"{}\n").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o666 & !umask, "mode {mode:o} with umask {umask:o}");
    }
}
