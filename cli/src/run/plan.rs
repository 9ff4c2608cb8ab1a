//! The run plan: every input checked, the cheap ones before any data is read,
//! into a [`RunPlan`]; any problem is one clear error and nothing is written.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use mmsoak_core::market::Regime;
use mmsoak_core::report::PolicyRecord;
use mmsoak_core::soak::GuardSwitches;
use mmsoak_host::{EngineKind, PolicyLimits, PolicyPlugin};

use crate::args::{EngineChoice, RunArgs};
use crate::config::{self, Flags};
use crate::data::stamps::Stamps;
use crate::metrics::Metrics;
use crate::outlock;
use crate::resume_flags::Resolve;

use super::inputs::InputFile;
use super::latest::{load_progress, run_finished};
use super::observe::observations;
use super::record::{check_exec, fresh_record};
use super::soak::sleep_from_env;
use super::{Observations, RunPlan, RunRecord};

/// Checks every input; any problem is one clear error and nothing is written.
pub fn plan(args: &RunArgs) -> Result<RunPlan> {
    check_before_the_data(args)?;
    // A fresh run reads its data several times before it starts: a file written
    // to meanwhile is refused (see `data::stamps`).
    let mut stamps = Stamps::take(if args.resume { &[] } else { &args.data });
    // What the start-of-run reads found (`bars: …`, `tick data: …`): said once
    // the stamps show the files held still while they were read.
    let mut found = Vec::new();
    // `--resume`: a flag whose check needs the data, left until it is verified.
    let mut undecided = false;
    // `--resume`: mmsoak.toml's `[ticks]`, told apart from the record's once more with the data.
    let mut ticks_section = None;
    // `--resume` of a finished run: the recorded reports it cannot write again.
    let mut unwritten: Vec<(&str, anyhow::Error)> = Vec::new();
    let (record, out, retention) = if args.resume {
        let out = args.place.out.clone().unwrap_or_else(|| PathBuf::from(config::DEFAULT_OUT));
        let eff = config::resolve_for_resume(
            &crate::args::ConfigPlace { config: args.place.config.clone(), out: Some(out.clone()) },
            &Flags::default(),
        )?;
        let path = out.join("latest").join("RUN.json");
        let bytes = std::fs::read(&path)
            .with_context(|| format!("nothing to resume in {}: cannot read {}", out.display(), path.display()))?;
        let record: RunRecord =
            serde_json::from_slice(&bytes).with_context(|| format!("{}: not a valid run record", path.display()))?;
        // Flags first, and none of them reads the data (see `resume_flags`); on a
        // run that had finished, the tick flags' values are only checked, as
        // nothing will use them.
        let finished = run_finished(&out, &record);
        undecided = crate::resume_flags::check(args, &record, &eff.ticks, finished)?;
        check_exec(&record)?;
        // Before any data is read, as a fresh run's export flags are checked. A run
        // with nothing left to do is not refused over a report it cannot write
        // again: that one is left as it is, and said.
        if finished {
            unwritten = record.exports.unwritable(args).into_iter().map(|(flag, _, e)| (flag, e)).collect();
        } else {
            record.exports.check_recorded(args, &path)?;
        }
        let resolve = if finished { Resolve::Validate } else { Resolve::WithoutData };
        found = crate::resume_flags::config_ticks_differ(args, &eff.ticks, &record, resolve)?;
        ticks_section = Some(eff.ticks);
        (record, out, eff.retention)
    } else {
        fresh_record(args, &mut stamps, &mut found)?
    };
    let regime = match record.settings.regime_spec {
        Some(_) => Regime::Fitted,
        None => Regime::parse(&record.settings.regime).with_context(|| unknown_regime(&record.settings.regime))?,
    };
    let gate = crate::thresholds::Gate::new(&gate_specs(args, record.gate.clone())?)?;
    let mut exports = crate::exports::Chosen::of_run(args, &record.exports);
    for (flag, _) in &unwritten {
        exports.forget(flag);
    }
    for (flag, path) in exports.flagged() {
        if let Some(p) = path {
            crate::output_path::check(flag, p, crate::output_path::Write::Replace)?;
        }
    }
    let latest = out.join("latest");
    // A resumed run that had finished (its baseline run too) has no iteration to
    // run: its data files are not read, so one deleted or changed since does not
    // stop the "nothing to resume" that follows. (Its policy plugin is checked as
    // ever.)
    let finished = args.resume && run_finished(&out, &record);
    let mut observations = if finished { Observations::Finished } else { data(&record, args.resume, &mut stamps)? };
    let policy = load_policy(record.settings.policy.as_ref(), record.paths.policy.as_deref())?;
    let resumed = if args.resume { Some(load_progress(&latest)?) } else { None };
    if finished
        && resumed.as_ref().and_then(|p| p.state.as_ref()).is_none_or(|s| s.iteration < record.settings.iterations)
    {
        // Gone back to a checkpoint (a power cut): iterations to run after all,
        // and the reports to write after them.
        record.exports.check_recorded(args, &latest.join("RUN.json"))?;
        unwritten.clear();
        observations = data(&record, true, &mut stamps)?;
    }
    if args.resume && !matches!(observations, Observations::Finished) {
        // The data is verified: what the flags' checks left to it, decided.
        if undecided {
            crate::resume_flags::check_with_data(args, &record)?;
        }
        if let Some(section) = &ticks_section {
            found = crate::resume_flags::config_ticks_differ(args, section, &record, Resolve::WithData)?;
        }
    }
    let live = matches!(observations, Observations::External(_) | Observations::Fills(_));
    stamps.check_unchanged()?;
    for line in found {
        eprintln!("{line}");
    }
    for (_, e) in unwritten {
        eprintln!("mmsoak: {e:#}; the run had finished, and that report is not written again");
    }
    let sleep = sleep_from_env(live, record.settings.iteration_seconds)?;
    let metrics_listener = match &args.metrics_addr {
        None => None,
        Some(addr) => Some(
            std::net::TcpListener::bind(addr).with_context(|| format!("--metrics-addr {addr}: cannot listen there"))?,
        ),
    };
    let lock = outlock::acquire(&out)?;
    // The lock file may exist from an earlier run in a directory no longer writable.
    tempfile::tempfile_in(&out).with_context(|| format!("--out directory {} is not writable", out.display()))?;
    Ok(RunPlan {
        lock,
        metrics: metrics_listener.as_ref().map(|_| Arc::new(Metrics::new())),
        metrics_listener,
        resumed,
        regime,
        observations,
        out,
        export_md: exports.export_md,
        export_html: exports.export_html,
        engine: match args.engine {
            EngineChoice::Wasm => EngineKind::Wasm,
            EngineChoice::Native => EngineKind::Native,
        },
        json: args.json,
        sleep,
        gate,
        summary_export: exports.summary_export,
        retention,
        record,
        policy,
    })
}

