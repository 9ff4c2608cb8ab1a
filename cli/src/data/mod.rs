//! Reading market data files: transparent gzip, line by line with errors that
//! name file and line; grouping files into the streams the core merges
//! ([`streams`]); the chunked reader that hands the core whole lines ([`reader`]).

pub mod bars;
pub mod gz;
pub mod hashes;
pub mod reader;
pub mod stamps;
pub mod streams;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{Context, Result};

/// Bad market data met while a run replays it, after the start-of-run scan
/// passed (a file edited or replaced during the run): an input error (exit 2),
/// one line naming the file, the line and the bad value.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct BadData {
    pub message: String,
}

impl BadData {
    /// The error as one line, marked as bad data.
    pub fn from_error(e: anyhow::Error) -> anyhow::Error {
        if e.is::<BadData>() {
            return e;
        }
        BadData { message: format!("{e:#}") }.into()
    }
}

/// Opens a file for reading lines, decompressing gzip (told by its magic bytes,
/// not its name). Several gzip members in a row are read as one stream; bytes
/// after the last one are an error ([`gz::TrailingBytes`]).
pub fn open(path: &Path) -> Result<Box<dyn BufRead>> {
    open_hashed(path, None)
}

/// [`open`], with the file's raw bytes also going to `hashes` (see [`hashes`]).
pub fn open_hashed(path: &Path, hashes: Option<&hashes::Hashes>) -> Result<Box<dyn BufRead>> {
    let mut f = File::open(path).with_context(|| format!("cannot open market data {}", path.display()))?;
    let mut magic = [0u8; 2];
    let n = f.read(&mut magic).with_context(|| format!("cannot read {}", path.display()))?;
    let f = File::open(path).with_context(|| format!("cannot open market data {}", path.display()))?;
    let f: Box<dyn Read> = match hashes {
        Some(h) => Box::new(h.reader(path, f)),
        None => Box::new(f),
    };
    if n == 2 && magic == [0x1f, 0x8b] {
        let members = gz::GzMembers::new(BufReader::with_capacity(1 << 16, f));
        Ok(Box::new(BufReader::with_capacity(1 << 16, members)))
    } else {
        Ok(Box::new(BufReader::with_capacity(1 << 16, f)))
    }
}

/// Reads one line (without its line ending) or `None` at the end. A read error
/// (a truncated or corrupt gzip, bytes after its end, bytes that are not UTF-8)
/// names the file and line.
pub fn read_line(r: &mut dyn BufRead, buf: &mut String, path: &Path, line_no: u64) -> Result<bool> {
    buf.clear();
    let n =
        r.read_line(buf).map_err(|e| anyhow::anyhow!("{}: line {}: {}", path.display(), line_no, gz::describe(&e)))?;
    if n == 0 {
        return Ok(false);
    }
    while buf.ends_with('\n') || buf.ends_with('\r') {
        buf.pop();
    }
    Ok(true)
}
