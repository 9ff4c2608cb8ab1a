//! What TUNING_REPORT needs from a whole run besides its rows, folded one
//! ITER_SUMMARY at a time, so a report can be built from summaries streamed off disk
//! instead of all of them held in memory.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::kpi::KpiVerdict;
use crate::soak::IterSummary;

/// Verdict counts and the final verdict of a run; with `keep_series`, also its
/// per-iteration `net_bps` and `risk_ratio` (16 bytes an iteration), which the
/// Mann-Whitney comparison against a baseline needs whole.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportTally {
    /// Iterations by verdict name (`PASS`, `WARN`, `FAIL`, `INCONCLUSIVE`).
    pub verdict_counts: BTreeMap<String, u32>,
    /// The verdict of the last summary added.
    pub final_verdict: Option<KpiVerdict>,
    pub keep_series: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub net_bps: Vec<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub risk_ratio: Vec<f64>,
}

impl ReportTally {
    pub fn new(keep_series: bool) -> Self {
        ReportTally { keep_series, ..ReportTally::default() }
    }

    /// Folds in the next summary; summaries must come in iteration order.
    pub fn add(&mut self, s: &IterSummary) {
        let v = s.summary.kpi_verdict;
        *self.verdict_counts.entry(v.name().to_string()).or_insert(0) += 1;
        self.final_verdict = Some(v);
        if self.keep_series {
            self.net_bps.push(s.summary.net_bps);
            self.risk_ratio.push(s.summary.risk_ratio);
        }
    }

    /// The tally of summaries held in memory.
    pub fn of(summaries: &[IterSummary], keep_series: bool) -> Self {
        let mut t = ReportTally::new(keep_series);
        summaries.iter().for_each(|s| t.add(s));
        t
    }
}
