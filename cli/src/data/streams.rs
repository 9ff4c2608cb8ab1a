//! Which files form which stream. The core merges streams by time; a stream is
//! one decoder over files laid end to end:
//! - LOBSTER: message files (each with its orderbook file, found by name), by name;
//! - Tardis: one stream per data kind (trades, quotes, book_snapshot_N,
//!   incremental_book_L2, told apart by the header), files ordered by first row;
//! - Binance captures: one stream (a later file continues the depth chain), by the
//!   first line's receive time.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use mmsoak_core::feed::{lobster, Format};

use super::first_line;

/// One stream's files in replay order; `paired` holds LOBSTER's orderbook files.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamSpec {
    pub format: Format,
    pub files: Vec<PathBuf>,
    pub paired: Option<Vec<PathBuf>>,
}

impl StreamSpec {
    /// File names for the run record: each file, the companion after its message file.
    pub fn names(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (i, f) in self.files.iter().enumerate() {
            out.push(f.display().to_string());
            if let Some(p) = self.paired.as_ref().and_then(|p| p.get(i)) {
                out.push(p.display().to_string());
            }
        }
        out
    }
}

/// LOBSTER names its files `<ticker>_<date>_<start>_<end>_message_<levels>.csv` and
/// `..._orderbook_<levels>.csv` (gzip keeps the name with `.gz`).
fn lobster_partner(path: &Path, from: &str, to: &str) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let idx = name.rfind(from)?;
    let partner = format!("{}{}{}", &name[..idx], to, &name[idx + from.len()..]);
    Some(path.with_file_name(partner))
}

/// Finds the (message, orderbook) pair from either file.
fn lobster_pair(path: &Path, first: &str) -> Result<(PathBuf, PathBuf)> {
    let is_book = lobster::looks_like_orderbook(first) && !lobster::looks_like_message(first);
    let (from, to) = if is_book { ("_orderbook_", "_message_") } else { ("_message_", "_orderbook_") };
    let Some(partner) = lobster_partner(path, from, to) else {
        bail!(
            "{}: a LOBSTER {} file must be named like AMZN_2012-06-21_34200000_57600000{from}5.csv to find its {} file",
            path.display(),
            if is_book { "orderbook" } else { "message" },
            if is_book { "message" } else { "orderbook" },
        );
    };
    if !partner.exists() {
        bail!(
            "{}: LOBSTER {} file without its {} file (looked for {})",
            path.display(),
            if is_book { "orderbook" } else { "message" },
            if is_book { "message" } else { "orderbook" },
            partner.display()
        );
    }
    Ok(if is_book { (partner, path.to_path_buf()) } else { (path.to_path_buf(), partner) })
}

/// The local time of a data line, for ordering files (best effort: 0 if absent).
fn first_time(format: Format, path: &Path) -> Result<i64> {
    let mut r = super::open(path)?;
    let mut buf = String::new();
    let mut n = 0;
    while super::read_line(r.as_mut(), &mut buf, path, n + 1)? && n < 4 {
        n += 1;
        let t = match format {
            Format::Binance => buf.split(' ').next().and_then(|s| s.parse::<i64>().ok()),
            Format::Tardis => buf.split(',').nth(3).and_then(|s| s.parse::<i64>().ok()),
            Format::Lobster => None,
        };
        if let Some(t) = t {
            return Ok(t);
        }
    }
    Ok(0)
}

/// Groups `--data` files into streams. `forced`: `--data-format`.
pub fn group(files: &[PathBuf], forced: Option<Format>) -> Result<Vec<StreamSpec>> {
    let mut lobster_pairs: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut binance: Vec<(i64, PathBuf)> = Vec::new();
    let mut tardis: Vec<(String, Vec<(i64, PathBuf)>)> = Vec::new();
    for path in files {
        let first = first_line(path)?;
        let detected = Format::detect(&first).or_else(|| lobster::looks_like_orderbook(&first).then_some(Format::Lobster));
        let format = match (forced, detected) {
            (Some(f), Some(d)) if f != d => bail!(
                "{}: --data-format {} but the file's first line is {} data: {:?}",
                path.display(),
                f.name(),
                d.name(),
                clip(&first)
            ),
            (Some(f), _) => f,
            (None, Some(d)) => d,
            (None, None) => bail!(
                "{}: unknown market data format (first line {:?}); expected a LOBSTER message or orderbook file, \
                 a Tardis.dev CSV header or a Binance capture line `<ns> {{json}}` (or force one with --data-format)",
                path.display(),
                clip(&first)
            ),
        };
        match format {
            Format::Lobster => {
                let pair = lobster_pair(path, &first)?;
                if !lobster_pairs.contains(&pair) {
                    lobster_pairs.push(pair);
                }
            }
            Format::Binance => binance.push((first_time(format, path)?, path.clone())),
            Format::Tardis => {
                let header = first.trim().to_string();
                let t = first_time(format, path)?;
                match tardis.iter_mut().find(|(h, _)| *h == header) {
                    Some((_, v)) => v.push((t, path.clone())),
                    None => tardis.push((header, vec![(t, path.clone())])),
                }
            }
        }
    }
    let mut out = Vec::new();
    if !lobster_pairs.is_empty() {
        lobster_pairs.sort();
        out.push(StreamSpec {
            format: Format::Lobster,
            files: lobster_pairs.iter().map(|p| p.0.clone()).collect(),
            paired: Some(lobster_pairs.iter().map(|p| p.1.clone()).collect()),
        });
    }
    for (_, mut v) in tardis {
        v.sort();
        out.push(StreamSpec { format: Format::Tardis, files: v.into_iter().map(|x| x.1).collect(), paired: None });
    }
    if !binance.is_empty() {
        binance.sort();
        out.push(StreamSpec { format: Format::Binance, files: binance.into_iter().map(|x| x.1).collect(), paired: None });
    }
    Ok(out)
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}
