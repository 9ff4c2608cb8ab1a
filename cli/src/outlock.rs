//! One writer per artifact directory: a run (or a rotation) holds an exclusive lock
//! on `<out>/mmsoak.lock` while it writes, so two soaks pointed at the same `--out`
//! cannot interleave their files. std's file locks are advisory `flock` on Unix
//! and `LockFileEx` on Windows; the OS drops the lock if the process dies.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use anyhow::{bail, Context, Result};

pub const LOCK_FILE: &str = "mmsoak.lock";

/// Held for as long as it lives.
pub struct OutLock {
    _file: File,
}

pub fn acquire(out: &Path) -> Result<OutLock> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create --out directory {}", out.display()))?;
    let path = out.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open the lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(OutLock { _file: file }),
        Err(TryLockError::WouldBlock) => bail!(
            "another mmsoak is writing to {} (it holds {}); wait for it or choose another --out",
            out.display(),
            path.display()
        ),
        Err(TryLockError::Error(e)) => Err(e).with_context(|| format!("cannot lock {}", path.display())),
    }
}
