//! Whether the data files stayed put while a run was starting.
//!
//! A fresh run reads its data more than once before its first iteration: the
//! start-of-run scan checks every line, then the files are read again for the
//! sha256 RUN.json records (what `--resume` compares against), and a bar or KPI
//! file a third time to load it. A file written to in between (a download still
//! running, a copy over it) would leave a record whose hash is not of the bytes
//! the scan passed, and a run that meets the difference mid-way with the wrong
//! advice. So each file's stamp (size, modification time and, on Unix, device
//! and inode: a file replaced by a rename) is taken before the first read and
//! compared after the last; any difference refuses the run before anything is
//! written. `--resume` stamps its data files before it compares them with the
//! sha256 RUN.json records, and checks the stamps the same way.
//!
//! A tick replay reads its files a little at a time, all run long, so a file
//! written to after the start would be replayed as written. The replay keeps the
//! stamps of the files it reads ([`Stamps::check_replayed`], a metadata call per
//! file) and checks them after every iteration, before the iteration is kept: a
//! change stops the run there ([`Changed`]), as bad data met mid-run does.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{bail, Result};

/// One file's stamp; `None` when it cannot be read (the reads report that).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    bytes: u64,
    modified: Option<SystemTime>,
    /// (device, inode) on Unix; a replaced file has a new inode.
    id: Option<(u64, u64)>,
    /// The inode's change time on Unix (seconds, nanoseconds): every write moves
    /// it, and unlike the modification time it cannot be set back, so an edit
    /// that puts the modification time back is seen too. (A chmod moves it as
    /// well: a false stop, which `--resume` then continues, beats a silent replay.)
    status_changed: Option<(i64, i64)>,
}

impl Stamp {
    fn of(path: &Path) -> Option<Self> {
        let m = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        let (id, status_changed) = {
            use std::os::unix::fs::MetadataExt;
            (Some((m.dev(), m.ino())), Some((m.ctime(), m.ctime_nsec())))
        };
        #[cfg(not(unix))]
        let (id, status_changed) = (None, None);
        Some(Stamp { bytes: m.len(), modified: m.modified().ok(), id, status_changed })
    }
}

/// The stamps of a run's data files as its start-of-run checks begin.
#[derive(Debug, Clone, Default)]
pub struct Stamps(Vec<(PathBuf, Option<Stamp>)>);

impl Stamps {
    /// Stamps every file in `paths` (each once).
    pub fn take(paths: &[PathBuf]) -> Self {
        let mut stamps: Vec<(PathBuf, Option<Stamp>)> = Vec::new();
        for p in paths {
            if !stamps.iter().any(|(q, _)| q == p) {
                stamps.push((p.clone(), Stamp::of(p)));
            }
        }
        Stamps(stamps)
    }

    /// Adds `other`'s files not stamped yet, with their stamps as taken.
    pub fn add(&mut self, other: &Stamps) {
        for (p, stamp) in &other.0 {
            if !self.0.iter().any(|(q, _)| q == p) {
                self.0.push((p.clone(), stamp.clone()));
            }
        }
    }

    /// Every file whose stamp differs from the one taken, with what changed.
    fn changes(&self) -> Vec<ChangedFile> {
        let mut changed = Vec::new();
        for (path, was) in &self.0 {
            let now = Stamp::of(path);
            if now == *was {
                continue;
            }
            let how = match (was, &now) {
                (Some(a), Some(b)) if a.id != b.id => How::Replaced,
                (Some(a), Some(b)) if a.bytes < b.bytes => How::Grew(a.bytes, b.bytes),
                (Some(a), Some(b)) if a.bytes > b.bytes => How::Cut(a.bytes, b.bytes),
                (Some(a), Some(b)) if a.modified != b.modified => How::Modified,
                (Some(_), Some(_)) => How::StatusChanged,
                (Some(_), None) => How::Removed,
                (None, _) => How::Appeared,
            };
            changed.push(ChangedFile { path: path.clone(), how });
        }
        changed
    }

