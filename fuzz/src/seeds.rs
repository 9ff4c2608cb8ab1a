//! The corpus each target mutates: real files. Market data comes from the shared
//! sample set (`../shared/data` beside the checkout, see its README; or
//! `MMSOAK_SHARED_DATA`), cut to a few dozen lines so an input parses in
//! microseconds; the rest from the repository (profiles, example sweeps) and
//! `fuzz/seeds/` (artifacts a real run, `mmsoak bot` and `mmsoak market fit` wrote).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::targets::repo_root;

/// The shared sample data directory, if there is one.
pub fn data_dir() -> Option<PathBuf> {
    if let Ok(d) = std::env::var("MMSOAK_SHARED_DATA") {
        return Some(PathBuf::from(d));
    }
    repo_root().ancestors().map(|a| a.join("shared/data")).find(|p| p.join("README.md").exists())
}

fn read(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("fuzz seed {} is missing", path.display()))?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes.as_slice()).read_to_end(&mut out)?;
        return Ok(out);
    }
    Ok(bytes)
}

fn repo(rel: &str) -> Result<Vec<u8>> {
    read(&repo_root().join(rel))
}

/// Lines `from..to` (0-based), each with its newline.
fn lines(text: &[u8], from: usize, to: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for line in text.split_inclusive(|&c| c == b'\n').skip(from).take(to - from) {
        out.extend_from_slice(line);
    }
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).expect("gzip into memory");
    e.finish().expect("gzip into memory")
}

fn zip_one(name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    z.start_file(name, zip::write::SimpleFileOptions::default()).expect("zip into memory");
    z.write_all(bytes).expect("zip into memory");
    z.finish().expect("zip into memory").into_inner()
}

/// The Binance REST depth snapshot line with `keep` levels a side (1,000 in the capture).
fn short_snapshot(line: &[u8], keep: usize) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(line).ok()?;
    let (stamp, json) = text.trim_end().split_once(' ')?;
    let mut v: serde_json::Value = serde_json::from_str(json).ok()?;
    let obj = v.as_object_mut()?;
    for side in ["bids", "asks"] {
        if let Some(serde_json::Value::Array(levels)) = obj.get_mut(side) {
            levels.truncate(keep);
        }
    }
    Some(format!("{stamp} {v}\n").into_bytes())
}

fn shared(dir: &Option<PathBuf>, rel: &str) -> Result<Vec<u8>> {
    let Some(d) = dir else {
        bail!(
            "the shared sample data is missing: put it in ../shared/data beside the checkout or set MMSOAK_SHARED_DATA"
        )
    };
    read(&d.join(rel))
}

/// The seeds of target `name`.
pub fn seeds(name: &str) -> Result<Vec<Vec<u8>>> {
    let data = data_dir();
    let profiles = || -> Result<Vec<Vec<u8>>> {
        ["profiles/steady_safe.json", "profiles/ultra_safe.json", "profiles/aggressive.json"]
            .iter()
            .map(|p| repo(p))
            .collect()
    };
    Ok(match name {
        "bars" => {
            let csv = shared(&data, "btcusd_bitstamp_1min_a.csv")?;
            let head = lines(&csv, 0, 60);
            let mut later = lines(&csv, 0, 1);
            later.extend(lines(&csv, 2000, 2040));
            // The same rows with millisecond times and no header (Binance's kline layout starts so).
            let ms: Vec<u8> = lines(&csv, 1, 40)
                .split_inclusive(|&c| c == b'\n')
                .flat_map(|l| {
                    let s = String::from_utf8_lossy(l);
                    match s.split_once(',') {
                        Some((t, rest)) => format!("{t}000,{rest}").into_bytes(),
                        None => l.to_vec(),
                    }
                })
                .collect();
            vec![gzip(&head), zip_one("btcusd.csv", &later), head, later, ms]
        }
        "lobster" => {
            let msg = shared(&data, "lobster/AMZN_2012-06-21_34200000_57600000_message_5.csv.gz")?;
            let book = shared(&data, "lobster/AMZN_2012-06-21_34200000_57600000_orderbook_5.csv.gz")?;
            [(0, 40), (5000, 5030), (100_000, 100_020)]
                .iter()
                .map(|&(a, b)| {
                    let mut s = lines(&msg, a, b);
                    s.push(0);
                    s.extend(lines(&book, a, b));
                    s
                })
                .collect()
        }
        "binance" => {
            let cap = shared(&data, "binance_usdm_raw/btcusdt_20240718.gz")?;
            let all: Vec<&[u8]> = cap.split_inclusive(|&c| c == b'\n').collect();
            let mut out = vec![lines(&cap, 0, 40), lines(&cap, 3000, 3030)];
            if let Some(i) = all.iter().position(|l| l.windows(12).any(|w| w == b"lastUpdateId")) {
                let mut s = Vec::new();
                for l in &all[i.saturating_sub(5)..i] {
                    s.extend_from_slice(l);
                }
                s.extend(short_snapshot(all[i], 12).unwrap_or_default());
                for l in all.iter().skip(i + 1).take(10) {
                    s.extend_from_slice(l);
                }
                out.push(s);
            }
            out
        }
        "tardis" => vec![
            lines(&shared(&data, "tardis/binance-futures_trades_2020-02-22_BTCUSDT_first9999.csv")?, 0, 40),
            lines(&shared(&data, "tardis/binance-futures_quotes_2020-02-22_BTCUSDT_first9999.csv")?, 0, 40),
        ],
        "edge_report_v1" => vec![repo("fuzz/seeds/edge_report_v1.json")?],
        // A v2 seed with unknown fields (`pnl_usd`, `venue`), and the v1 body read as v2.
        "edge_report_v2" => vec![repo("fuzz/seeds/edge_report_v2.json")?, repo("fuzz/seeds/edge_report_v1.json")?],
        // Lines the example Python bot wrote in a real live soak.
        "fills_log" => vec![repo("fuzz/seeds/fills.jsonl")?],
        "kpis" | "kpi_line" => {
            let k = repo("fuzz/seeds/kpis.jsonl")?;
            if name == "kpis" {
                vec![k]
            } else {
                k.split(|&c| c == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect()
            }
        }
        "runtime_overrides" | "overrides_env" => {
            let mut v = profiles()?;
            v.push(repo("fuzz/seeds/runtime_overrides.json")?);
            v
        }
        "tuning_state" => vec![repo("fuzz/seeds/tuning_state.json")?],
        "profile" => profiles()?,
        "config" => vec![repo("fuzz/seeds/mmsoak.toml")?],
        "sweep" => {
            let mut v: Vec<Vec<u8>> = ["small", "lhs-params", "profiles-x-regimes"]
                .iter()
                .map(|n| repo(&format!("examples/sweeps/{n}.toml")))
                .collect::<Result<_>>()?;
            v.push(repo("fuzz/seeds/sweep_files.toml")?);
            v
        }
        "regime" => vec![repo("fuzz/seeds/regime.json")?],
        "threshold_flag" => [
            "net_bps: p(50) > 2.5",
            "adverse_p95: max < 8",
            "adverse_p95: p(95) < 5",
            "max_drawdown_bps: max < 40",
            "kpi_verdict: fail_rate < 0.1, abort_on_fail, delay=6",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect(),
        other => bail!("no fuzz target called {other:?}"),
    })
}
