//! The KPI gate: one verdict per iteration.

use serde::{Deserialize, Serialize};

use crate::edge::EdgeReport;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KpiVerdict {
    Pass,
    Warn,
    Fail,
    /// Too little data to judge; never counts as a failure (Kayenta semantics).
    Inconclusive,
}

impl KpiVerdict {
    pub fn name(self) -> &'static str {
        match self {
            KpiVerdict::Pass => "PASS",
            KpiVerdict::Warn => "WARN",
            KpiVerdict::Fail => "FAIL",
            KpiVerdict::Inconclusive => "INCONCLUSIVE",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KpiThresholds {
    pub warn_risk_ratio: f64,
    pub warn_adverse_p95: f64,
    pub fail_risk_ratio: f64,
    pub fail_net_bps: f64,
    /// Fewer maker fills than this → INCONCLUSIVE.
    pub min_fills: u64,
}

impl Default for KpiThresholds {
    fn default() -> Self {
        KpiThresholds {
            warn_risk_ratio: 0.40,
            warn_adverse_p95: 3.0,
            fail_risk_ratio: 0.50,
            fail_net_bps: 2.0,
            min_fills: 5,
        }
    }
}

/// FAIL when risk > fail_risk or net < fail_net; WARN when risk > warn_risk or
/// adverse p95 > warn_adverse; else PASS. Too few fills → INCONCLUSIVE.
pub fn verdict(edge: &EdgeReport, t: &KpiThresholds) -> KpiVerdict {
    if edge.maker_fills < t.min_fills {
        return KpiVerdict::Inconclusive;
    }
    if edge.risk_ratio > t.fail_risk_ratio || edge.net_bps < t.fail_net_bps {
        KpiVerdict::Fail
    } else if edge.risk_ratio > t.warn_risk_ratio || edge.adverse.p95 > t.warn_adverse_p95 {
        KpiVerdict::Warn
    } else {
        KpiVerdict::Pass
    }
}

/// The hard gate (`--fail-on kpi`): trips when the final verdict is FAIL or FAIL
/// appears in more than `max_fails` of the last `window` iterations. Returns why.
pub fn hard_gate(verdicts: &[KpiVerdict], window: usize, max_fails: usize) -> Option<String> {
    if verdicts.last() == Some(&KpiVerdict::Fail) {
        return Some("the final iteration's verdict is FAIL".into());
    }
    let recent = &verdicts[verdicts.len().saturating_sub(window)..];
    let fails = recent.iter().filter(|v| **v == KpiVerdict::Fail).count();
    (fails > max_fails).then(|| {
        format!("{fails} FAIL verdicts in the last {} iterations (more than {max_fails} allowed)", recent.len())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use KpiVerdict::*;

    #[test]
    fn hard_gate_trips_on_final_fail_or_too_many_recent_fails() {
        assert!(hard_gate(&[Pass, Pass, Fail], 6, 3).unwrap().contains("final"));
        assert!(hard_gate(&[Fail, Fail, Fail, Pass], 6, 3).is_none());
        assert!(hard_gate(&[Fail, Fail, Fail, Fail, Pass], 6, 3).unwrap().contains("4 FAIL"));
        // Old failures outside the window do not count; INCONCLUSIVE never counts.
        assert!(hard_gate(&[Fail, Fail, Fail, Fail, Pass, Pass, Pass, Inconclusive, Pass, Pass], 6, 3).is_none());
    }
}
