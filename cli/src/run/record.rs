//! `latest/RUN.json`, the [`RunRecord`]: a fresh run's, built from its flags
//! and mmsoak.toml, and what `--resume` checks of it before it continues.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use mmsoak_core::kpi::KpiThresholds;
use mmsoak_core::params::Params;
use mmsoak_core::policy::POLICY_ABI_VERSION;
use mmsoak_core::report::{EngineRecord, PolicyRecord, RunSettings};
use mmsoak_host::{PolicyLimits, PolicyPlugin};
use serde::{Deserialize, Serialize};

use crate::args::{RunArgs, Source};
use crate::config::{self, Flags, Retention};
use crate::data::stamps::Stamps;
use crate::replay;

use super::inputs::{InputFile, InputPaths};
use super::plan::{gate_specs, guard_switches, regime_file};

/// `latest/RUN.json`: what the run was asked to do, so `--resume` can continue it
/// exactly as it started.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRecord {
    pub settings: RunSettings,
    pub baseline: Params,
    pub thresholds: KpiThresholds,
    pub compare_baseline: bool,
    /// `--source external --exec`: the bot's command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<String>,
    /// `--exec`: the directory the run started in, absolute. The bot's command
    /// runs there, on `--resume` too, so a relative `./bot.sh` is the same
    /// program from wherever the run is resumed. Absent in older records, whose
    /// bot runs in the current directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec_dir: Option<String>,
    /// `--source external`: how long to retry for a usable report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_timeout_ms: Option<u64>,
    /// `--source fills --markout-ms`: the markout horizon, when not the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub markout_ms: Option<u64>,
    /// `--guards-off`: guards switched off for this run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guards_off: Vec<String>,
    /// Thresholds the run is gated by (so `--resume` gates alike).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gate: Vec<crate::thresholds::ThresholdSpec>,
    /// Where the run's input files are, absolute, as it started: what `--resume`
    /// reads, from whatever directory it runs in. The settings (and so every
    /// report) keep the paths as they were typed. Absent in older records, which
    /// resume with the typed paths.
    #[serde(default, skip_serializing_if = "InputPaths::is_empty")]
    pub paths: InputPaths,
    /// The `--data` files' sizes and hashes as the run started (each file of
    /// `paths.data` once): `--resume` refuses a file whose bytes changed since,
    /// values edited in place included. Absent in older records, which resume
    /// with the checks of the files' shape only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<InputFile>,
    /// `--export-md`, `--export-html`, `--summary-export` as the run started,
    /// absolute: `--resume` writes them again (see `exports`). Absent in older
    /// records and in runs without exports (so their RUN.json is as before),
    /// which resume writing only the exports given with `--resume`.
    #[serde(default, skip_serializing_if = "crate::exports::Exports::is_empty")]
    pub exports: crate::exports::Exports,
    /// The engine the run started on (`--engine`, and the core's sha256): the
    /// reports name it, after a `--resume` on another engine too, as they name
    /// the run's other settings as it started. Set when the run's first
    /// iteration starts; absent in older records, whose reports name the
    /// engine of the invocation that writes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<EngineRecord>,
}