    /// Errs naming every file whose stamp differs from the one taken, with what
    /// changed, and what to do.
    pub fn check_unchanged(&self) -> Result<()> {
        let changed = self.changes();
        if changed.is_empty() {
            return Ok(());
        }
        let them = if changed.len() == 1 { "it is" } else { "they are" };
        bail!(
            "{} while the run was starting: the start-of-run checks and the sha256 recorded for \
             --resume may have read different bytes, so nothing was run or written; start the run again \
             once {them} complete",
            said(&changed, None)
        )
    }

    /// During a tick replay: a [`Changed`] naming every file whose stamp differs
    /// from the one taken, with what changed.
    pub fn check_replayed(&self) -> Result<(), Changed> {
        let files = self.changes();
        if files.is_empty() {
            return Ok(());
        }
        Err(Changed { message: format!("{} during the run", said(&files, None)), files })
    }
}

/// What a file's stamp says happened to it. The stamp cannot tell a write that
/// kept the size from a `touch` (both move the modification time), so
/// [`How::Modified`] says only what it saw, unless the caller knows from the
/// file's sha256 whether its bytes changed ([`ChangedFile::said`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// Another inode under the path (a rename over it).
    Replaced,
    Grew(u64, u64),
    Cut(u64, u64),
    /// Same size, the modification time moved.
    Modified,
    /// Same size and modification time, the inode's change time moved.
    StatusChanged,
    Removed,
    Appeared,
}

/// A file whose stamp changed, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedFile {
    pub path: PathBuf,
    pub how: How,
}

impl ChangedFile {
    /// `PATH what-happened`, a clause of its own (no brackets). `bytes_changed`:
    /// whether the file's sha256 differs from the run's record, where known.
    pub fn said(&self, bytes_changed: Option<bool>) -> String {
        let how = match (self.how, bytes_changed) {
            (How::Replaced, _) => "was replaced by another file".to_string(),
            (How::Grew(a, b), _) => format!("grew from {a} to {b} bytes"),
            (How::Cut(a, b), _) => format!("was cut from {a} to {b} bytes"),
            (How::Modified, Some(true)) => "was written to (same size)".to_string(),
            (How::Modified, Some(false)) => "was touched (its modification time moved)".to_string(),
            (How::Modified, None) => "had its modification time moved (same size)".to_string(),
            (How::StatusChanged, _) => "had its permissions or owner changed, or was written to with its \
                                        modification time put back (same size and modification time, its \
                                        inode's change time moved)"
                .to_string(),
            (How::Removed, _) => "was removed or can no longer be read".to_string(),
            (How::Appeared, _) => "appeared".to_string(),
        };
        format!("{} {how}", self.path.display())
    }
}

/// The files said one after another ("A grew …, and B was cut …").
/// `bytes_changed(file)`: as in [`ChangedFile::said`].
pub fn said(files: &[ChangedFile], bytes_changed: Option<&dyn Fn(&ChangedFile) -> bool>) -> String {
    let each: Vec<String> = files.iter().map(|f| f.said(bytes_changed.map(|b| b(f)))).collect();
    match each.as_slice() {
        [init @ .., last] if !init.is_empty() => format!("{}, and {last}", init.join(", ")),
        _ => each.join(""),
    }
}

