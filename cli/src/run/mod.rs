//! `mmsoak run`: the imperative shell around the core's soak step. It reads the
//! inputs, asks the engine to simulate and decide, and writes every artifact.
//!
//! One concept a file: [`plan`] (every check before the first artifact is
//! touched, into a [`RunPlan`]), `record` (the [`RunRecord`] in latest/RUN.json
//! that `--resume` continues from), `inputs` (the run's input files, their
//! recorded paths and hashes), `latest` (`<out>/latest` made ready for a run,
//! and read back by `--resume`), `observe` (where an iteration's observation
//! comes from), `soak` (the loop), and here the run's end: the baseline, the
//! reports and the summary.

mod inputs;
mod latest;
mod observe;
mod plan;
mod record;
mod soak;

pub use inputs::{InputFile, InputPaths};
pub use latest::Progress;
pub use observe::Observations;
pub(crate) use plan::guard_switches;
pub use plan::plan;
pub use record::RunRecord;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use mmsoak_core::market::Regime;
use mmsoak_core::report::{RunStop, StopCause};
use mmsoak_host::{open_engine, EngineKind, ModuleCache, PolicyPlugin};

use crate::config::Retention;
use crate::data_stop::DataStop;
use crate::fsutil::write_json;
use crate::interrupt;
use crate::metrics::{self, Metrics};
use crate::{outlock, report_out, rotate};

use soak::{soak, Soaked};

/// Everything a run needs, validated before the first artifact is touched.
pub struct RunPlan {
    pub record: RunRecord,
    pub regime: Regime,
    pub observations: Observations,
    pub out: PathBuf,
    /// `--export-md`, `--export-html` (and `summary_export`): the flag's path,
    /// else on `--resume` the one recorded in RUN.json (see `exports`).
    pub export_md: Option<PathBuf>,
    pub export_html: Option<PathBuf>,
    pub engine: EngineKind,
    pub json: bool,
    pub sleep: Duration,
    /// Thresholds (`[thresholds]`, `--threshold`, `--fail-on kpi`), checked.
    pub gate: crate::thresholds::Gate,
    /// `--summary-export`: where the end-of-run summary's JSON goes.
    pub summary_export: Option<PathBuf>,
    pub retention: Retention,
    /// `--resume`: the interrupted run's progress, read and checked up front.
    pub resumed: Option<Progress>,
    /// `--policy`: the plugin, loaded and checked up front.
    pub policy: Option<PolicyPlugin>,
    /// `--metrics-addr`: the bound listener (taken when serving starts) and the metrics.
    pub metrics_listener: Option<std::net::TcpListener>,
    pub metrics: Option<Arc<Metrics>>,
    /// `<out>/mmsoak.lock`, taken last in [`plan`] (another run on `--out` and an
    /// unwritable `--out` are input errors, exit 2) and held until the run ends.
    pub lock: outlock::OutLock,
}

/// What a finished run reports back to `main`.
pub struct Outcome {
    /// Why the hard gate tripped, if it did.
    pub gate_tripped: Option<String>,
}

