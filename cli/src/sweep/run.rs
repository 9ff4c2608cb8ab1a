//! `mmsoak sweep run`: one shard's soaks on `--workers` threads, each with its own
//! engine. Every finished run is checkpointed (one file, written atomically), so a
//! killed shard re-run skips what is done; at the end the shard's results go into
//! one shard file, sorted by run index, and the checkpoints are removed.
//!
//! A soak here is the same transition `mmsoak run --source sim` drives
//! (`Engine::init`, then `simulate` and `step` per iteration, with the same
//! `SoakConfig`), without the per-iteration artifact files: a sweep keeps only
//! its [`RunResult`]s. `tests/sweep.rs` checks a sweep run against `mmsoak run`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use mmsoak_core::abi::{InitRequest, SimulateRequest, StepRequest};
use mmsoak_core::market::{MarketConfig, Regime};
use mmsoak_core::soak::{GuardSwitches, SoakConfig};
use mmsoak_host::{open_engine, Engine, EngineKind, ModuleCache};

use super::plan::{RunSpec, Shard};
use super::result::{Checkpoint, RunResult, ShardFile, SHARD_FORMAT};
use super::spec::Spec;
use super::window::WindowBars;
use crate::fsutil::{json_bytes, write_atomic};

/// A shard ready to run: checked inputs, what is already done.
pub struct ShardPlan {
    pub spec: Spec,
    pub hash: String,
    pub runs: Vec<RunSpec>,
    pub runs_total: u32,
    pub shard: Shard,
    pub out: PathBuf,
    pub workers: usize,
    pub engine: EngineKind,
    /// Results found in checkpoints of an earlier, interrupted attempt.
    pub done: BTreeMap<u32, RunResult>,
    /// The shard file exists already with this sweep's results.
    pub complete: bool,
}

pub fn checkpoint_dir(out: &Path, shard: Shard) -> PathBuf {
    out.join("checkpoints").join(shard.file_name().trim_end_matches(".json"))
}

/// Reads what an earlier attempt left: the finished shard file, or checkpoints.
/// Files of a different sweep in the same directory are an error.
pub fn prior(out: &Path, shard: Shard, hash: &str) -> Result<(bool, BTreeMap<u32, RunResult>)> {
    let path = out.join(shard.file_name());
    if path.exists() {
        let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let file: ShardFile = serde_json::from_slice(&bytes)
            .with_context(|| format!("{}: not a shard file (remove it to re-run the shard)", path.display()))?;
        if file.sweep_hash != hash {
            bail!(
                "{} belongs to a different sweep (hash {}, this sweep's is {hash}): use another --out",
                path.display(),
                file.sweep_hash
            );
        }
        return Ok((true, BTreeMap::new()));
    }
    let dir = checkpoint_dir(out, shard);
    let mut done = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(&dir) else { return Ok((false, done)) };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with(".mmsoak-tmp-") {
            let _ = std::fs::remove_file(entry.path()); // a write the kill cut short
            continue;
        }
        if !(name.starts_with("run-") && name.ends_with(".json")) {
            continue;
        }
        let bytes = std::fs::read(entry.path()).with_context(|| format!("cannot read {}", entry.path().display()))?;
        let c: Checkpoint = serde_json::from_slice(&bytes)
            .with_context(|| format!("{}: not a sweep checkpoint", entry.path().display()))?;
        if c.sweep_hash != hash {
            bail!(
                "{} holds checkpoints of a different sweep (hash {}, this sweep's is {hash}): use another --out",
                dir.display(),
                c.sweep_hash
            );
        }
        done.insert(c.result.index, c.result);
    }
    Ok((false, done))
}

/// The bars of every replay window a shard's runs use, read once, by window name.
pub type Windows = BTreeMap<String, Arc<WindowBars>>;

/// Reads the windows `runs` use (every one checked against its sha256).
pub fn load_windows(spec: &Spec, runs: &[&RunSpec]) -> Result<Windows> {
    let mut out = Windows::new();
    for w in &spec.windows {
        if runs.iter().any(|r| r.window.as_deref() == Some(w.name.as_str())) {
            out.insert(w.name.clone(), WindowBars::load(w)?);
        }
    }
    Ok(out)
}

