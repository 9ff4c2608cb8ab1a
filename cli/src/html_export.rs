//! `mmsoak run --export-html FILE`: the path checked before the run starts, the
//! report rendered by the core (`mmsoak_core::html_report`) and written atomically.

use std::path::Path;

use anyhow::{Context, Result};
use mmsoak_core::html_report::{render, ThresholdResult};
use mmsoak_core::report::{RunStop, TuningReport};

use crate::fsutil::write_atomic;

/// Writes the HTML report of the run whose TUNING_REPORT.json is at `report_json`,
/// with the run's threshold results and, for a run that ended early, why.
///
/// The report is read back from the file just written rather than kept from the
/// run, so the run itself holds no rows; the HTML (one page with every row) is the
/// one artifact whose making takes memory in proportion to the iterations.
pub fn write(
    path: &Path,
    report_json: &Path,
    thresholds: &[crate::thresholds::ThresholdResult],
    stop: Option<&RunStop>,
) -> Result<()> {
    let file = std::fs::File::open(report_json).with_context(|| format!("cannot read {}", report_json.display()))?;
    let report: TuningReport = serde_json::from_reader(std::io::BufReader::new(file))
        .with_context(|| format!("{} is not a TUNING_REPORT", report_json.display()))?;
    let rows: Vec<ThresholdResult> = thresholds
        .iter()
        .map(|t| ThresholdResult {
            name: t.metric.clone(),
            expression: t.threshold.clone(),
            observed: t.observed_text(),
            pass: t.passed,
        })
        .collect();
    write_atomic(path, render(&report, &rows, stop).as_bytes())
        .with_context(|| format!("--export-html {}", path.display()))
}