/// A tick data file that changed while the run replayed it (see the module
/// docs): the run stops as on bad data met mid-run (exit 2), keeping the
/// iterations done before the change was seen.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Changed {
    /// The files and what happened to them, "during the run".
    pub message: String,
    pub files: Vec<ChangedFile>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_written_replaced_or_removed_after_the_stamp_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (dir.path().join("a.csv"), dir.path().join("b.csv"), dir.path().join("c.csv"));
        for p in [&a, &b, &c] {
            std::fs::write(p, "time,price\n1,100\n").unwrap();
        }
        let stamps = Stamps::take(&[a.clone(), b.clone(), c.clone(), a.clone()]);
        stamps.check_unchanged().unwrap();
        // Grown by a writer still at work.
        std::fs::write(&a, "time,price\n1,100\n2,101\n").unwrap();
        // Replaced through a rename, same size.
        let tmp = dir.path().join("b.tmp");
        std::fs::write(&tmp, "time,price\n1,999\n").unwrap();
        std::fs::rename(&tmp, &b).unwrap();
        let text = format!("{:#}", stamps.check_unchanged().unwrap_err());
        #[cfg(unix)]
        assert!(
            text.starts_with(&format!(
                "{} grew from 17 to 23 bytes, and {} was replaced by another file while the run was starting: ",
                a.display(),
                b.display()
            )),
            "{text}"
        );
        assert!(!text.contains("c.csv"), "{text}");
        assert!(text.contains("nothing was run or written"), "{text}");
        std::fs::remove_file(&c).unwrap();
        let text = format!("{:#}", Stamps::take(std::slice::from_ref(&c)).check_unchanged().map(|_| "same").unwrap());
        assert_eq!(text, "same", "a file missing at both looks is the reads' to report");
        std::fs::write(&c, "x").unwrap();
        let gone = Stamps::take(std::slice::from_ref(&c));
        std::fs::remove_file(&c).unwrap();
        let text = format!("{:#}", gone.check_unchanged().unwrap_err());
        assert!(text.starts_with(&format!("{} was removed or can no longer be read while", c.display())), "{text}");
    }

    #[test]
    fn a_replayed_file_changed_is_named_with_what_changed_and_reading_it_is_not_a_change() {
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (dir.path().join("a.csv"), dir.path().join("b.csv"), dir.path().join("c.csv"));
        for p in [&a, &b, &c] {
            std::fs::write(p, "time,price\n1,100\n2,101\n").unwrap();
        }
        let stamps = Stamps::take(&[a.clone(), b.clone(), c.clone()]);
        // Reading (which may move the access time) changes nothing.
        std::fs::File::open(&a).unwrap().read_to_end(&mut Vec::new()).unwrap();
        stamps.check_replayed().unwrap();
        // Written in place, same size (the modification time moved on).
        std::fs::write(&a, "time,price\n1,100\n2,102\n").unwrap();
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options().write(true).open(&a).unwrap().set_modified(later).unwrap();
        // Cut short.
        std::fs::write(&b, "time,price\n").unwrap();
        let text = stamps.check_replayed().unwrap_err().to_string();
        // The stamp cannot tell this write from a `touch`: it says what it saw (the
        // stop line, which knows the sha256, says which).
        assert_eq!(
            text,
            format!(
                "{} had its modification time moved (same size), and {} was cut from 23 to 11 bytes during the run",
                a.display(),
                b.display()
            )
        );
        std::fs::remove_file(&c).unwrap();
        let text = Stamps::take(std::slice::from_ref(&a)).check_replayed().map(|_| "same").unwrap();
        assert_eq!(text, "same");
        let text = stamps.check_replayed().unwrap_err().to_string();
        assert!(
            text.ends_with(&format!(", and {} was removed or can no longer be read during the run", c.display())),
            "{text}"
        );
    }

    /// An edit that keeps the size and puts the modification time back (tester:
    /// a valid price changed in place, `os.utime` after) is still seen on Unix.
    #[cfg(unix)]
    #[test]
    fn an_edit_with_its_modification_time_put_back_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.csv");
        std::fs::write(&a, "time,price\n1,100\n").unwrap();
        let before = std::fs::metadata(&a).unwrap().modified().unwrap();
        let stamps = Stamps::take(std::slice::from_ref(&a));
        // The change time has a clock's resolution: let it move.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&a, "time,price\n1,109\n").unwrap();
        std::fs::File::options().write(true).open(&a).unwrap().set_modified(before).unwrap();
        assert_eq!(std::fs::metadata(&a).unwrap().modified().unwrap(), before);
        let text = stamps.check_replayed().unwrap_err().to_string();
        assert_eq!(
            text,
            format!(
                "{} had its permissions or owner changed, or was written to with its modification time put back \
                 (same size and modification time, its inode's change time moved) during the run",
                a.display()
            )
        );
    }
}
