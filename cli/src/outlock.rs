//! One writer per artifact directory: a run (or a rotation) holds an exclusive lock
//! on `<out>/mmsoak.lock` while it writes, so two soaks pointed at the same `--out`
//! cannot interleave their files. std's file locks are advisory `flock` on Unix
//! and `LockFileEx` on Windows; the OS drops the lock if the process dies.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

pub const LOCK_FILE: &str = "mmsoak.lock";

/// Held for as long as it lives.
pub struct OutLock {
    _file: File,
    /// The directory, when taking the lock created it.
    created: Option<PathBuf>,
}

impl OutLock {
    /// Lets go of a lock nothing was written under: the lock file goes, and so does
    /// the directory if taking the lock created it (and it is still empty), so a
    /// run stopped before its first write leaves no trace.
    pub fn release_unused(self) {
        let OutLock { _file, created } = self;
        drop(_file); // Windows cannot remove a file that is open.
        if let Some(dir) = created {
            let _ = std::fs::remove_file(dir.join(LOCK_FILE));
            let _ = std::fs::remove_dir(&dir);
        }
    }
}

pub fn acquire(out: &Path) -> Result<OutLock> {
    let created = (!out.exists()).then(|| out.to_path_buf());
    std::fs::create_dir_all(out).with_context(|| format!("cannot create --out directory {}", out.display()))?;
    let path = out.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open the lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(OutLock { _file: file, created }),
        Err(TryLockError::WouldBlock) => bail!(
            "another mmsoak is writing to {} (it holds {}); wait for it or choose another --out",
            out.display(),
            path.display()
        ),
        Err(TryLockError::Error(e)) => Err(e).with_context(|| format!("cannot lock {}", path.display())),
    }
}

#[cfg(test)]
mod unused_tests {
    use super::*;

    /// A run stopped before its first write leaves a fresh --out as it found it
    /// (absent), and an existing one without its lock file but otherwise untouched.
    #[test]
    fn an_unused_lock_leaves_no_trace() {
        let tmp = tempfile::tempdir().unwrap();
        let fresh = tmp.path().join("fresh");
        acquire(&fresh).unwrap().release_unused();
        assert!(!fresh.exists());
        let existing = tmp.path().join("existing");
        std::fs::create_dir(&existing).unwrap();
        std::fs::write(existing.join("keep.txt"), "x").unwrap();
        acquire(&existing).unwrap().release_unused();
        assert!(existing.join("keep.txt").exists());
        assert!(
            existing.join(LOCK_FILE).exists(),
            "an existing directory's lock file is left as a normal run leaves it"
        );
    }
}
