//! `mmsoak run`: the imperative shell around the core's soak step. It reads the
//! inputs, asks the engine to simulate and decide, and writes every artifact.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use mmsoak_core::abi::{InitRequest, ReportRequest, SimulateRequest, StepRequest};
use mmsoak_core::edge::EdgeReport;
use mmsoak_core::kpi::{hard_gate, KpiThresholds};
use mmsoak_core::market::{Bar, MarketConfig, Regime};
use mmsoak_core::params::Params;
use mmsoak_core::report::RunSettings;
use mmsoak_core::soak::{IterSummary, SoakConfig, SoakState};
use mmsoak_host::{open_engine, Engine, EngineKind, ModuleCache};

use crate::args::{EngineChoice, RunArgs, Source};
use crate::fsutil::{write_atomic, write_json};
use crate::{kpis, profiles, replay};

/// Everything a run needs, validated before the first artifact is touched.
pub struct RunPlan {
    pub settings: RunSettings,
    pub baseline: Params,
    pub regime: Regime,
    pub observations: Observations,
    pub out: PathBuf,
    pub export_md: Option<PathBuf>,
    pub engine: EngineKind,
    pub json: bool,
    pub sleep: Duration,
    /// `--fail-on kpi`: (window, max fails).
    pub hard_gate: Option<(usize, usize)>,
    pub compare_baseline: bool,
}

/// Where each iteration's observation comes from.
pub enum Observations {
    Simulated,
    Replay(Vec<Bar>),
    Recorded(Vec<EdgeReport>),
}

/// What a finished run reports back to `main`.
pub struct Outcome {
    /// Why the hard gate tripped, if it did.
    pub gate_tripped: Option<String>,
}

const ITERATION_SECONDS: u32 = 900;

/// Checks every input; any problem is one clear error and nothing is written.
pub fn plan(args: &RunArgs) -> Result<RunPlan> {
    if args.iterations == 0 {
        bail!("--iterations must be at least 1, got 0");
    }
    let regime = Regime::parse(&args.regime).with_context(|| {
        let names: Vec<&str> = Regime::ALL.iter().map(|r| r.name()).collect();
        format!("unknown --regime {:?}: choose one of {}", args.regime, names.join(", "))
    })?;
    let baseline = profiles::load(&args.profile)?;
    let source = if args.mock { Source::Sim } else { args.source };
    let observations = match (source, &args.data) {
        (Source::Replay, Some(path)) => Observations::Replay(replay::load(path)?),
        (Source::Replay, None) => bail!("--source replay needs --data FILE (an OHLCV CSV)"),
        (Source::Kpis, Some(path)) => {
            let recorded = kpis::load(path)?;
            if (recorded.len() as u64) < args.iterations as u64 {
                bail!(
                    "--iterations {} but {} holds only {} observations",
                    args.iterations,
                    path.display(),
                    recorded.len()
                );
            }
            Observations::Recorded(recorded)
        }
        (Source::Kpis, None) => bail!("--source kpis needs --data FILE (KPI JSON lines)"),
        (Source::Sim, Some(_)) => bail!("--data is only used with --source replay or kpis"),
        (Source::Sim, None) => Observations::Simulated,
    };
    let sleep = sleep_from_env()?;
    Ok(RunPlan {
        settings: RunSettings {
            profile: args.profile.clone(),
            regime: regime.name().into(),
            source: match source {
                Source::Sim => "sim".into(),
                Source::Replay => "replay".into(),
                Source::Kpis => "kpis".into(),
            },
            data_file: args.data.as_ref().map(|p| p.display().to_string()),
            seed: args.seed,
            iterations: args.iterations,
            auto_tune: args.auto_tune,
            iteration_seconds: ITERATION_SECONDS,
        },
        baseline,
        regime,
        observations,
        out: args.out.clone(),
        export_md: args.export_md.clone(),
        engine: match args.engine {
            EngineChoice::Wasm => EngineKind::Wasm,
            EngineChoice::Native => EngineKind::Native,
        },
        json: args.json,
        sleep,
        hard_gate: args.fail_on.map(|_| (args.fail_window as usize, args.fail_max as usize)),
        compare_baseline: args.compare_baseline,
    })
}

