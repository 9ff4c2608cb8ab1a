//! What the viewer shows, built from a run's files: pure, so it is unit-tested
//! (`wasm-bindgen-test`) without a page.

use std::collections::BTreeMap;

use mmsoak_core::guards::GuardEvent;
use mmsoak_core::kpi::KpiVerdict;
use mmsoak_core::params::Params;
use mmsoak_core::report::{charts_of, rows_of, Chart, ReportRow, TuningReport};
use mmsoak_core::soak::IterSummary;

/// One run, as files: from a file picker, a drop, the live feed or a what-if.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunView {
    pub label: String,
    pub summaries: Vec<IterSummary>,
    pub report: Option<TuningReport>,
    /// Every file by name, as read (what "export" writes back out).
    pub files: BTreeMap<String, String>,
}

/// `ITER_SUMMARY_12.json` → 12 (any directory part ignored).
pub fn summary_index(name: &str) -> Option<u32> {
    let base = name.rsplit(['/', '\\']).next()?;
    base.strip_prefix("ITER_SUMMARY_")?.strip_suffix(".json")?.parse().ok()
}

fn base_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

impl RunView {
    /// Reads a run's `latest/` files (any subset holding its ITER_SUMMARY files or
    /// its TUNING_REPORT). Errors name the file and what is wrong with it.
    pub fn from_files(label: &str, files: Vec<(String, String)>) -> Result<RunView, String> {
        let mut view = RunView { label: label.to_string(), ..RunView::default() };
        for (name, text) in files {
            let base = base_name(&name).to_string();
            if summary_index(&base).is_some() {
                let s: IterSummary = serde_json::from_str(&text).map_err(|e| format!("{base}: {e}"))?;
                view.summaries.push(s);
            } else if base == "TUNING_REPORT.json" {
                view.report = Some(serde_json::from_str(&text).map_err(|e| format!("{base}: {e}"))?);
            } else if base == "runtime_overrides.json" {
                serde_json::from_str::<Params>(&text).map_err(|e| format!("{base}: {e}"))?;
            }
            view.files.insert(base, text);
        }
        view.summaries.sort_by_key(|s| s.iteration);
        if view.summaries.is_empty() && view.report.is_none() {
            return Err("no ITER_SUMMARY_<i>.json or TUNING_REPORT.json among the files".into());
        }
        for (k, s) in view.summaries.iter().enumerate() {
            let first = view.summaries[0].iteration;
            if s.iteration != first + k as u32 {
                return Err(format!("ITER_SUMMARY_{}.json is missing", first + k as u32));
            }
        }
        Ok(view)
    }

    pub fn push(&mut self, s: IterSummary) {
        if self.summaries.last().is_none_or(|last| s.iteration > last.iteration) {
            self.summaries.push(s);
        }
    }

    pub fn rows(&self) -> Vec<ReportRow> {
        match (&self.report, self.summaries.is_empty()) {
            (Some(r), true) => r.rows.clone(),
            _ => rows_of(&self.summaries),
        }
    }

    pub fn events(&self) -> Vec<GuardEvent> {
        match (&self.report, self.summaries.is_empty()) {
            (Some(r), true) => r.guard_events.clone(),
            _ => self.summaries.iter().flat_map(|s| s.tuning.guards.iter().cloned()).collect(),
        }
    }

    pub fn verdicts(&self) -> Vec<(u32, KpiVerdict)> {
        self.rows().iter().map(|r| (r.iteration, r.kpi_verdict)).collect()
    }

    pub fn charts(&self) -> Vec<Chart> {
        charts_of(&self.rows(), &self.events())
    }

