//! Gzip files as one stream: every member, one after another (RFC 1952 allows
//! several, as `cat a.gz b.gz` makes), and anything after the last member that
//! is not another member is an error naming its byte offset ([`TrailingBytes`]),
//! not a truncated stream.

use std::fmt;
use std::io::{self, BufRead, Read};

use flate2::bufread::GzDecoder;

/// Bytes after the end of a gzip stream that do not start another member.
#[derive(Debug)]
pub struct TrailingBytes {
    /// Where they start in the file (the byte after the last member).
    pub at: u64,
    /// Their first few bytes.
    pub head: Vec<u8>,
    /// More bytes follow `head`.
    pub more: bool,
}

impl fmt::Display for TrailingBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "trailing bytes after the end of the gzip stream at byte {}: \"{}\"{} is not gzip data",
            self.at,
            self.head.escape_ascii(),
            if self.more { "…" } else { "" }
        )
    }
}

impl std::error::Error for TrailingBytes {}

/// How many bytes of trailing data an error shows.
const SHOWN: usize = 16;

/// Counts the bytes taken from the file, so an error can say where it is, and
/// can look [`SHOWN`] + 1 bytes ahead across the reader's buffer boundary
/// ([`Counted::peek`]): what follows a member is judged on the file's bytes, not
/// on what happened to be left in a buffer.
struct Counted<R> {
    inner: R,
    taken: u64,
    /// Bytes looked ahead at, served before `inner`'s.
    ahead: Vec<u8>,
    /// How many of `ahead` were taken.
    pos: usize,
}

impl<R: BufRead> Counted<R> {
    /// Up to `n` bytes from the current position without taking them (fewer only at the end).
    fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        if self.pos > 0 {
            self.ahead.drain(..self.pos);
            self.pos = 0;
        }
        while self.ahead.len() < n {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            let k = buf.len().min(n - self.ahead.len());
            self.ahead.extend_from_slice(&buf[..k]);
            self.inner.consume(k);
        }
        Ok(&self.ahead[..self.ahead.len().min(n)])
    }
}

impl<R: BufRead> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = if self.pos < self.ahead.len() {
            let from = &self.ahead[self.pos..];
            let k = from.len().min(buf.len());
            buf[..k].copy_from_slice(&from[..k]);
            self.pos += k;
            k
        } else {
            self.inner.read(buf)?
        };
        self.taken += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counted<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos < self.ahead.len() {
            return Ok(&self.ahead[self.pos..]);
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        self.taken += amt as u64;
        if self.pos < self.ahead.len() {
            self.pos += amt;
        } else {
            self.inner.consume(amt);
        }
    }
}

/// The decompressed bytes of every gzip member in `R`, in order.
pub struct GzMembers<R> {
    /// The member being read (`None` once the stream ended or failed).
    member: Option<GzDecoder<Counted<R>>>,
}

impl<R: BufRead> GzMembers<R> {
    pub fn new(r: R) -> Self {
        GzMembers { member: Some(GzDecoder::new(Counted { inner: r, taken: 0, ahead: Vec::new(), pos: 0 })) }
    }
}

impl<R: BufRead> Read for GzMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(member) = self.member.as_mut() else { return Ok(0) };
            let n = member.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            // This member ended with its checksum verified: another member, the end, or junk.
            let src = member.get_mut();
            let at = src.taken;
            // A lone 0x1f at the very end could be a member cut after its first byte:
            // it is read as one, and is "truncated".
            let rest = src.peek(SHOWN + 1)?;
            if rest.is_empty() {
                self.member = None;
                return Ok(0);
            }
            if rest[0] != 0x1f || rest.get(1).is_some_and(|&b| b != 0x8b) {
                let err = TrailingBytes { at, head: rest[..rest.len().min(SHOWN)].to_vec(), more: rest.len() > SHOWN };
                self.member = None;
                return Err(io::Error::new(io::ErrorKind::InvalidData, err));
            }
            let src = self.member.take().map(GzDecoder::into_inner);
            self.member = src.map(GzDecoder::new);
        }
    }
}

