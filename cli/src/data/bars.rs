//! Bar files from disk: plain, gzip (told by magic bytes) or zip (Binance ships
//! one CSV per zip), read whole and handed to the core's bar reader.

use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context, Result};
use mmsoak_core::feed::bars::{read_bars, BarSeries};

/// Reads and checks a bar file. Errors are one line naming the file, line and column.
pub fn load(path: &Path) -> Result<BarSeries> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read market data {}", path.display()))?;
    parse(&bytes, path)
}

/// A bar file's bytes (plain, gzip or zip) as [`load`] reads them; errors name `path`.
pub fn parse(bytes: &[u8], path: &Path) -> Result<BarSeries> {
    let text = read_text(bytes, path)?;
    read_bars(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn read_text(bytes: &[u8], path: &Path) -> Result<String> {
    let raw = if bytes.starts_with(b"PK\x03\x04") {
        unzip_one(path, bytes)?
    } else if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        super::gz::GzMembers::new(bytes)
            .read_to_end(&mut out)
            .with_context(|| format!("{}: not a readable gzip file", path.display()))?;
        out
    } else {
        bytes.to_vec()
    };
    String::from_utf8(raw).map_err(|e| {
        let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()].iter().filter(|&&b| b == b'\n').count();
        anyhow::anyhow!("{}: line {line}: not UTF-8 text", path.display())
    })
}

/// The one data file inside a zip archive (directories and `__MACOSX` entries ignored).
fn unzip_one(path: &Path, bytes: &[u8]) -> Result<Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .with_context(|| format!("{}: not a readable zip archive", path.display()))?;
    let names: Vec<String> =
        archive.file_names().filter(|n| !n.ends_with('/') && !n.starts_with("__MACOSX")).map(str::to_string).collect();
    let name = match names.as_slice() {
        [one] => one.clone(),
        [] => bail!("{}: the zip archive holds no file", path.display()),
        many => {
            bail!("{}: the zip archive holds {} files ({}); give one CSV", path.display(), many.len(), many.join(", "))
        }
    };
    let mut entry =
        archive.by_name(&name).with_context(|| format!("{}: cannot open {name} in the zip archive", path.display()))?;
    let mut out = Vec::new();
    entry.read_to_end(&mut out).with_context(|| format!("{}: {name}: cannot decompress", path.display()))?;
    Ok(out)
}
