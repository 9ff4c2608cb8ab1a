//! `--source kpis`: recorded KPIs, one JSON object per line, drive the tuner.
//! A line is either the short form (`net_bps`, `risk_ratio`, `adverse_p95`,
//! optional `slippage_p95`, `fills`, `blocks`) or a full EDGE_REPORT.

use std::path::Path;

use anyhow::{bail, Context, Result};
use mmsoak_core::edge::{EdgeReport, KpiObservation};

pub fn load(path: &Path) -> Result<Vec<EdgeReport>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read KPI file {}", path.display()))?;
    parse(&text, path)
}

/// A KPI file's text as [`load`] reads it; errors name `path` and the line.
pub fn parse(text: &str, path: &Path) -> Result<Vec<EdgeReport>> {
    let mut out = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        let line_no = idx + 1;
        if line.trim().is_empty() {
            continue;
        }
        let iteration = out.len() as u32 + 1;
        let value: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{}: line {line_no}: not valid JSON", path.display()))?;
        let report = if value.get("schema_version").is_some() {
            let mut r: EdgeReport = serde_json::from_value(value)
                .with_context(|| format!("{}: line {line_no}: not an EDGE_REPORT", path.display()))?;
            r.iteration = iteration;
            r
        } else {
            let obs: KpiObservation = serde_json::from_value(value)
                .with_context(|| format!("{}: line {line_no}: not a KPI observation", path.display()))?;
            if let Err(why) = obs.validate() {
                bail!("{}: line {line_no}: {why}", path.display());
            }
            obs.into_report(iteration)
        };
        out.push(report);
    }
    if out.is_empty() {
        bail!("{}: no observations", path.display());
    }
    Ok(out)
}
