//! Checking, before a command starts, that a file it will write can be written:
//! a typo or a permission problem costs one error line naming the flag and the
//! path (exit 2), not a run that fails after it has started writing elsewhere.

use std::path::Path;

use anyhow::{bail, Context, Result};

/// How the file will be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    /// Replaced atomically (a temp file in its directory, then a rename): the
    /// directory must take a new file.
    Replace,
    /// Appended to (a bot's fills log): an existing file must be a regular file
    /// open for appending; a missing one must be creatable in its directory.
    Append,
}

/// Checks that `path` (given with `flag`) can be written as `how` says. Nothing is
/// created: the check makes a temp file in the directory and removes it.
///
/// Errors, each naming `flag` and `path`: the path is empty; it is a directory;
/// its directory does not exist or takes no new file; it exists but is not a
/// regular file (a FIFO, socket or device: opening a FIFO would block until a
/// reader comes); it is a dangling symbolic link; it cannot be opened for
/// appending (read-only, no permission).
pub fn check(flag: &str, path: &Path, how: Write) -> Result<()> {
    if path.as_os_str().is_empty() {
        bail!("{flag}: the path is empty");
    }
    let shown = path.display();
    if path.is_dir() {
        bail!("{flag} {shown}: is a directory, not a file");
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        bail!("{flag} {shown}: directory {} does not exist", dir.display());
    }
    // `metadata` follows a symbolic link: what is checked is what will be written.
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => {
            // Opening a FIFO would block until a reader or writer comes; a replace
            // would swap a device or FIFO someone set up for a plain file.
            bail!("{flag} {shown}: is not a regular file (a FIFO, socket or device)");
        }
        Ok(_) if how == Write::Append => {
            std::fs::OpenOptions::new()
                .append(true)
                .open(path)
                .with_context(|| format!("{flag} {shown}: cannot open it for appending"))?;
        }
        _ => {
            if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) && !path.exists() {
                // A replace would put a file in place of the link, not at its target.
                let target = std::fs::read_link(path).map(|t| t.display().to_string()).unwrap_or_default();
                bail!("{flag} {shown}: is a symbolic link to {target}, which does not exist");
            }
            tempfile::tempfile_in(dir)
                .with_context(|| format!("{flag} {shown}: directory {} is not writable", dir.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(flag: &str, path: &Path, how: Write) -> String {
        format!("{:#}", check(flag, path, how).unwrap_err())
    }

    #[test]
    fn names_the_flag_the_path_and_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert!(err("--fills", d, Write::Append).ends_with("is a directory, not a file"));
        let missing = d.join("no/such/f.jsonl");
        let e = err("--export-html", &missing, Write::Replace);
        assert!(e.starts_with(&format!("--export-html {}: directory", missing.display())), "{e}");
        assert!(e.ends_with("does not exist"), "{e}");
        assert!(err("--out", Path::new(""), Write::Replace).contains("--out: the path is empty"));
        // A new file and an existing regular file are fine, and the check creates nothing.
        check("--fills", &d.join("new.jsonl"), Write::Append).unwrap();
        std::fs::write(d.join("old.jsonl"), b"{}\n").unwrap();
        check("--fills", &d.join("old.jsonl"), Write::Append).unwrap();
        let names: Vec<_> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("old.jsonl")]);
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_and_a_dangling_link_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo with a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        assert!(err("--fills", &fifo, Write::Append).contains("is not a regular file"));
        assert!(err("--report", &fifo, Write::Replace).contains("is not a regular file"));
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(dir.path().join("gone/f.jsonl"), &link).unwrap();
        assert!(err("--fills", &link, Write::Append).contains("is a symbolic link to"));
        assert!(err("--export-html", &link, Write::Replace).contains("is a symbolic link to"));
    }

    #[cfg(unix)]
    #[test]
    fn a_read_only_log_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ro.jsonl");
        std::fs::write(&f, b"").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o444)).unwrap();
        // root may write a read-only file; the check must then agree that it can.
        let writable = std::fs::OpenOptions::new().append(true).open(&f).is_ok();
        assert_eq!(check("--fills", &f, Write::Append).is_ok(), writable);
        if !writable {
            assert!(err("--fills", &f, Write::Append).contains("cannot open it for appending"));
        }
    }
}