/// One soak: `Engine::init`, then `simulate` and `step` for every iteration; on a
/// replay window, each iteration's bars first, as `mmsoak run --source replay` does.
pub fn soak(
    engine: &mut Engine,
    spec: &Spec,
    run: &RunSpec,
    safe: &mmsoak_core::params::Params,
    windows: &Windows,
) -> Result<RunResult> {
    let window = match &run.window {
        None => None,
        Some(name) => Some(windows.get(name).with_context(|| format!("internal: replay window {name} not loaded"))?),
    };
    let market_spec = run.market.as_ref().and_then(|m| m.spec);
    let regime = match market_spec {
        Some(_) => Regime::Fitted,
        None => Regime::parse(&run.regime).with_context(|| format!("unknown regime {:?}", run.regime))?,
    };
    let mut market = MarketConfig {
        regime,
        iteration_seconds: spec.iteration_seconds,
        bars: Vec::new(),
        clock: None,
        spec: market_spec,
    };
    let mut guards = GuardSwitches::default();
    for g in &run.guards_off {
        guards.switch_off(g);
    }
    let config = SoakConfig {
        total_iterations: spec.iterations,
        auto_tune: run.auto_tune,
        iterations_per_hour: market.iterations_per_hour(),
        thresholds: run.kpi.clone(),
        safe_params: safe.clone(),
        guards,
    };
    let mut state = engine.init(&InitRequest { config, baseline: run.params.clone() })?;
    let mut summaries = Vec::with_capacity(spec.iterations as usize);
    for i in 1..=spec.iterations {
        if let (Some(w), Some(name)) = (window, &run.window) {
            let (bars, clock) = w.iteration(name, i, spec.iteration_seconds)?;
            market.bars = bars;
            market.clock = Some(clock);
        }
        let edge = engine.simulate(&SimulateRequest {
            params: state.overrides.clone(),
            market: market.clone(),
            seed: run.seed,
            iteration: i,
        })?;
        let resp = engine.step(&StepRequest { state, observation: edge, policy: None, apply_blocked: None })?;
        state = resp.state;
        summaries.push(resp.summary);
    }
    Ok(RunResult::of(run, &summaries, state.overrides.clone(), state.tuning.applied_count))
}

fn progress_bar(total: u64, done: u64) -> ProgressBar {
    let bar = ProgressBar::new(total).with_position(done);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{bar:30}] {pos}/{len} runs  {elapsed_precise} elapsed, ETA {eta_precise}  {per_sec}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Runs the shard's remaining soaks and writes its shard file. Returns how many
/// soaks this call ran.
pub fn execute(plan: ShardPlan) -> Result<usize> {
    let shard_path = plan.out.join(plan.shard.file_name());
    if plan.complete {
        eprintln!("mmsoak: {} is complete already; nothing to run", shard_path.display());
        return Ok(0);
    }
    let dir = checkpoint_dir(&plan.out, plan.shard);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Two processes on one shard would race on its files; the lock makes the second stop.
    let _lock = crate::outlock::acquire(&dir)?;
    let todo: Vec<&RunSpec> = plan.runs.iter().filter(|r| !plan.done.contains_key(&r.index)).collect();
    eprintln!(
        "mmsoak: shard {}/{}: {} runs, {} done before, {} to run on {} worker(s)",
        plan.shard.index,
        plan.shard.count,
        plan.runs.len(),
        plan.runs.len() - todo.len(),
        todo.len(),
        plan.workers
    );
    let bar = progress_bar(plan.runs.len() as u64, (plan.runs.len() - todo.len()) as u64);
    let safe = crate::profiles::load("steady_safe")?;
    let windows = load_windows(&plan.spec, &todo)?;
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let mut results = plan.done.clone();
    let (tx, rx) = mpsc::channel::<Result<RunResult>>();
    let outcome: Result<()> = std::thread::scope(|scope| {
        for _ in 0..plan.workers.min(todo.len()) {
            let tx = tx.clone();
            let (todo, next, stop, spec, safe, windows) = (&todo, &next, &stop, &plan.spec, &safe, &windows);
            let kind = plan.engine;
            scope.spawn(move || {
                let cache = ModuleCache::from_env();
                let mut engine = match open_engine(kind, &cache) {
                    Ok(e) => e,
                    Err(e) => {
                        let _ = tx.send(Err(anyhow::Error::from(e).context("starting the core engine")));
                        return;
                    }
                };
                while !stop.load(Ordering::SeqCst) {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(run) = todo.get(k) else { break };
                    let r = soak(&mut engine, spec, run, safe, windows).with_context(|| format!("run {}", run.index));
                    if tx.send(r).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        // This thread writes every checkpoint, so files never race.
        for r in rx {
            match r.and_then(|result| {
                let path = dir.join(format!("run-{:07}.json", result.index));
                let c = Checkpoint { sweep_hash: plan.hash.clone(), result };
                write_atomic(&path, &json_bytes(&c)?)?;
                Ok(c.result)
            }) {
                Ok(result) => {
                    results.insert(result.index, result);
                    bar.inc(1);
                }
                Err(e) => {
                    stop.store(true, Ordering::SeqCst);
                    return Err(e);
                }
            }
        }
        Ok(())
    });
    bar.finish_and_clear();
    outcome?;
    if results.len() != plan.runs.len() {
        bail!("internal: {} of the shard's {} runs finished", results.len(), plan.runs.len());
    }
    let file = ShardFile {
        format: SHARD_FORMAT.into(),
        sweep_hash: plan.hash.clone(),
        shard: plan.shard.index,
        shards: plan.shard.count,
        runs_total: plan.runs_total,
        spec: plan.spec.clone(),
        results: results.into_values().collect(),
    };
    write_atomic(&shard_path, &json_bytes(&file)?)?;
    drop(_lock);
    std::fs::remove_dir_all(&dir).with_context(|| format!("cannot remove the checkpoints {}", dir.display()))?;
    let _ = std::fs::remove_dir(plan.out.join("checkpoints")); // only if no other shard's are left
    eprintln!("mmsoak: shard {}/{} done: {}", plan.shard.index, plan.shard.count, shard_path.display());
    Ok(todo.len())
}
