//! `mmsoak sweep merge DIR --out MERGED`: checks that DIR's shard files are all
//! the shards of one sweep (same spec hash, same shard count, every index once,
//! every run once), then writes results.csv, results.jsonl, results.parquet,
//! summary.json and summary.md. Any inconsistency is an error before anything is written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::result::{RunResult, ShardFile, SHARD_FORMAT};
use super::spec::Spec;
use crate::fsutil::{json_bytes, write_atomic};

/// The checked shards' results, sorted by run index.
pub struct Merged {
    pub spec: Spec,
    pub hash: String,
    pub results: Vec<RunResult>,
}

fn shard_name(name: &str) -> Option<(u32, u32)> {
    let rest = name.strip_prefix("shard-")?.strip_suffix(".json")?;
    let (i, n) = rest.split_once("-of-")?;
    Some((i.parse().ok()?, n.parse().ok()?))
}

/// Reads and checks every `shard-IIII-of-NNNN.json` in `dir`.
pub fn load(dir: &Path) -> Result<Merged> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read the sweep directory {}", dir.display()))?;
    let mut paths: Vec<(PathBuf, (u32, u32))> =
        entries.flatten().filter_map(|e| shard_name(&e.file_name().to_string_lossy()).map(|k| (e.path(), k))).collect();
    paths.sort();
    if paths.is_empty() {
        bail!("{}: no shard files (shard-IIII-of-NNNN.json) to merge", dir.display());
    }
    let mut shards: Vec<(PathBuf, ShardFile)> = Vec::new();
    for (path, (i, n)) in paths {
        let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let f: ShardFile =
            serde_json::from_slice(&bytes).with_context(|| format!("{}: not a sweep shard file", path.display()))?;
        if f.format != SHARD_FORMAT {
            bail!("{}: format {:?}, expected {SHARD_FORMAT:?}", path.display(), f.format);
        }
        if (f.shard, f.shards) != (i, n) {
            bail!("{}: holds shard {}/{}, not what its name says", path.display(), f.shard, f.shards);
        }
        if super::plan::hash(&f.spec) != f.sweep_hash {
            bail!("{}: its spec does not match its sweep_hash (edited by hand?)", path.display());
        }
        shards.push((path, f));
    }
    let (first_path, first) = &shards[0];
    for (path, f) in &shards[1..] {
        if f.sweep_hash != first.sweep_hash {
            bail!(
                "shards of different sweeps in {}: {} is sweep {:?} (hash {}), {} is sweep {:?} (hash {}); nothing merged",
                dir.display(),
                first_path.display(),
                first.spec.name,
                &first.sweep_hash[..12],
                path.display(),
                f.spec.name,
                &f.sweep_hash[..12]
            );
        }
        if f.shards != first.shards {
            bail!(
                "{} is one of {} shards but {} is one of {}: the sweep was sharded twice into {}; nothing merged",
                path.display(),
                f.shards,
                first_path.display(),
                first.shards,
                dir.display()
            );
        }
    }
    let n = first.shards;
    let have: Vec<u32> = shards.iter().map(|(_, f)| f.shard).collect();
    let missing: Vec<String> = (0..n).filter(|i| !have.contains(i)).map(|i| i.to_string()).collect();
    if !missing.is_empty() {
        bail!(
            "{}: shards {} of {n} are missing (run them with --shard I/{n}); nothing merged",
            dir.display(),
            missing.join(", ")
        );
    }
    let total = first.runs_total;
    let mut by_index: BTreeMap<u32, RunResult> = BTreeMap::new();
    for (path, f) in &shards {
        for r in &f.results {
            if r.index >= total || r.index % n != f.shard {
                bail!("{}: run {} does not belong to shard {}/{n}", path.display(), r.index, f.shard);
            }
            if by_index.insert(r.index, r.clone()).is_some() {
                bail!("{}: run {} appears twice", path.display(), r.index);
            }
        }
    }
    if by_index.len() != total as usize {
        let absent = (0..total).find(|i| !by_index.contains_key(i)).unwrap_or(0);
        bail!(
            "{}: {} of {total} runs present (run {absent} is missing); nothing merged",
            dir.display(),
            by_index.len()
        );
    }
    Ok(Merged { spec: first.spec.clone(), hash: first.sweep_hash.clone(), results: by_index.into_values().collect() })
}