pub async fn execute(mut plan: RunPlan) -> Result<Outcome> {
    interrupt::listen();
    if let (Some(listener), Some(metrics)) = (plan.metrics_listener.take(), &plan.metrics) {
        let addr = listener.local_addr().context("--metrics-addr")?;
        metrics::serve(listener, metrics.clone())?;
        eprintln!("mmsoak: metrics at http://{addr}/metrics");
    }
    let cache = ModuleCache::from_env();
    let mut engine = open_engine(plan.engine, &cache).context("starting the core engine")?;
    let resumed = plan.resumed.take();
    let resuming = resumed.is_some();
    if !resuming {
        // Recorded in RUN.json (written as the first iteration starts), for the reports.
        plan.record.engine = Some(engine.record());
    }
    let running = engine.record();
    let engine_record = plan.record.engine.clone().unwrap_or_else(|| running.clone());
    if engine_record != running {
        eprintln!(
            "mmsoak: this resume runs on the {} engine (core sha256 {}); the run started on {} (core sha256 {}), \
             which its reports name",
            running.kind, running.core_sha256, engine_record.kind, engine_record.core_sha256
        );
    }
    let s = &plan.record.settings;
    let mut policy = plan.policy.take();
    let mut gate = std::mem::take(&mut plan.gate);
    let tuned = soak(&mut engine, &plan, &plan.out, s.auto_tune, resumed, policy.as_mut(), Some(&mut gate)).await?;
    let (state, mut stopped) = (tuned.state, tuned.stopped);
    // A run that stopped early skips its `--compare-baseline` run; why
    // `--compare-baseline` compared nothing goes in the summary.
    let baseline_skipped = plan.record.compare_baseline && (gate.aborted.is_some() || stopped.is_some());
    let mut baseline_not_compared = baseline_skipped.then(|| {
        let why = format!(
            "the run stopped after iteration {} of {}, and --compare-baseline compares complete runs only; \
             the baseline run was skipped",
            state.iteration, s.iterations
        );
        eprintln!("mmsoak: no baseline run: {why}");
        why
    });
    let baseline = if plan.record.compare_baseline && !baseline_skipped {
        // On `--resume` the baseline run goes on from where it got, and one that
        // had finished is not run again.
        let prior = if resuming { latest::baseline_progress(&plan.out)? } else { None };
        let run = match prior {
            Some(Progress { state: Some(state) }) if state.iteration >= s.iterations => Soaked { state, stopped: None },
            prior => {
                eprintln!(
                    "mmsoak: baseline run (same seed and market, tuner off) into {}",
                    plan.out.join("baseline").display()
                );
                soak(&mut engine, &plan, &plan.out.join("baseline"), false, prior, None, None).await?
            }
        };
        // A baseline cut short compares nothing: the report goes without it.
        stopped = run.stopped.map(DataStop::in_baseline);
        if let Some(stop) = &stopped {
            baseline_not_compared = Some(format!(
                "the baseline run stopped after its iteration {} of {}: {}",
                stop.done,
                stop.planned,
                stop.cause()
            ));
        }
        stopped.is_none().then_some(run.state)
    } else {
        None
    };
    let latest = plan.out.join("latest");
    // A run that ended early says so at the top of its Markdown and HTML reports,
    // and that its baseline was skipped when one was asked for.
    let stop = match (&stopped, &gate.aborted) {
        (Some(data), _) => Some(RunStop { baseline_skipped, ..data.run_stop() }),
        (None, Some((after_iteration, label))) => Some(RunStop {
            after_iteration: *after_iteration,
            planned: s.iterations,
            cause: StopCause::Threshold(label.clone()),
            baseline_skipped,
        }),
        (None, None) => None,
    };
    // Streamed from the ITER_SUMMARY files: memory does not grow with the run.
    let finished = report_out::Finished {
        settings: s,
        out: &plan.out,
        state: &state,
        baseline: baseline.as_ref(),
        stop: stop.as_ref(),
        engine: &engine_record,
    };
    let written = report_out::write(&mut engine, &finished, plan.export_md.as_deref())?;
    let report = &written.head;
    if let Some(path) = &plan.export_html {
        crate::html_export::write(path, &latest.join("TUNING_REPORT.json"), &gate.results(), stop.as_ref())?;
    }
    eprintln!("{}", done_line(report.iterations_completed, &report.verdict_counts, report.final_verdict, &latest));
    if plan.retention.rotate_after_run {
        for line in rotate::rotate(&plan.out, &plan.retention)? {
            eprintln!("mmsoak: {line}");
        }
    }
    let results = gate.results();
    let failed: Vec<String> = results.iter().filter(|r| !r.passed).map(|r| r.failure_text()).collect();
    let summary = crate::summary::build(
        report,
        &written.tally,
        results,
        crate::summary::Stops {
            aborted: gate.aborted.clone(),
            bad_data: stopped.as_ref().map(DataStop::summary),
            baseline_not_compared,
        },
        &plan.out,
        crate::summary::Reports { markdown: plan.export_md.as_deref(), html: plan.export_html.as_deref() },
    );
    eprint!("{}", crate::summary::text(&summary));
    if let Some(path) = &plan.summary_export {
        write_json(path, &summary).with_context(|| format!("--summary-export {}", path.display()))?;
    }
    if let Some(stop) = stopped {
        return Err(stop.into_error(&InputFile::changed(&plan.record.inputs), &plan.out));
    }
    Ok(Outcome { gate_tripped: (!failed.is_empty()).then(|| failed.join("; ")) })
}

/// The run's last line: iterations done, their verdicts, the final verdict, where
/// the artifacts are. A run stopped before its first iteration has neither
/// verdicts nor a final one, and says so instead of printing an empty list.
fn done_line(
    n: u32,
    verdict_counts: &std::collections::BTreeMap<String, u32>,
    final_verdict: Option<mmsoak_core::kpi::KpiVerdict>,
    latest: &std::path::Path,
) -> String {
    let counts: Vec<String> = verdict_counts.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let verdicts = if counts.is_empty() { String::new() } else { format!(" ({})", counts.join(" ")) };
    let verdict = final_verdict.map_or("none", |v| v.name());
    format!(
        "mmsoak: {n} iteration{} done{verdicts}, final verdict {verdict}; artifacts in {}",
        if n == 1 { "" } else { "s" },
        latest.display()
    )
}

#[cfg(test)]
mod tests {
    use super::done_line;
    use mmsoak_core::kpi::KpiVerdict;
    use std::collections::BTreeMap;
    use std::path::Path;

    #[test]
    fn the_last_line_has_no_empty_verdict_list_when_nothing_ran() {
        let latest = Path::new("out/latest");
        assert_eq!(
            done_line(0, &BTreeMap::new(), None, latest),
            "mmsoak: 0 iterations done, final verdict none; artifacts in out/latest"
        );
        let counts = BTreeMap::from([("PASS".to_string(), 1), ("WARN".to_string(), 2)]);
        assert_eq!(
            done_line(3, &counts, Some(KpiVerdict::Warn), latest),
            "mmsoak: 3 iterations done (PASS=1 WARN=2), final verdict WARN; artifacts in out/latest"
        );
        assert!(done_line(1, &counts, Some(KpiVerdict::Pass), latest).starts_with("mmsoak: 1 iteration done ("));
    }
}