    /// The parameters at the end of the run, and where that comes from.
    pub fn final_params(&self) -> Option<(Params, &'static str)> {
        if let Some(r) = &self.report {
            return Some((r.final_overrides.clone(), "TUNING_REPORT.json"));
        }
        if let Some(p) = self.files.get("runtime_overrides.json").and_then(|t| serde_json::from_str(t).ok()) {
            return Some((p, "runtime_overrides.json"));
        }
        self.summaries.last().map(|s| (s.overrides.clone(), "in force during the last iteration"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmsoak_core::edge::KpiObservation;
    use mmsoak_core::kpi::KpiThresholds;
    use mmsoak_core::session::artifact;
    use mmsoak_core::soak::{init, step, SoakConfig};
    use wasm_bindgen_test::wasm_bindgen_test;

    /// The files a 3-iteration run leaves, made by the core as the CLI makes them.
    fn run_files() -> Vec<(String, String)> {
        let config = SoakConfig {
            total_iterations: 3,
            auto_tune: true,
            iterations_per_hour: 4,
            thresholds: KpiThresholds::default(),
            safe_params: Params::default(),
            guards: Default::default(),
        };
        let mut state = init(config, Params::default());
        let mut files = Vec::new();
        for (i, risk) in [(1, 0.7), (2, 0.2), (3, 0.1)] {
            let obs = KpiObservation {
                net_bps: 3.0,
                risk_ratio: risk,
                adverse_p95: 1.0,
                slippage_p95: 0.0,
                fills: 50,
                blocks: None,
            };
            let (next, s) = step(state, &obs.into_report(i));
            files.push((format!("latest/ITER_SUMMARY_{i}.json"), artifact(&s)));
            state = next;
        }
        files.push(("runtime_overrides.json".into(), artifact(&state.overrides)));
        files
    }

    #[wasm_bindgen_test]
    fn a_runs_files_give_one_point_per_iteration_and_its_final_parameters() {
        let mut files = run_files();
        files.reverse(); // a file picker's order is no order
        let view = RunView::from_files("t", files.clone()).unwrap();
        assert_eq!(view.verdicts().iter().map(|(i, _)| *i).collect::<Vec<_>>(), vec![1, 2, 3]);
        let net = view.charts().into_iter().find(|c| c.name == "net_bps").unwrap();
        assert_eq!(net.svg.matches("<circle").count(), 3);
        let (params, source) = view.final_params().unwrap();
        assert_eq!(source, "runtime_overrides.json");
        let written: Params = serde_json::from_str(&files[0].1).unwrap();
        assert_eq!(params, written);
        assert_ne!(params, Params::default(), "the risky first iteration should have changed something");
    }

    #[wasm_bindgen_test]
    fn bad_or_missing_files_are_named() {
        let mut files = run_files();
        files.remove(1); // ITER_SUMMARY_2.json
        assert_eq!(RunView::from_files("t", files).unwrap_err(), "ITER_SUMMARY_2.json is missing");
        let err = RunView::from_files("t", vec![("ITER_SUMMARY_1.json".into(), "{".into())]).unwrap_err();
        assert!(err.starts_with("ITER_SUMMARY_1.json: "), "{err}");
        let err = RunView::from_files("t", vec![("notes.txt".into(), "hi".into())]).unwrap_err();
        assert!(err.contains("no ITER_SUMMARY"), "{err}");
    }

    #[wasm_bindgen_test]
    fn summary_file_names_are_recognised_with_or_without_a_directory() {
        assert_eq!(summary_index("ITER_SUMMARY_12.json"), Some(12));
        assert_eq!(summary_index("latest/ITER_SUMMARY_3.json"), Some(3));
        assert_eq!(summary_index("C:\\runs\\ITER_SUMMARY_7.json"), Some(7));
        assert_eq!(summary_index("ITER_SUMMARY_x.json"), None);
        assert_eq!(summary_index("TUNING_REPORT.json"), None);
    }

    #[wasm_bindgen_test]
    fn live_pushes_only_move_forward() {
        let mut view = RunView::from_files("t", run_files()).unwrap();
        let first = view.summaries[0].clone();
        view.push(first);
        assert_eq!(view.summaries.len(), 3);
    }
}
