//! TUNING_REPORT.json, the Markdown report and its charts, streamed from a run's
//! ITER_SUMMARY files (and its history) one summary at a time, so the shell never
//! holds a run's summaries or rows: memory stays flat however many iterations ran.
//!
//! The bytes are those of `report::build`'s whole report: the engine makes the
//! head from the run's tallies (`report_head`) and draws each chart
//! (`report_chart`); the rows, guard events and Markdown lines are the core's
//! per-item functions (`report::row_of`, `markdown_row`, …), and the JSON goes
//! through the same serde_json pretty printer as every artifact (a sequence
//! written element by element prints as the `Vec` would).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use mmsoak_core::abi::{ReportChartRequest, ReportHeadRequest};
use mmsoak_core::report::{self, ChartColumns, EngineRecord, ReportTally, RunSettings, RunStop, TuningReport};
use mmsoak_core::soak::SoakState;
use mmsoak_host::Engine;
use serde::ser::{Error as _, SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

use crate::fsutil::write_atomic;
use crate::rotate::for_each_summary;

/// What the caller needs after the report is written.
pub struct Written {
    /// TUNING_REPORT without rows and guard events.
    pub head: TuningReport,
    /// What the run summary counts besides the head, gathered in the same pass.
    pub tally: SummaryTally,
}

/// Counts over the run's iterations that the end-of-run summary prints.
#[derive(Debug, Default)]
pub struct SummaryTally {
    /// Parameter → applied tuning steps that moved it.
    pub applies: BTreeMap<String, u32>,
    /// Guard name → events.
    pub guard_events: BTreeMap<String, u32>,
    /// Iterations whose change was applied, as their progress lines say "applied":
    /// the tuning steps and the reverts to the safe profile.
    pub applied_iterations: u32,
    /// Revert kind (`panic_revert`, `policy_revert`) → applied reverts. The core's
    /// `applied_count` leaves these out: it counts tuning steps only.
    pub reverts: BTreeMap<String, u32>,
}

/// The `skipped_reason`s of a decision that put the safe profile in force
/// (`soak::revert_to_safe`): applied, but not a tuning step. The core's, which
/// the Markdown and HTML rows name the same way.
pub use mmsoak_core::report::REVERTS;

/// A finished run's tuned soak (in `out/latest`, state `state`) and, with
/// `--compare-baseline`, its untuned baseline (in `out/baseline/latest`).
pub struct Finished<'a> {
    pub settings: &'a RunSettings,
    pub out: &'a Path,
    pub state: &'a SoakState,
    pub baseline: Option<&'a SoakState>,
    /// Why the run ended before its planned iterations, if it did: the Markdown report says so.
    pub stop: Option<&'a RunStop>,
    /// The engine the reports name: the one the run started on (see `RunRecord::engine`).
    pub engine: &'a EngineRecord,
}

/// Writes `out/latest/TUNING_REPORT.json` and, given `export_md`, the Markdown report
/// with its charts in `<stem>_charts/` beside it.
pub fn write(engine: &mut Engine, run: &Finished, export_md: Option<&Path>) -> Result<Written> {
    let latest = run.out.join("latest");
    let upto = run.state.iteration;
    let compared = run.baseline.is_some();
    let mut tally = ReportTally::new(compared);
    let mut counts = SummaryTally::default();
    for_each_summary(&latest, upto, |s| {
        tally.add(&s);
        if s.tuning.applied {
            counts.applied_iterations += 1;
            for name in s.tuning.deltas.keys() {
                *counts.applies.entry(name.clone()).or_insert(0) += 1;
            }
            if let Some(revert) = s.tuning.skipped_reason.as_deref().filter(|r| REVERTS.contains(r)) {
                *counts.reverts.entry(revert.to_string()).or_insert(0) += 1;
            }
        }
        for e in &s.tuning.guards {
            *counts.guard_events.entry(e.guard.clone()).or_insert(0) += 1;
        }
        Ok(())
    })?;
    let baseline = match run.baseline {
        None => None,
        Some(state) => {
            let mut t = ReportTally::new(true);
            for_each_summary(&run.out.join("baseline").join("latest"), state.iteration, |s| {
                t.add(&s);
                Ok(())
            })?;
            Some(t)
        }
    };
    let head = engine.report_head(&ReportHeadRequest {
        settings: run.settings.clone(),
        engine: run.engine.clone(),
        state: run.state.clone(),
        tally,
        baseline,
    })?;
    let path = latest.join("TUNING_REPORT.json");
    write_streamed(&path, |w| {
        let failure = RefCell::new(None);
        let streamed = Streamed { head: &head, latest: &latest, upto, failure: &failure };
        let result = streamed.serialize(&mut serde_json::Serializer::pretty(&mut *w));
        if let Some(e) = failure.into_inner() {
            return Err(e);
        }
        result.with_context(|| format!("cannot write {}", path.display()))?;
        w.write_all(b"\n")?;
        Ok(())
    })?;
    if let Some(md_path) = export_md {
        markdown(engine, &head, &latest, upto, md_path, run.stop)?;
    }
    Ok(Written { head, tally: counts })
}