/// A fresh run's record. `stamps` gains the files found beside `--data` (a
/// LOBSTER file's partner), stamped before the scan reads them; `found`, the
/// lines saying what the data holds.
pub(super) fn fresh_record(
    args: &RunArgs,
    stamps: &mut Stamps,
    found: &mut Vec<String>,
) -> Result<(RunRecord, PathBuf, Retention)> {
    let flags = Flags {
        iterations: args.iterations,
        seed: args.seed,
        regime: args.regime.clone(),
        auto_tune: Some(args.auto_tune),
        profile: args.profile.clone(),
        iteration_seconds: args.iteration_seconds,
    };
    let eff = config::resolve(&args.place, &flags)?;
    let source = if args.mock { Source::Sim } else { args.source.unwrap_or(Source::Sim) };
    match (source, args.data.len()) {
        (Source::Replay, 0) => bail!("--source replay needs --data FILE (an OHLCV CSV)"),
        (Source::Kpis, 0) => bail!("--source kpis needs --data FILE (KPI JSON lines)"),
        (Source::Ticks, 0) => {
            bail!("--source ticks needs --data FILE... (LOBSTER, Tardis.dev CSV or Binance capture files)")
        }
        (Source::Sim | Source::External | Source::Fills, n) if n > 0 => {
            bail!("--data is only used with --source replay, kpis or ticks")
        }
        (Source::Replay | Source::Kpis, n) if n > 1 => bail!("--source replay and kpis read one --data file, got {n}"),
        _ => {}
    }
    let t = &args.ticks;
    if let Some(unused) = crate::tick_settings::unused(t, source.name()).filter(|_| source != Source::Ticks) {
        bail!("{unused}");
    }
    let iteration_seconds = eff.iteration_seconds.value;
    if args.loop_data && source != Source::Replay {
        bail!("--loop-data is only used with --source replay");
    }
    let bars = if source == Source::Replay {
        let (series, settings) = replay::plan(&args.data[0], eff.iterations.value, iteration_seconds, args.loop_data)?;
        found.push(format!("mmsoak: bars: {}: {}", args.data[0].display(), series.info.describe()));
        Some(settings)
    } else {
        None
    };
    let regime_spec = regime_file(&eff.regime.value)?;
    // The files the tick scan hashed as it read them (see `data::hashes`).
    let mut digests = Vec::new();
    let ticks = if source == Source::Ticks {
        let tick_plan = crate::ticks::plan_run(&args.data, t, &eff)?;
        found.push(format!("mmsoak: tick data: {}", tick_plan.summary()));
        stamps.add(&tick_plan.stamps);
        digests = tick_plan.digests.clone();
        Some(tick_plan.settings())
    } else {
        None
    };
    let live_file = crate::live_source::check_flags(source, args, &eff.out.value)?;
    if !(args.report_timeout.is_finite() && (0.0..=3600.0).contains(&args.report_timeout)) {
        bail!("--report-timeout must be between 0 and 3600 seconds, got {}", args.report_timeout);
    }
    let settings = RunSettings {
        profile: eff.profile.as_ref().map_or_else(|| "(layered config)".to_string(), |p| p.value.clone()),
        regime: eff.regime.value.clone(),
        source: source.name().into(),
        // A live bot's file absolute: `--resume` from another directory must use the same one.
        data_file: live_file
            .map(|f| std::path::absolute(&f).unwrap_or(f))
            .or_else(|| args.data.first().cloned())
            .map(|p| p.display().to_string()),
        seed: eff.seed.value,
        iterations: eff.iterations.value,
        auto_tune: eff.auto_tune.value,
        iteration_seconds,
        ticks,
        bars,
        regime_spec,
        policy: match &args.policy {
            None => None,
            Some(path) => {
                let plugin = PolicyPlugin::load(path, PolicyLimits::default())?;
                Some(PolicyRecord {
                    file: path.display().to_string(),
                    sha256: plugin.sha256().to_string(),
                    abi_version: POLICY_ABI_VERSION,
                })
            }
        },
    };
    let paths = InputPaths::of(&settings);
    let inputs = InputFile::of(&paths, &digests)?;
    let record = RunRecord {
        baseline: eff.params,
        thresholds: eff.thresholds,
        compare_baseline: args.compare_baseline,
        exec: args.exec.clone(),
        exec_dir: match &args.exec {
            Some(_) => Some(
                std::env::current_dir()
                    .context("--exec: cannot tell the current directory, where the bot would run")?
                    .display()
                    .to_string(),
            ),
            None => None,
        },
        guards_off: {
            guard_switches(&args.guards_off)?;
            args.guards_off.clone()
        },
        report_timeout_ms: (source == Source::External).then_some((args.report_timeout * 1000.0) as u64),
        markout_ms: args.markout_ms,
        gate: gate_specs(args, eff.gate)?,
        paths,
        inputs,
        exports: crate::exports::Exports::of(args),
        engine: None,
        settings,
    };
    Ok((record, eff.out.value, eff.retention))
}

/// `--resume` of a run with `--exec`: the bot runs in the directory the run
/// started in, which must still be there, as must a program named by a relative
/// path (`./bot.sh`) in it; anything else would run another program, or none.
pub(super) fn check_exec(record: &RunRecord) -> Result<()> {
    let (Some(command), Some(dir)) = (&record.exec, &record.exec_dir) else { return Ok(()) };
    let dir = Path::new(dir);
    if !dir.is_dir() {
        bail!(
            "--resume: the bot (--exec {command:?}) ran in {}, which is no longer there; \
             restore it, or start a new run (without --resume)",
            dir.display()
        );
    }
    let program = command.split_whitespace().next().unwrap_or("").trim_matches(|c| c == '"' || c == '\'');
    let by_path = program.contains('/') || (cfg!(windows) && program.contains('\\'));
    if by_path && Path::new(program).is_relative() && !dir.join(program).exists() {
        bail!(
            "--resume: the bot (--exec {command:?}) is {}, which is no longer there; \
             restore it, or start a new run (without --resume)",
            dir.join(program).display()
        );
    }
    Ok(())
}
