//! Which files form which stream, decided from names and first lines only, so
//! the CLI and the browser group a user's files the same way. The core merges
//! streams by time; a stream is one decoder over files laid end to end:
//! - LOBSTER: each message file with its orderbook file (paired by name:
//!   `…_message_N.csv` / `…_orderbook_N.csv`, `.gz` allowed), pairs by name;
//! - Tardis: one stream per data kind (trades, quotes, book_snapshot_N,
//!   incremental_book_L2: the header), files ordered by their first row's time;
//! - Binance captures: one stream (a later file continues the depth chain),
//!   files ordered by their first line's receive time.

use serde::{Deserialize, Serialize};

use super::{lobster, Format};

/// A file as the grouping sees it: its name (a path or a browser's file name) and
/// its first lines (decompressed; at least the first non-empty one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileHead {
    pub name: String,
    pub lines: Vec<String>,
}

/// One stream: indexes into the given files, in replay order; `paired` holds the
/// LOBSTER orderbook file of each message file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamGroup {
    pub format: Format,
    pub files: Vec<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paired: Option<Vec<usize>>,
}

fn first_line(h: &FileHead) -> &str {
    h.lines.iter().map(|l| l.trim_start_matches('\u{feff}')).find(|l| !l.trim().is_empty()).unwrap_or("")
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

/// The name of a LOBSTER file's partner: `_message_` ↔ `_orderbook_` in the file name.
pub fn lobster_partner(name: &str, is_orderbook: bool) -> Option<String> {
    let (from, to) = if is_orderbook { ("_orderbook_", "_message_") } else { ("_message_", "_orderbook_") };
    let base_start = name.rfind(['/', '\\']).map_or(0, |i| i + 1);
    let idx = name[base_start..].rfind(from)? + base_start;
    Some(format!("{}{}{}", &name[..idx], to, &name[idx + from.len()..]))
}

/// Is this LOBSTER file an orderbook file (by content, else by name)?
pub fn is_lobster_orderbook(h: &FileHead) -> bool {
    let first = first_line(h);
    if lobster::looks_like_message(first) {
        return false;
    }
    lobster::looks_like_orderbook(first) || h.name.contains("_orderbook_")
}

/// The format of one file: detected from its first line, or `forced` (which must
/// agree with what the content says, when it says anything).
pub fn format_of(h: &FileHead, forced: Option<Format>) -> Result<Format, String> {
    let first = first_line(h);
    let detected = Format::detect(first).or_else(|| lobster::looks_like_orderbook(first).then_some(Format::Lobster));
    match (forced, detected) {
        (Some(f), Some(d)) if f != d => Err(format!(
            "{}: the data format was given as {} but the file's first line is {} data: {:?}",
            h.name,
            f.name(),
            d.name(),
            clip(first)
        )),
        (Some(f), _) => Ok(f),
        (None, Some(d)) => Ok(d),
        (None, None) if first.is_empty() => Err(format!("{}: the file is empty", h.name)),
        (None, None) => Err(format!(
            "{}: unknown market data format (first line {:?}); expected a LOBSTER message or orderbook file, \
             a Tardis.dev CSV header or a Binance capture line `<ns> {{json}}`",
            h.name,
            clip(first)
        )),
    }
}

/// The first local time a file shows (its order among files of one stream).
fn first_time(format: Format, h: &FileHead) -> i64 {
    h.lines
        .iter()
        .find_map(|l| match format {
            Format::Binance => l.split(' ').next().and_then(|s| s.parse::<i64>().ok()),
            Format::Tardis => l.split(',').nth(3).and_then(|s| s.trim().parse::<i64>().ok()),
            Format::Lobster => None,
        })
        .unwrap_or(0)
}

/// Groups files into streams. Every LOBSTER file's partner must be among `files`
/// (the CLI adds it from disk; the browser asks the user to pick both).
pub fn group(files: &[FileHead], forced: Option<Format>) -> Result<Vec<StreamGroup>, String> {
    // Files sort by (first time, name); each entry keeps its index into `files`.
    type Ordered = Vec<(i64, String, usize)>;
    let mut pairs: Vec<(String, usize, usize)> = Vec::new();
    let mut binance: Ordered = Vec::new();
    let mut tardis: Vec<(String, Ordered)> = Vec::new();
    for (i, h) in files.iter().enumerate() {
        let format = format_of(h, forced)?;
        match format {
            Format::Lobster => {
                let book = is_lobster_orderbook(h);
                let kind = if book { "orderbook" } else { "message" };
                let other = if book { "message" } else { "orderbook" };
                let Some(partner) = lobster_partner(&h.name, book) else {
                    return Err(format!(
                        "{}: a LOBSTER {kind} file must be named like AMZN_2012-06-21_34200000_57600000_{kind}_5.csv \
                         to find its {other} file",
                        h.name
                    ));
                };
                let Some(j) = files.iter().position(|f| f.name == partner) else {
                    return Err(format!("{}: LOBSTER {kind} file without its {other} file ({partner})", h.name));
                };
                let (m, b) = if book { (j, i) } else { (i, j) };
                if !pairs.iter().any(|p| p.1 == m) {
                    pairs.push((files[m].name.clone(), m, b));
                }
            }
            Format::Binance => binance.push((first_time(format, h), h.name.clone(), i)),
            Format::Tardis => {
                let header = first_line(h).trim().to_string();
                let entry = (first_time(format, h), h.name.clone(), i);
                match tardis.iter_mut().find(|(x, _)| *x == header) {
                    Some((_, v)) => v.push(entry),
                    None => tardis.push((header, vec![entry])),
                }
            }
        }
    }
    let mut out = Vec::new();
    if !pairs.is_empty() {
        pairs.sort();
        out.push(StreamGroup {
            format: Format::Lobster,
            files: pairs.iter().map(|p| p.1).collect(),
            paired: Some(pairs.iter().map(|p| p.2).collect()),
        });
    }
    for (_, mut v) in tardis {
        v.sort();
        out.push(StreamGroup { format: Format::Tardis, files: v.into_iter().map(|x| x.2).collect(), paired: None });
    }
    if !binance.is_empty() {
        binance.sort();
        out.push(StreamGroup {
            format: Format::Binance,
            files: binance.into_iter().map(|x| x.2).collect(),
            paired: None,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(name: &str, line: &str) -> FileHead {
        FileHead { name: name.into(), lines: vec![line.into()] }
    }

    #[test]
    fn lobster_pairs_from_either_file_and_tardis_by_kind() {
        let msg = head("d/AMZN_2012-06-21_34200000_57600000_message_5.csv.gz", "34200.017459617,5,0,1,2238200,-1");
        let book = head("d/AMZN_2012-06-21_34200000_57600000_orderbook_5.csv.gz", "2239500,100,2231800,100");
        let g = group(&[book.clone(), msg.clone()], None).unwrap();
        assert_eq!(g, vec![StreamGroup { format: Format::Lobster, files: vec![1], paired: Some(vec![0]) }]);
        let e = group(&[msg], None).unwrap_err();
        assert!(e.contains("without its orderbook file"), "{e}");
        let e = group(&[book], None).unwrap_err();
        assert!(e.contains("without its message file"), "{e}");
        let t = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount";
        let q = "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount";
        let g = group(&[head("t2", t), head("q", q), head("t1", t)], None).unwrap();
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].files, vec![2, 0]);
        let e = group(&[head("t", t)], Some(Format::Binance)).unwrap_err();
        assert!(e.contains("given as binance but the file's first line is tardis"), "{e}");
        assert!(group(&[head("x.csv", "hello,world")], None).unwrap_err().contains("unknown market data format"));
    }
}