/// The Markdown report and its charts: report.md → report_charts/*.svg.
fn markdown(
    engine: &mut Engine,
    head: &TuningReport,
    latest: &Path,
    upto: u32,
    md_path: &Path,
    stop: Option<&RunStop>,
) -> Result<()> {
    let stem = md_path.file_stem().map_or_else(|| "report".into(), |s| s.to_string_lossy().to_string());
    let charts_dir = format!("{stem}_charts");
    let dir = md_path.parent().unwrap_or(Path::new("")).join(&charts_dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("--export-md: cannot create {}", dir.display()))?;
    let mut columns = ChartColumns::default();
    write_streamed(md_path, |w| {
        w.write_all(report::markdown_head_stopped(head, Some(&charts_dir), stop).as_bytes())?;
        for_each_summary(latest, upto, |s| {
            let row = report::row_of(&s);
            columns.push_row(&row);
            Ok(w.write_all(report::markdown_row(&row).as_bytes())?)
        })?;
        w.write_all(report::markdown_params(head).as_bytes())?;
        let mut any = false;
        for_each_summary(latest, upto, |s| {
            for e in &s.tuning.guards {
                if !any {
                    w.write_all(report::MARKDOWN_GUARD_HEADER.as_bytes())?;
                    any = true;
                }
                columns.push_event(e);
                w.write_all(report::markdown_guard_row(e).as_bytes())?;
            }
            Ok(())
        })
    })
    .with_context(|| format!("--export-md {}", md_path.display()))?;
    let (values, events) = columns.into_parts();
    for (index, values) in values.into_iter().enumerate() {
        let chart = engine.report_chart(&ReportChartRequest { index, values, events: events.clone() })?;
        write_atomic(&dir.join(format!("{}.svg", chart.name)), chart.svg.as_bytes())?;
    }
    Ok(())
}

/// TUNING_REPORT with its rows and guard events read from disk as they are printed.
/// A read error is kept in `failure` (serde's errors carry only text).
struct Streamed<'a> {
    head: &'a TuningReport,
    latest: &'a Path,
    upto: u32,
    failure: &'a RefCell<Option<anyhow::Error>>,
}

/// Which per-iteration part of the report a sequence prints.
#[derive(Clone, Copy)]
enum Part {
    Rows,
    GuardEvents,
}

struct Sequence<'a> {
    part: Part,
    report: &'a Streamed<'a>,
}