/// The run's observations, checked; on `--resume` its data files first, against
/// the sizes and hashes recorded at the start, stamped (into `stamps`) before
/// that read.
pub(super) fn data(record: &RunRecord, resume: bool, stamps: &mut Stamps) -> Result<Observations> {
    if resume {
        let files: Vec<PathBuf> = record.inputs.iter().map(|f| PathBuf::from(&f.path)).collect();
        stamps.add(&Stamps::take(&files));
        InputFile::check_all(&record.inputs)?;
    }
    observations(&record.settings, &record.paths, record.settings.iterations)
}

/// The flags whose checks need no data, checked before any data is read (a
/// tick scan of a large data set takes minutes): the report files' places,
/// `--threshold`, `--metrics-addr` (resolved, not bound: the port is taken
/// once the run starts) and a fresh run's `--regime` name. They are checked
/// again where they are used; this only brings the error forward.
pub(super) fn check_before_the_data(args: &RunArgs) -> Result<()> {
    let given = crate::exports::Chosen::given(args);
    let exports = given.flagged();
    for (k, (flag, path)) in exports.iter().enumerate() {
        let Some(p) = path else { continue };
        crate::output_path::check(flag, p, crate::output_path::Write::Replace)?;
        // Two reports into one file: the last written would silently replace the other.
        let same = |q: &PathBuf| std::path::absolute(q).ok() == std::path::absolute(p).ok();
        if let Some((other, _)) = exports[k + 1..].iter().find(|(_, q)| q.is_some_and(same)) {
            bail!("{flag} and {other} name the same file {}: give each report its own", p.display());
        }
        if args.place.out.as_ref().is_some_and(same) {
            bail!("{flag} {}: that is the --out directory; give a file for the report", p.display());
        }
    }
    for t in &args.threshold {
        crate::thresholds::parse_flag(t)?;
    }
    if let Some(addr) = &args.metrics_addr {
        use std::net::ToSocketAddrs;
        addr.to_socket_addrs().with_context(|| format!("--metrics-addr {addr}: cannot listen there"))?;
    }
    if let Some(name) = args.regime.as_deref().filter(|_| !args.resume) {
        if regime_file(name)?.is_none() && Regime::parse(name).is_none() {
            bail!("{}", unknown_regime(name));
        }
    }
    Ok(())
}

