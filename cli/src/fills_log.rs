//! Following a fills log a bot appends to (`--source fills`): each poll reads the
//! complete lines written since the last one, by byte offset.
//!
//! * A last line without its newline yet is half-written: it is left for the next
//!   poll (the offset stops before it).
//! * The bot truncated the log (it is shorter than the offset) or replaced it (a
//!   new file: another inode on Unix, another creation time elsewhere, or its first
//!   bytes differ from those first seen): reading restarts at the new file's
//!   start, and the poll says so.
//! * A line that cannot be used (not UTF-8, not JSON, a bad field) is counted with
//!   one error naming the file, the line and the field; it never stops the run.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use mmsoak_core::fills::{parse_line, FillsLine};

/// Bytes of the file's start kept to recognise a replaced file.
const HEAD_BYTES: usize = 64;
/// A "line" this long without a newline is junk, not a line still being written.
const MAX_LINE_BYTES: usize = 1 << 20;

/// What one poll read.
#[derive(Debug, Default)]
pub struct Batch {
    pub lines: Vec<FillsLine>,
    /// Lines that could not be used, each `FILE line N: field: why`.
    pub bad: Vec<String>,
    /// Unknown fields: the line number and the field's JSON path.
    pub unknown: Vec<(u64, String)>,
    /// Why reading restarted at the file's start, if it did.
    pub restarted: Option<String>,
}

/// Which file a path names: it changes when the bot replaces the file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Identity {
    #[cfg(unix)]
    Inode(u64, u64),
    #[cfg(not(unix))]
    Created(Option<std::time::SystemTime>),
}

fn identity(meta: &std::fs::Metadata) -> Identity {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Identity::Inode(meta.dev(), meta.ino())
    }
    #[cfg(not(unix))]
    {
        Identity::Created(meta.created().ok())
    }
}

pub struct FillsLog {
    path: PathBuf,
    offset: u64,
    /// Lines consumed from the current file (for error messages).
    line_no: u64,
    identity: Option<Identity>,
    head: Vec<u8>,
}

impl FillsLog {
    /// Follows `path` from its start (a missing file is read once it appears).
    pub fn from_start(path: &Path) -> FillsLog {
        FillsLog { path: path.to_path_buf(), offset: 0, line_no: 0, identity: None, head: Vec::new() }
    }

    /// Follows `path` from what it holds now: only lines written from here on count.
    pub fn from_end(path: &Path) -> Result<FillsLog> {
        let mut log = FillsLog::from_start(path);
        let Ok(mut file) = std::fs::File::open(path) else { return Ok(log) };
        let meta = file.metadata().with_context(|| format!("--fills {}", path.display()))?;
        let mut text = Vec::new();
        file.read_to_end(&mut text).with_context(|| format!("--fills {}: cannot read it", path.display()))?;
        // Stop before a half-written last line: it is new when it completes.
        let complete = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        log.offset = complete as u64;
        log.line_no = text[..complete].iter().filter(|b| **b == b'\n').count() as u64;
        log.identity = Some(identity(&meta));
        log.head = text[..text.len().min(HEAD_BYTES)].to_vec();
        Ok(log)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the complete lines appended since the last poll. Only a failure to
    /// read an existing file is an error; a missing file is an empty batch.
    pub fn poll(&mut self) -> Result<Batch> {
        let mut batch = Batch::default();
        let shown = self.path.display().to_string();
        let mut file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(batch),
            Err(e) => return Err(e).with_context(|| format!("--fills {shown}: cannot open it")),
        };
        let meta = file.metadata().with_context(|| format!("--fills {shown}"))?;
        let id = identity(&meta);
        let mut head = Vec::with_capacity(self.head.len());
        // `take`, not `read_exact`: the bot may shrink the file meanwhile.
        (&mut file)
            .take(self.head.len() as u64)
            .read_to_end(&mut head)
            .with_context(|| format!("--fills {shown}: cannot read it"))?;
        let why = if self.identity.as_ref().is_some_and(|known| *known != id) {
            Some("replaced by a new file")
        } else if meta.len() < self.offset {
            Some("truncated")
        } else if head != self.head {
            Some("replaced (its first bytes changed)")
        } else {
            None
        };
        if let Some(why) = why {
            batch.restarted = Some(format!(
                "{shown}: {why} (was {} bytes read, now {} bytes); reading from its start",
                self.offset,
                meta.len()
            ));
            self.offset = 0;
            self.line_no = 0;
            self.head.clear(); // the new file's start is read below
        }
        self.identity = Some(id);
        file.seek(SeekFrom::Start(self.offset)).with_context(|| format!("--fills {shown}: cannot seek"))?;
        let mut text = Vec::new();
        file.read_to_end(&mut text).with_context(|| format!("--fills {shown}: cannot read it"))?;
        let complete = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        for raw in text[..complete].split_inclusive(|b| *b == b'\n') {
            self.read_line(raw.strip_suffix(b"\n").unwrap_or(raw), &shown, &mut batch);
        }
        let mut consumed = complete;
        if text.len() - complete > MAX_LINE_BYTES {
            // Junk, not a line being written: count it and move past it.
            self.line_no += 1;
            batch
                .bad
                .push(format!("{shown} line {}: longer than {MAX_LINE_BYTES} bytes without a newline", self.line_no));
            consumed = text.len();
        }
        self.offset += consumed as u64;
        if self.head.len() < HEAD_BYTES {
            // Bytes once written at the start never change in a file only appended to.
            self.head = self.refresh_head(&mut file)?;
        }
        Ok(batch)
    }

    fn refresh_head(&self, file: &mut std::fs::File) -> Result<Vec<u8>> {
        file.seek(SeekFrom::Start(0)).context("--fills: cannot seek")?;
        let mut head = Vec::with_capacity(HEAD_BYTES);
        file.take(HEAD_BYTES as u64).read_to_end(&mut head).context("--fills: cannot read")?;
        Ok(head)
    }

    fn read_line(&mut self, raw: &[u8], shown: &str, batch: &mut Batch) {
        self.line_no += 1;
        let n = self.line_no;
        let Ok(text) = std::str::from_utf8(raw) else {
            batch.bad.push(format!("{shown} line {n}: not UTF-8 text"));
            return;
        };
        if text.trim().is_empty() {
            return;
        }
        match parse_line(text) {
            Ok((line, unknown)) => {
                batch.lines.push(line);
                batch.unknown.extend(unknown.into_iter().map(|f| (n, f)));
            }
            Err(e) => batch.bad.push(format!("{shown} line {n}: {e}")),
        }
    }
}