/// `SOAK_SLEEP_SECONDS`: pause between iterations (default 0 with the simulator).
fn sleep_from_env() -> Result<Duration> {
    match std::env::var("SOAK_SLEEP_SECONDS") {
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

/// Makes `<out>/latest` ready for a new run. A previous run's files are moved
/// aside to `<out>/runs/run-<unix time>` rather than overwritten or mixed in.
fn prepare_out(out: &Path) -> Result<PathBuf> {
    let latest = out.join("latest");
    std::fs::create_dir_all(out).with_context(|| format!("cannot create --out directory {}", out.display()))?;
    let has_previous = std::fs::read_dir(&latest).map(|mut d| d.next().is_some()).unwrap_or(false);
    if has_previous {
        let runs = out.join("runs");
        std::fs::create_dir_all(&runs).with_context(|| format!("cannot create {}", runs.display()))?;
        let stamp =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let mut dest = runs.join(format!("run-{stamp}"));
        let mut n = 1;
        while dest.exists() {
            dest = runs.join(format!("run-{stamp}-{n}"));
            n += 1;
        }
        std::fs::rename(&latest, &dest)
            .with_context(|| format!("cannot move the previous run {} to {}", latest.display(), dest.display()))?;
    }
    std::fs::create_dir_all(&latest).with_context(|| format!("cannot create {}", latest.display()))?;
    // Fail now, not after the first iteration, if the directory is not writable.
    tempfile::tempfile_in(&latest).with_context(|| format!("--out directory {} is not writable", out.display()))?;
    Ok(latest)
}

pub async fn execute(plan: RunPlan) -> Result<Outcome> {
    let cache = ModuleCache::from_env();
    let mut engine = open_engine(plan.engine, &cache).context("starting the core engine")?;
    let (summaries, state) = soak(&mut engine, &plan, &plan.out, plan.settings.auto_tune).await?;
    let baseline = if plan.compare_baseline {
        eprintln!(
            "mmsoak: baseline run (same seed and market, tuner off) into {}",
            plan.out.join("baseline").display()
        );
        soak(&mut engine, &plan, &plan.out.join("baseline"), false).await?.0
    } else {
        Vec::new()
    };
    let latest = plan.out.join("latest");
    let report = engine.report(&ReportRequest {
        settings: plan.settings.clone(),
        engine: engine.record(),
        summaries,
        state,
        baseline,
    })?;
    write_json(&latest.join("TUNING_REPORT.json"), &report)?;
    if let Some(md_path) = &plan.export_md {
        let md = engine.markdown(&report)?;
        write_atomic(md_path, md.as_bytes()).with_context(|| format!("--export-md {}", md_path.display()))?;
    }
    let counts: Vec<String> = report.verdict_counts.iter().map(|(k, v)| format!("{k}={v}")).collect();
    eprintln!(
        "mmsoak: {} iterations done ({}), final verdict {}; artifacts in {}",
        plan.settings.iterations,
        counts.join(" "),
        report.final_verdict.map_or("-", |v| v.name()),
        latest.display()
    );
    if let Some(c) = &report.baseline_comparison {
        eprintln!(
            "mmsoak: vs untuned baseline: net_bps {:+.3} (p={:.4}), risk_ratio {:+.3} (p={:.4})",
            c.net_bps.uplift, c.net_bps.test.p_value, c.risk_ratio.uplift, c.risk_ratio.test.p_value
        );
    }
    let gate_tripped = plan.hard_gate.and_then(|(window, max_fails)| {
        let verdicts: Vec<_> = report.rows.iter().map(|r| r.kpi_verdict).collect();
        hard_gate(&verdicts, window, max_fails)
    });
    Ok(Outcome { gate_tripped })
}

/// One soak into `out`: every iteration's artifacts written as it completes.
async fn soak(
    engine: &mut Engine,
    plan: &RunPlan,
    out: &Path,
    auto_tune: bool,
) -> Result<(Vec<IterSummary>, SoakState)> {
    let latest = prepare_out(out)?;
    let mut market = MarketConfig { regime: plan.regime, iteration_seconds: ITERATION_SECONDS, bars: Vec::new() };
    let config = SoakConfig {
        total_iterations: plan.settings.iterations,
        auto_tune,
        iterations_per_hour: market.iterations_per_hour(),
        thresholds: KpiThresholds::default(),
        safe_params: profiles::load("steady_safe")?,
    };
    let mut state = engine.init(&InitRequest { config, baseline: plan.baseline.clone() })?;
    let n = plan.settings.iterations;
    let mut summaries: Vec<IterSummary> = Vec::with_capacity(n as usize);
    for i in 1..=n {
        let edge = match &plan.observations {
            Observations::Recorded(reports) => reports[(i - 1) as usize].clone(),
            Observations::Simulated | Observations::Replay(_) => {
                if let Observations::Replay(bars) = &plan.observations {
                    market.bars = replay::window(bars, i, ITERATION_SECONDS / 60);
                }
                engine.simulate(&SimulateRequest {
                    params: state.overrides.clone(),
                    market: market.clone(),
                    seed: plan.settings.seed,
                    iteration: i,
                })?
            }
        };
        let resp = engine.step(&StepRequest { state, observation: edge })?;
        state = resp.state;
        let summary = resp.summary;
        write_json(&latest.join(format!("ITER_SUMMARY_{i}.json")), &summary)?;
        write_json(&latest.join("TUNING_STATE.json"), &state)?;
        write_json(&out.join("runtime_overrides.json"), &state.overrides)?;
        progress(&summary, n, plan.json)?;
        summaries.push(summary);
        if i < n && !plan.sleep.is_zero() {
            tokio::time::sleep(plan.sleep).await;
        }
    }
    Ok((summaries, state))
}

fn progress(s: &IterSummary, total: u32, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string(s)?);
        return Ok(());
    }
    let k = &s.summary;
    let tuning = if s.tuning.applied {
        let d: Vec<String> = s.tuning.deltas.iter().map(|(n, v)| format!("{n} {v:+}")).collect();
        format!("applied {}", d.join(", "))
    } else {
        s.tuning.skipped_reason.clone().unwrap_or_else(|| "-".into())
    };
    eprintln!(
        "[{:>w$}/{total}] {:<12} net {:>7.2} bps  risk {:.3}  adverse p95 {:>5.2}  slippage p95 {:>5.2}  {tuning}",
        s.iteration,
        k.kpi_verdict.name(),
        k.net_bps,
        k.risk_ratio,
        k.adverse_p95,
        k.slippage_p95,
        w = total.to_string().len()
    );
    Ok(())
}