/// A read error of a gzip or text file in words: a truncated stream, bytes after
/// its end, a corrupt stream, bytes that are not UTF-8.
pub fn describe(e: &io::Error) -> String {
    if let Some(t) = e.get_ref().and_then(|inner| inner.downcast_ref::<TrailingBytes>()) {
        return t.to_string();
    }
    match e.kind() {
        io::ErrorKind::UnexpectedEof => "the gzip stream is truncated".to_string(),
        io::ErrorKind::InvalidData => format!("not readable text ({e})"),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(text: &str) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap()
    }

    fn read_all(bytes: &[u8]) -> io::Result<String> {
        let mut s = String::new();
        GzMembers::new(bytes).read_to_string(&mut s).map(|_| s)
    }

    #[test]
    fn members_are_read_one_after_another() {
        let mut bytes = gz("a\nb\n");
        bytes.extend(gz("c\n"));
        bytes.extend(gz(""));
        bytes.extend(gz("d\n"));
        assert_eq!(read_all(&bytes).unwrap(), "a\nb\nc\nd\n");
        assert_eq!(read_all(&gz("")).unwrap(), "");
    }

    #[test]
    fn bytes_after_the_last_member_are_named_with_their_offset() {
        let one = gz("a\nb\n");
        for junk in [&b"\n"[..], b"garbage", b"\0\0\0\0", b"\x1f", b"\x1fX"] {
            let mut bytes = one.clone();
            bytes.extend_from_slice(junk);
            let e = read_all(&bytes).unwrap_err();
            let text = describe(&e);
            if junk == b"\x1f" {
                // Could be the start of another member: it is cut short.
                assert_eq!(text, "the gzip stream is truncated", "{junk:?}");
                continue;
            }
            let want = format!("trailing bytes after the end of the gzip stream at byte {}: ", one.len());
            assert!(text.starts_with(&want), "{junk:?}: {text}");
            assert!(text.ends_with(&format!("\"{}\" is not gzip data", junk.escape_ascii())), "{text}");
        }
    }

    #[test]
    fn what_follows_a_member_is_judged_on_the_file_not_on_the_read_buffer() {
        let one = gz("a\nb\n");
        // A buffer of 8 bytes: every member end falls near a boundary somewhere.
        let read = |bytes: &[u8]| {
            let mut s = String::new();
            GzMembers::new(io::BufReader::with_capacity(8, bytes)).read_to_string(&mut s).map(|_| s)
        };
        for pad in 0..8 {
            let mut bytes = gz(&"x".repeat(pad));
            let at = bytes.len();
            bytes.extend_from_slice(&[0u8; 40]);
            let text = describe(&read(&bytes).unwrap_err());
            assert_eq!(
                text,
                format!(
                    "trailing bytes after the end of the gzip stream at byte {at}: \"{}\"… is not gzip data",
                    [0u8; 16].escape_ascii()
                ),
                "pad {pad}"
            );
            // Another member whose magic bytes straddle a boundary is read.
            let mut two = gz(&"x".repeat(pad));
            two.extend_from_slice(&one);
            assert_eq!(read(&two).unwrap(), format!("{}a\nb\n", "x".repeat(pad)), "pad {pad}");
        }
    }

    #[test]
    fn a_cut_member_is_truncated_and_a_bad_checksum_corrupt() {
        let one = gz("a\nb\n");
        assert_eq!(describe(&read_all(&one[..one.len() - 3]).unwrap_err()), "the gzip stream is truncated");
        let mut second = one.clone();
        second.extend_from_slice(&one[..12]);
        assert_eq!(describe(&read_all(&second).unwrap_err()), "the gzip stream is truncated");
        let mut bad = one.clone();
        let crc = bad.len() - 8;
        bad[crc] ^= 0xff;
        assert!(read_all(&bad).is_err());
    }
}
