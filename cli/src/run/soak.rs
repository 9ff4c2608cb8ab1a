//! The soak loop: one iteration after another, each one's artifacts written
//! in a crash-safe order, with the pauses between iterations.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use mmsoak_core::abi::{InitRequest, SkipRequest, StepRequest};
use mmsoak_core::market::MarketConfig;
use mmsoak_core::policy::{self, PolicyOutcome};
use mmsoak_core::soak::{SoakConfig, SoakState};
use mmsoak_host::{Engine, PolicyPlugin};

use crate::data::stamps::Changed;
use crate::data::BadData;
use crate::data_stop::DataStop;
use crate::external::Observation;
use crate::fsutil::write_json;
use crate::interrupt::{self, Interrupted};
use crate::progress::Reporter;
use crate::{checkpoint, profiles, resources, rotate};

use super::latest::{prepare_out, Progress};
use super::observe::{observe, Observations};
use super::plan::guard_switches;
use super::RunPlan;

/// A soak's end: its state, and the bad data that stopped it early, if any.
pub(super) struct Soaked {
    pub(super) state: SoakState,
    pub(super) stopped: Option<DataStop>,
}

/// One soak into `out`: every iteration's artifacts written as it completes.
pub(super) async fn soak(
    engine: &mut Engine,
    plan: &RunPlan,
    out: &Path,
    auto_tune: bool,
    resumed: Option<Progress>,
    mut policy: Option<&mut PolicyPlugin>,
    mut gate: Option<&mut crate::thresholds::Gate>,
) -> Result<Soaked> {
    let s = &plan.record.settings;
    let mut market = MarketConfig {
        regime: plan.regime,
        iteration_seconds: s.iteration_seconds,
        bars: Vec::new(),
        clock: None,
        spec: s.regime_spec,
    };
    if let Observations::Ticks(run) = &plan.observations {
        run.borrow_mut().rewind();
    }
    let latest = out.join("latest");
    let mut state = match resumed {
        Some(Progress { state: Some(state) }) => {
            // A finished run says so below, not that it resumes.
            if state.iteration < s.iterations {
                eprintln!("mmsoak: resuming {} after iteration {}", out.display(), state.iteration);
            }
            state
        }
        restart => {
            if restart.is_none() {
                prepare_out(out)?;
                write_json(&latest.join("RUN.json"), &plan.record)?;
            }
            let config = SoakConfig {
                total_iterations: s.iterations,
                auto_tune,
                iterations_per_hour: market.iterations_per_hour(),
                thresholds: plan.record.thresholds.clone(),
                safe_params: profiles::load(profiles::SAFE)?,
                guards: guard_switches(&plan.record.guards_off)?,
            };
            engine.init(&InitRequest { config, baseline: plan.record.baseline.clone() })?
        }
    };
    if let Some(g) = gate.as_deref_mut() {
        // The thresholds see the iterations done before the interruption, one file at a time.
        rotate::for_each_summary(&latest, state.iteration, |s| {
            _ = g.observe(&s);
            Ok(())
        })?;
        if g.aborted.is_some() {
            return Ok(Soaked { state, stopped: None }); // a resumed run that a threshold had stopped stays stopped
        }
    }
    resources::keep_upto(&latest, state.iteration)?;
    // Live parameters always match the state, also after a crash between the two writes.
    let overrides_path = out.join("runtime_overrides.json");
    write_json(&overrides_path, &state.overrides)?;
    let n = s.iterations;
    // A run that had finished has nothing left for a bot to trade: it is not started.
    let mut live = if state.iteration >= n {
        // Its baseline run is what is left, when the plan did not find the whole run finished.
        let baseline_left = plan.record.compare_baseline && !matches!(plan.observations, Observations::Finished);
        let left = if out == plan.out && baseline_left {
            "; its baseline run (--compare-baseline) is not, and is resumed"
        } else {
            "; nothing to resume"
        };
        eprintln!("mmsoak: {} finished all {n} iterations already{left}", out.display());
        None
    } else {
        crate::live_source::start(&plan.observations, &plan.record, out, &overrides_path, &latest, plan.sleep)?
    };
    let reporter = Reporter::new(n, state.iteration, plan.json).baseline(out != plan.out);
    // A live bot's iterations are minutes apart and it trades with the overrides:
    // commit each one. Simulated and replayed iterations take milliseconds.
    let interval = if live.is_some() { Duration::ZERO } else { checkpoint::INTERVAL };
    let mut committer = checkpoint::Committer::new(&latest, interval);
    for i in state.iteration + 1..=n {
        let observed = match live.as_mut() {
            Some(src) => {
                // The bot trades with the overrides for one iteration, then reports.
                let since = crate::bot::unix_ms();
                interrupt::pause(plan.sleep, i - 1, out, || src.check_bot()).await?;
                let note = |m: &str| reporter.note(m);
                tokio::select! {
                    observed = src.next(i, since, &state.overrides, &note) => observed?,
                    _ = interrupt::requested() => return Err(Interrupted::after(i - 1, out)),
                }
            }
            None => match observe(engine, plan, &mut market, &state, i) {
                Ok(edge) => Observation::Report(Box::new(edge)),
                // Bad data met mid-run, or a tick file changed under the replay: what
                // is done stays (committed), the report follows.
                Err(e) if e.is::<BadData>() || e.is::<Changed>() => {
                    committer.commit(&state)?;
                    let stopped = Some(DataStop { error: e, done: state.iteration, planned: n, baseline: false });
                    return Ok(Soaked { state, stopped });
                }
                Err(e) => return Err(e),
            },
        };
        let previous = state.clone();
        let mut step = None;
        let mut resp = match observed {
            Observation::Report(edge) => {
                let outcome = policy.as_deref_mut().filter(|_| auto_tune).map(|plugin| {
                    match plugin.propose(&policy::request(&state, &edge)) {
                        Ok(response) => PolicyOutcome::Proposal(response),
                        Err(failure) => {
                            reporter.note(&format!("mmsoak: iteration {i}: policy plugin failed: {failure}"));
                            PolicyOutcome::Failed(format!("policy plugin failed: {failure}"))
                        }
                    }
                });
                let req = step.insert(StepRequest { state, observation: *edge, policy: outcome, apply_blocked: None });
                engine.step(req)?
            }
            Observation::Unusable(reason) => {
                reporter.note(&format!("mmsoak: iteration {i}: INCONCLUSIVE: {reason}"));
                engine.skip(&SkipRequest { state, reason })?
            }
        };
        // Order matters for crash safety: the live parameters first, then the summary,
        // then the state that says the iteration is done. A crash anywhere re-runs at
        // most this iteration, deterministically, on resume (which rewrites the live
        // parameters from the state). A change the bot cannot be given (the file could
        // not be replaced, e.g. held open on Windows past the retry budget) is not
        // applied: the same step again, told so, and the next iteration decides anew.
        if let Err(e) = committer.write_json(&overrides_path, &resp.state.overrides) {
            let why = format!("{e:#}");
            let changed = resp.state.overrides != previous.overrides;
            match step.as_mut().filter(|_| changed) {
                Some(req) => {
                    reporter.note(&format!(
                        "mmsoak: iteration {i}: {why}; the decision is not applied, the next iteration decides again"
                    ));
                    req.state = previous.clone();
                    req.apply_blocked = Some(why);
                    resp = engine.step(req)?;
                }
                None => reporter.note(&format!("mmsoak: iteration {i}: {why}; the parameters in it stay in force")),
            }
        }
        state = resp.state;
        let summary = resp.summary;
        committer.write_json(&latest.join(format!("ITER_SUMMARY_{i}.json")), &summary)?;
        committer.write_json(&latest.join("TUNING_STATE.prev.json"), &previous)?;
        committer.write_json(&latest.join("TUNING_STATE.json"), &state)?;
        committer.commit_if_due(&state)?;
        resources::record(&latest, out, i)?;
        reporter.iteration(&summary)?;
        if let Some(m) = &plan.metrics {
            m.observe(&summary, &state.overrides);
        }
        let abort = gate.as_deref_mut().and_then(|g| g.observe(&summary));
        if let Some(why) = abort {
            reporter.note(&format!("mmsoak: iteration {i}: stopping, abort_on_fail threshold failed: {why}"));
            break;
        }
        if let Some(file) = test_pause_file(i).filter(|_| out == plan.out) {
            committer.commit(&state)?;
            test_pause(&file).await?;
        }
        // Let the Ctrl-C listener run; stop only between iterations.
        tokio::task::yield_now().await;
        if interrupt::is_requested() {
            committer.commit(&state)?;
            return Err(Interrupted::after(i, out));
        }
        if i < n && live.is_none() && !plan.sleep.is_zero() {
            // Nothing stays unflushed through a sleep between iterations.
            committer.commit(&state)?;
            interrupt::pause(plan.sleep, i, out, || Ok(())).await?;
        }
    }
    committer.commit(&state)?;
    Ok(Soaked { state, stopped: None })
}

