//! sha256 of a data file's raw bytes (compressed, as on disk), taken while the
//! start-of-run scan reads it, so that RUN.json's record of the inputs (what
//! `--resume` compares against) costs no second pass over hundreds of MB. The
//! hash sits under the gzip decoder: it sees the file's bytes, not the text.
//!
//! A digest is handed out only for a file read to its end; one the scan left
//! early (it cannot today, but a reader may stop at bad data) is hashed again
//! by its caller. The start-of-run stamps ([`super::stamps`]) guarantee that the
//! bytes hashed here are the bytes the file still holds when the record is written.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use sha2::{Digest, Sha256};

/// Size and sha256 (hex) of a file read whole.
#[derive(Debug, Clone, PartialEq)]
pub struct FileDigest {
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Default)]
struct Running {
    hasher: Sha256,
    bytes: u64,
    /// The underlying reader returned 0: every byte went through the hasher.
    at_end: bool,
    /// Opened more than once: the running digest would mix two passes.
    reopened: bool,
}

/// The digests of the files read through [`Hashes::reader`], by path as opened.
#[derive(Clone, Default)]
pub struct Hashes {
    files: Rc<RefCell<BTreeMap<PathBuf, Rc<RefCell<Running>>>>>,
}

impl Hashes {
    /// `inner` (the file opened at its first byte), hashing what is read through it.
    pub fn reader<R: Read>(&self, path: &Path, inner: R) -> HashingReader<R> {
        let mut files = self.files.borrow_mut();
        let running = files.entry(path.to_path_buf()).or_default();
        if running.borrow().bytes > 0 || running.borrow().at_end {
            running.borrow_mut().reopened = true;
        }
        HashingReader { inner, running: Rc::clone(running) }
    }

    /// Each file read to its end exactly once, with its size and sha256.
    pub fn finished(&self) -> Vec<(PathBuf, FileDigest)> {
        self.files
            .borrow()
            .iter()
            .filter_map(|(path, running)| {
                let r = running.borrow();
                (r.at_end && !r.reopened).then(|| {
                    let sha256 = hex::encode(r.hasher.clone().finalize());
                    (path.clone(), FileDigest { bytes: r.bytes, sha256 })
                })
            })
            .collect()
    }
}

/// A reader that feeds every byte it passes on to its file's running sha256.
pub struct HashingReader<R> {
    inner: R,
    running: Rc<RefCell<Running>>,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut r = self.running.borrow_mut();
        if n == 0 && !buf.is_empty() {
            r.at_end = true;
        } else {
            r.hasher.update(&buf[..n]);
            r.bytes += n as u64;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    #[test]
    fn a_file_read_to_its_end_once_has_its_digest_and_no_other_does() {
        let hashes = Hashes::default();
        let whole = b"line 1\nline 2\n".repeat(1000);
        let mut r = hashes.reader(Path::new("whole"), &whole[..]);
        let mut sink = Vec::new();
        // Small reads, as a BufReader's refills are.
        let mut buf = [0u8; 7];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            sink.extend_from_slice(&buf[..n]);
        }
        let mut part = hashes.reader(Path::new("part"), &whole[..]);
        part.read_exact(&mut buf).unwrap();
        let mut twice = hashes.reader(Path::new("twice"), &b"ab"[..]);
        std::io::copy(&mut twice, &mut std::io::sink()).unwrap();
        let mut again = hashes.reader(Path::new("twice"), &b"ab"[..]);
        std::io::copy(&mut again, &mut std::io::sink()).unwrap();
        assert_eq!(
            hashes.finished(),
            vec![(PathBuf::from("whole"), FileDigest { bytes: whole.len() as u64, sha256: sha(&whole) })]
        );
    }
}