impl Serialize for Streamed<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        // Every field by name, so a field added to TuningReport fails to compile here
        // instead of going missing from the file; the order is the struct's.
        let TuningReport {
            schema_version,
            core_version,
            engine,
            settings,
            iterations_completed,
            verdict_counts,
            final_verdict,
            baseline,
            final_overrides,
            applied_count,
            rows: _,
            guard_events: _,
            baseline_comparison,
        } = self.head;
        let mut st = ser.serialize_struct("TuningReport", 13)?;
        st.serialize_field("schema_version", schema_version)?;
        st.serialize_field("core_version", core_version)?;
        st.serialize_field("engine", engine)?;
        st.serialize_field("settings", settings)?;
        st.serialize_field("iterations_completed", iterations_completed)?;
        st.serialize_field("verdict_counts", verdict_counts)?;
        st.serialize_field("final_verdict", final_verdict)?;
        st.serialize_field("baseline", baseline)?;
        st.serialize_field("final_overrides", final_overrides)?;
        st.serialize_field("applied_count", applied_count)?;
        st.serialize_field("rows", &Sequence { part: Part::Rows, report: self })?;
        st.serialize_field("guard_events", &Sequence { part: Part::GuardEvents, report: self })?;
        if let Some(c) = baseline_comparison {
            st.serialize_field("baseline_comparison", c)?;
        }
        st.end()
    }
}

impl Serialize for Sequence<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut seq = ser.serialize_seq(None)?;
        let mut printing: Option<S::Error> = None;
        let mut element = |result: Result<(), S::Error>| {
            result.map_err(|e| {
                let text = e.to_string();
                printing = Some(e);
                anyhow::anyhow!(text)
            })
        };
        let walked = for_each_summary(self.report.latest, self.report.upto, |s| match self.part {
            Part::Rows => element(seq.serialize_element(&report::row_of(&s))),
            Part::GuardEvents => s.tuning.guards.iter().try_for_each(|e| element(seq.serialize_element(e))),
        });
        if let Some(e) = printing {
            return Err(e);
        }
        if let Err(e) = walked {
            let text = format!("{e:#}");
            *self.report.failure.borrow_mut() = Some(e);
            return Err(S::Error::custom(text));
        }
        seq.end()
    }
}