/// `SOAK_SLEEP_SECONDS`: pause between iterations (default 0 with the simulator; an
/// iteration's market time, `--iteration-seconds`, with a live bot).
pub(super) fn sleep_from_env(external: bool, iteration_seconds: u32) -> Result<Duration> {
    match std::env::var("SOAK_SLEEP_SECONDS") {
        Err(_) if external => Ok(Duration::from_secs(iteration_seconds as u64)),
        Err(_) => Ok(Duration::ZERO),
        Ok(raw) => {
            let secs: f64 =
                raw.trim().parse().ok().filter(|s: &f64| s.is_finite() && *s >= 0.0 && *s <= 86_400.0).with_context(
                    || format!("SOAK_SLEEP_SECONDS must be a number of seconds between 0 and 86400, got {raw:?}"),
                )?;
            Ok(Duration::from_secs_f64(secs))
        }
    }
}

/// TEST-ONLY: `MMSOAK_TEST_PAUSE_AFTER_ITERATION=N:FILE` makes the run, after
/// its iteration N is written and committed (not a baseline run's), create FILE
/// and wait until it is removed (for at most 5 minutes), so an end-to-end test
/// can change a data file between two iterations without racing the run. Not for
/// users; unset (or not of that form), nothing happens. FILE when iteration `i`
/// is the one.
pub(super) fn test_pause_file(i: u32) -> Option<String> {
    let spec = std::env::var("MMSOAK_TEST_PAUSE_AFTER_ITERATION").ok()?;
    let (n, file) = spec.split_once(':')?;
    (n.parse::<u32>().ok() == Some(i)).then(|| file.to_string())
}

/// TEST-ONLY: see [`test_pause_file`].
pub(super) async fn test_pause(file: &str) -> Result<()> {
    std::fs::write(file, b"paused\n").with_context(|| format!("MMSOAK_TEST_PAUSE_AFTER_ITERATION: {file}"))?;
    let t0 = std::time::Instant::now();
    while Path::new(file).exists() && t0.elapsed() < Duration::from_secs(300) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}
