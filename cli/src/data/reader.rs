//! Hands the core a stream's text in chunks of whole lines and maps the core's
//! (stream, line) back to (file, line) for error messages.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use anyhow::Result;
use mmsoak_core::feed::stream::{Chunk, Consumed, FeedError};

use super::streams::StreamSpec;

/// Bytes of text read ahead per stream: large enough that calls into the core are
/// few, small enough that memory stays flat.
pub const CHUNK_BYTES: usize = 256 * 1024;

pub struct StreamReader {
    pub spec: StreamSpec,
    file: usize,
    cur: Option<Box<dyn BufRead>>,
    cur_paired: Option<Box<dyn BufRead>>,
    /// Lines read from the current file.
    lines_in_file: u64,
    /// The stream's line number where each file started (0-based count before it).
    starts: Vec<u64>,
    lines_total: u64,
    pub chunk: Chunk,
    line: String,
    /// The start-of-run scan's: where the files' raw bytes are hashed as they are read.
    hashes: Option<super::hashes::Hashes>,
}

impl StreamReader {
    pub fn new(spec: StreamSpec) -> Self {
        let paired = spec.paired.is_some();
        StreamReader {
            spec,
            file: 0,
            cur: None,
            cur_paired: None,
            lines_in_file: 0,
            starts: vec![0],
            lines_total: 0,
            chunk: Chunk { text: String::new(), paired: paired.then(String::new), eof: false },
            line: String::new(),
            hashes: None,
        }
    }

    /// A reader whose files' raw bytes also go to `hashes`.
    pub fn hashing(spec: StreamSpec, hashes: &super::hashes::Hashes) -> Self {
        StreamReader { hashes: Some(hashes.clone()), ..Self::new(spec) }
    }

    fn path(&self) -> &Path {
        &self.spec.files[self.file]
    }

    /// Reads about [`CHUNK_BYTES`] more text (whole lines), or marks the stream's end.
    pub fn refill(&mut self) -> Result<()> {
        let target = self.chunk.text.len() + CHUNK_BYTES;
        while self.chunk.text.len() < target && !self.chunk.eof {
            if self.cur.is_none() {
                if self.file >= self.spec.files.len() {
                    self.chunk.eof = true;
                    break;
                }
                self.cur = Some(super::open_hashed(self.path(), self.hashes.as_ref())?);
                if let Some(p) = &self.spec.paired {
                    self.cur_paired = Some(super::open_hashed(&p[self.file], self.hashes.as_ref())?);
                }
            }
            let path = self.path().to_path_buf();
            let line_no = self.lines_in_file + 1;
            let got = match self.cur.as_mut() {
                Some(r) => super::read_line(r.as_mut(), &mut self.line, &path, line_no)?,
                None => false,
            };
            if got {
                self.chunk.text.push_str(&self.line);
                self.chunk.text.push('\n');
                self.read_paired(line_no)?;
                self.lines_in_file += 1;
                self.lines_total += 1;
            } else {
                // This file is done; an orderbook file with rows left over is the core's to report.
                if self.read_paired(line_no)? {
                    self.chunk.eof = true;
                    break;
                }
                self.cur = None;
                self.cur_paired = None;
                self.file += 1;
                self.lines_in_file = 0;
                self.starts.push(self.lines_total);
            }
        }
        Ok(())
    }

    /// Appends the companion file's next row to the paired text; false at its end.
    fn read_paired(&mut self, line_no: u64) -> Result<bool> {
        let (Some(r), Some(paired)) = (self.cur_paired.as_mut(), self.spec.paired.as_ref()) else {
            return Ok(false);
        };
        let got = super::read_line(r.as_mut(), &mut self.line, &paired[self.file], line_no)?;
        if let (true, Some(t)) = (got, self.chunk.paired.as_mut()) {
            t.push_str(&self.line);
            t.push('\n');
        }
        Ok(got)
    }

    /// Drops the text the core consumed.
    pub fn consume(&mut self, c: Consumed) {
        self.chunk.text.drain(..c.text.min(self.chunk.text.len()));
        if let Some(p) = self.chunk.paired.as_mut() {
            p.drain(..c.paired.min(p.len()));
        }
    }

    /// The file and the line in it of the stream's line `line` (1-based).
    pub fn locate(&self, line: u64, paired: bool) -> (PathBuf, u64) {
        let mut k = 0;
        for (i, &s) in self.starts.iter().enumerate() {
            if s < line && i < self.spec.files.len() {
                k = i;
            }
        }
        let files = if paired { self.spec.paired.as_ref().unwrap_or(&self.spec.files) } else { &self.spec.files };
        let path = files.get(k).or(files.last()).cloned().unwrap_or_default();
        (path, line - self.starts.get(k).copied().unwrap_or(0))
    }
}

/// One error line for bad data: `FILE: line N: message`.
pub fn describe(readers: &[StreamReader], e: &FeedError) -> anyhow::Error {
    match readers.get(e.stream) {
        Some(r) => {
            let (path, line) = r.locate(e.line, e.paired);
            anyhow::anyhow!("{}: line {}: {}", path.display(), line, e.message)
        }
        None => anyhow::anyhow!("market data: {}", e.message),
    }
}