/// The run's identity columns, then the metrics the sweep keeps.
fn row(spec: &Spec, r: &RunResult) -> Vec<(String, serde_json::Value)> {
    use serde_json::json;
    let mut cols: Vec<(String, serde_json::Value)> = vec![
        ("index".into(), json!(r.index)),
        ("scenario".into(), json!(r.scenario)),
        ("label".into(), json!(r.label)),
        ("profile".into(), json!(r.profile)),
        ("regime".into(), json!(r.regime)),
    ];
    if let Some(s) = &spec.sampling {
        for name in s.ranges.keys() {
            cols.push((name.clone(), json!(r.point.get(name))));
        }
    }
    if !spec.windows.is_empty() {
        cols.push(("window".into(), json!(r.window)));
    }
    cols.push(("guards_off".into(), json!(r.guards_off.join("+"))));
    let kpi = serde_json::to_value(&r.kpi).unwrap_or_default();
    for key in &spec.kpi_varied {
        cols.push((format!("kpi_{key}"), kpi.get(key).cloned().unwrap_or_default()));
    }
    cols.push(("seed".into(), json!(r.seed)));
    cols.push(("auto_tune".into(), json!(r.auto_tune)));
    cols.push(("final_verdict".into(), json!(r.final_verdict)));
    for v in ["PASS", "WARN", "FAIL", "INCONCLUSIVE"] {
        cols.push((format!("iterations_{}", v.to_lowercase()), json!(r.verdict_counts.get(v).copied().unwrap_or(0))));
    }
    for m in &spec.metrics {
        match m.as_str() {
            "net_bps_mean" => cols.push((m.clone(), json!(r.net_bps_mean))),
            "net_bps_median" => cols.push((m.clone(), json!(r.net_bps_median))),
            "risk_ratio_mean" => cols.push((m.clone(), json!(r.risk_ratio_mean))),
            "adverse_p95_mean" => cols.push((m.clone(), json!(r.adverse_p95_mean))),
            "slippage_p95_mean" => cols.push((m.clone(), json!(r.slippage_p95_mean))),
            "fills" => cols.push((m.clone(), json!(r.fills))),
            "applied_count" => cols.push((m.clone(), json!(r.applied_count))),
            "final_params" => {
                for (name, v) in r.final_params.entries() {
                    cols.push((format!("final_{name}"), json!(v)));
                }
            }
            _ => {
                cols.push(("series_net_bps".into(), json!(r.net_bps)));
                cols.push(("series_risk_ratio".into(), json!(r.risk_ratio)));
                cols.push(("series_verdicts".into(), json!(r.verdicts)));
            }
        }
    }
    cols
}

fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        serde_json::Value::Array(xs) => xs.iter().map(cell).collect::<Vec<_>>().join(";"),
        other => other.to_string(),
    }
}

/// Writes the five files into `out` (created if needed), each atomically.
pub fn write(m: &Merged, out: &Path) -> Result<()> {
    let rows: Vec<Vec<(String, serde_json::Value)>> = m.results.iter().map(|r| row(&m.spec, r)).collect();
    let mut csv = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    if let Some(first) = rows.first() {
        csv.write_record(first.iter().map(|(k, _)| k.as_str()))?;
    }
    let mut jsonl = String::new();
    for r in &rows {
        csv.write_record(r.iter().map(|(_, v)| cell(v)))?;
        let obj: serde_json::Map<String, serde_json::Value> = r.iter().cloned().collect();
        jsonl.push_str(&serde_json::to_string(&obj)?);
        jsonl.push('\n');
    }
    let csv = csv.into_inner().map_err(|e| anyhow::anyhow!("writing results.csv: {e}"))?;
    let parquet = super::parquet_out::bytes(&rows, cell).context("writing results.parquet")?;
    let summary = super::summary::build(&m.spec, &m.hash, &m.results);
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    write_atomic(&out.join("results.csv"), &csv)?;
    write_atomic(&out.join("results.jsonl"), jsonl.as_bytes())?;
    write_atomic(&out.join("results.parquet"), &parquet)?;
    write_atomic(&out.join("summary.json"), &json_bytes(&summary)?)?;
    write_atomic(&out.join("summary.md"), super::summary::markdown(&summary).as_bytes())?;
    eprintln!(
        "mmsoak: merged {} runs of sweep {:?} into {}: rescue {}/{}, harm {}/{}",
        m.results.len(),
        m.spec.name,
        out.display(),
        summary.rescue.count,
        summary.rescue.of,
        summary.harm.count,
        summary.harm.of
    );
    Ok(())
}