/// Writes `path` atomically (temp file, fsync, rename, as `fsutil::write_atomic`)
/// from a writer, so a large artifact is never held in memory whole. On an error
/// the temp file is removed and `path` is untouched.
fn write_streamed(path: &Path, fill: impl FnOnce(&mut BufWriter<&File>) -> Result<()>) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp = crate::fsutil::temp_in(dir)?;
    {
        let mut w = BufWriter::new(tmp.as_file());
        fill(&mut w)?;
        w.flush().with_context(|| format!("cannot write {}", path.display()))?;
    }
    tmp.as_file().sync_all().with_context(|| format!("cannot flush {}", path.display()))?;
    tmp.persist(path).map_err(|e| e.error).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Retention;
    use crate::fsutil::{json_bytes, write_json};
    use crate::rotate;
    use mmsoak_core::market::{simulate_iteration, MarketConfig, Regime};
    use mmsoak_core::params::Params;
    use mmsoak_core::soak::{self, IterSummary, SoakConfig};
    use mmsoak_host::{open_engine, EngineKind, ModuleCache};

    /// A soak of `n` volatile iterations written as the CLI writes it, into `dir/latest`.
    fn soak_into(dir: &Path, n: u32, auto_tune: bool) -> (SoakState, Vec<IterSummary>) {
        let config = SoakConfig {
            total_iterations: n,
            auto_tune,
            iterations_per_hour: 4,
            thresholds: Default::default(),
            safe_params: Params::default(),
            guards: Default::default(),
        };
        let aggressive = Params { base_spread_bps: 3.0, impact_cap_ratio: 0.4, ..Params::default() };
        let mut state = soak::init(config, aggressive);
        let market = MarketConfig::synthetic(Regime::Volatile);
        let latest = dir.join("latest");
        std::fs::create_dir_all(&latest).unwrap();
        let mut all = Vec::new();
        for i in 1..=n {
            let edge = simulate_iteration(&state.overrides, &market, 7, i);
            let (next, summary) = soak::step(state, &edge);
            write_json(&latest.join(format!("ITER_SUMMARY_{i}.json")), &summary).unwrap();
            all.push(summary);
            state = next;
        }
        (state, all)
    }

    fn settings(n: u32) -> RunSettings {
        RunSettings {
            profile: "aggressive".into(),
            regime: "volatile".into(),
            source: "sim".into(),
            data_file: None,
            seed: 7,
            iterations: n,
            auto_tune: true,
            iteration_seconds: 900,
            policy: None,
            ticks: None,
            bars: None,
            regime_spec: None,
        }
    }

    #[test]
    fn streamed_report_is_byte_identical_to_the_whole_report() {
        let dir = tempfile::tempdir().unwrap();
        let n = 12;
        let (state, tuned) = soak_into(dir.path(), n, true);
        let (base_state, base) = soak_into(&dir.path().join("baseline"), n, false);
        // Fold the oldest into the history, and leave a copy of one folded summary
        // behind, as a crash during rotation would: the report must count it once.
        let keep = Retention { keep_summaries: 5, compress_after_days: 7, warn_total_mb: 500, rotate_after_run: true };
        let copy = std::fs::read(dir.path().join("latest/ITER_SUMMARY_7.json")).unwrap();
        rotate::rotate(dir.path(), &keep).unwrap();
        std::fs::write(dir.path().join("latest/ITER_SUMMARY_7.json"), copy).unwrap();
        assert!(dir.path().join("latest").join(rotate::HISTORY).exists());

        let mut engine = open_engine(EngineKind::Native, &ModuleCache::disabled()).unwrap();
        let s = settings(n);
        let record = engine.record();
        let run = Finished {
            settings: &s,
            out: dir.path(),
            state: &state,
            baseline: Some(&base_state),
            stop: None,
            engine: &record,
        };
        let md = dir.path().join("report.md");
        let written = write(&mut engine, &run, Some(&md)).unwrap();

        let whole = report::build(s.clone(), engine.record(), &tuned, &state, &base);
        assert!(!whole.guard_events.is_empty() && whole.baseline_comparison.is_some());
        let json = std::fs::read(dir.path().join("latest/TUNING_REPORT.json")).unwrap();
        assert_eq!(String::from_utf8(json).unwrap(), String::from_utf8(json_bytes(&whole).unwrap()).unwrap());
        assert_eq!(std::fs::read_to_string(&md).unwrap(), report::markdown(&whole, Some("report_charts")));
        for chart in report::charts(&whole) {
            let svg = std::fs::read_to_string(dir.path().join(format!("report_charts/{}.svg", chart.name))).unwrap();
            assert_eq!(svg, chart.svg, "{}", chart.name);
        }
        // The summary's counts, gathered in the same pass, equal the whole report's.
        let mut guards = std::collections::BTreeMap::new();
        whole.guard_events.iter().for_each(|e| *guards.entry(e.guard.clone()).or_insert(0u32) += 1);
        assert_eq!(written.tally.guard_events, guards);
        let mut applies = std::collections::BTreeMap::new();
        for r in whole.rows.iter().filter(|r| r.applied) {
            r.deltas.keys().for_each(|k| *applies.entry(k.clone()).or_insert(0u32) += 1);
        }
        assert_eq!(written.tally.applies, applies);
        // Every applied row is a tuning step (the core's applied_count) or a revert.
        let applied_rows = whole.rows.iter().filter(|r| r.applied).count() as u32;
        assert_eq!(written.tally.applied_iterations, applied_rows);
        let reverts: u32 = written.tally.reverts.values().sum();
        assert_eq!(written.tally.applied_iterations - reverts, whole.applied_count);
    }

    #[test]
    fn a_missing_summary_names_its_file_and_writes_no_report() {
        let dir = tempfile::tempdir().unwrap();
        let (state, _) = soak_into(dir.path(), 4, true);
        std::fs::remove_file(dir.path().join("latest/ITER_SUMMARY_3.json")).unwrap();
        let mut engine = open_engine(EngineKind::Native, &ModuleCache::disabled()).unwrap();
        let s = settings(4);
        let record = engine.record();
        let run =
            Finished { settings: &s, out: dir.path(), state: &state, baseline: None, stop: None, engine: &record };
        let err = format!("{:#}", write(&mut engine, &run, None).err().unwrap());
        assert!(err.contains("ITER_SUMMARY_3.json is missing"), "{err}");
        let left: Vec<String> = std::fs::read_dir(dir.path().join("latest"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| !n.starts_with("ITER_SUMMARY_"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