/// The error for a `--regime` that is neither a built-in name nor a regime file.
pub(super) fn unknown_regime(name: &str) -> String {
    let names: Vec<&str> = Regime::ALL.iter().map(|r| r.name()).collect();
    format!(
        "unknown --regime {name:?}: choose one of {}, or give a regime file (.json) from `mmsoak market fit`",
        names.join(", ")
    )
}

/// The run's thresholds: those recorded (mmsoak.toml on a fresh run; RUN.json on
/// `--resume`), then `--threshold` flags and `--fail-on kpi`, each once.
pub(super) fn gate_specs(
    args: &RunArgs,
    mut specs: Vec<crate::thresholds::ThresholdSpec>,
) -> Result<Vec<crate::thresholds::ThresholdSpec>> {
    let mut extra = args.threshold.iter().map(|t| crate::thresholds::parse_flag(t)).collect::<Result<Vec<_>>>()?;
    if args.fail_on.is_some() {
        extra.extend(crate::thresholds::hard_gate(args.fail_window, args.fail_max));
    }
    for spec in extra {
        if !specs.iter().any(|s| s.metric == spec.metric && s.threshold == spec.threshold) {
            specs.push(spec);
        }
    }
    Ok(specs)
}

/// `--regime`: a named regime (`None`), or a regime file's numbers. A value that
/// names no built-in regime and looks like a path must be a readable, valid file.
pub(super) fn regime_file(value: &str) -> Result<Option<mmsoak_core::market::RegimeSpec>> {
    if Regime::parse(value).is_some() {
        return Ok(None);
    }
    let path = Path::new(value);
    let looks_like_path = value.ends_with(".json") || value.contains('/') || value.contains('\\') || path.exists();
    if !looks_like_path {
        return Ok(None); // an unknown name: plan() reports it with the list of names
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("--regime {value}: cannot read the regime file"))?;
    let file = mmsoak_core::market::RegimeFile::parse(&text).map_err(|e| anyhow::anyhow!("--regime {value}: {e}"))?;
    Ok(Some(file.spec))
}

/// The guard switches `--guards-off` names; an unknown name is an error listing the known ones.
pub(crate) fn guard_switches(off: &[String]) -> Result<GuardSwitches> {
    let mut switches = GuardSwitches::default();
    for name in off {
        if !switches.switch_off(name) {
            bail!("--guards-off: no guard called {name:?} (choose from {})", GuardSwitches::NAMES.join(", "));
        }
    }
    Ok(switches)
}

/// Loads the run's policy plugin. On `--resume` the file must still hold the bytes
/// the run started with, or the resumed iterations would not be the same run.
/// The recorded plugin, from `absolute` (its recorded absolute path) when known.
pub(super) fn load_policy(record: Option<&PolicyRecord>, absolute: Option<&str>) -> Result<Option<PolicyPlugin>> {
    let Some(record) = record else { return Ok(None) };
    let plugin = PolicyPlugin::load(Path::new(absolute.unwrap_or(&record.file)), PolicyLimits::default())?;
    if !record.sha256.is_empty() && plugin.sha256() != record.sha256 {
        bail!(
            "policy plugin {}: its bytes changed since the run started (sha256 {} now, {} recorded)",
            record.file,
            plugin.sha256(),
            record.sha256
        );
    }
    Ok(Some(plugin))
}
