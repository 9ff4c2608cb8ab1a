//! Which files form which stream: the core decides from names and first lines
//! ([`mmsoak_core::feed::group`]); this side reads those lines and adds each
//! LOBSTER file's partner from disk.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use mmsoak_core::feed::group::{self, FileHead};
use mmsoak_core::feed::Format;

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

/// The first few non-empty lines of a file (decompressed).
fn head(path: &Path) -> Result<FileHead> {
    let mut r = super::open(path)?;
    let mut buf = String::new();
    let mut lines = Vec::new();
    let mut n = 0;
    while lines.len() < 4 && super::read_line(r.as_mut(), &mut buf, path, n + 1)? {
        n += 1;
        if !buf.trim().is_empty() {
            lines.push(buf.clone());
        }
    }
    Ok(FileHead { name: path.display().to_string(), lines })
}

/// Groups `--data` files into streams. `forced`: `--data-format`.
pub fn group(files: &[PathBuf], forced: Option<Format>) -> Result<Vec<StreamSpec>> {
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut heads: Vec<FileHead> = Vec::new();
    // One file named twice (`./f.csv` and its absolute path, or through a link)
    // is read once, by the name it was first given: read twice, its events would
    // step back in time where the second copy starts.
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let named: Vec<PathBuf> = files.iter().map(|f| canonical(f)).collect();
    let mut seen: Vec<PathBuf> = Vec::new();
    for (path, canon) in files.iter().zip(&named) {
        if seen.contains(canon) {
            continue;
        }
        seen.push(canon.clone());
        let h = head(path)?;
        let format = group::format_of(&h, forced).map_err(|e| anyhow::anyhow!("{e}"))?;
        let partner = (format == Format::Lobster)
            .then(|| group::lobster_partner(&h.name, group::is_lobster_orderbook(&h)))
            .flatten()
            .map(PathBuf::from);
        paths.push(path.clone());
        heads.push(h);
        if let Some(p) = partner {
            let canon = canonical(&p);
            if !seen.contains(&canon) && !named.contains(&canon) {
                if !p.exists() {
                    let kind = if p.display().to_string().contains("_orderbook_") { "message" } else { "orderbook" };
                    let other = if kind == "message" { "orderbook" } else { "message" };
                    bail!(
                        "{}: LOBSTER {kind} file without its {other} file (looked for {})",
                        path.display(),
                        p.display()
                    );
                }
                heads.push(head(&p)?);
                seen.push(canon);
                paths.push(p);
            }
        }
    }
    let groups = group::group(&heads, forced).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(groups
        .into_iter()
        .map(|g| StreamSpec {
            format: g.format,
            files: g.files.iter().map(|&i| paths[i].clone()).collect(),
            paired: g.paired.map(|p| p.iter().map(|&i| paths[i].clone()).collect()),
        })
        .collect())
}
