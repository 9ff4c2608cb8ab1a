//! `mmsoak run`: the imperative shell around the core's soak step. It reads the
//! inputs, asks the engine to simulate and decide, and writes every artifact.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use mmsoak_core::abi::{InitRequest, SimulateRequest, SkipRequest, StepRequest};
use mmsoak_core::edge::EdgeReport;
use mmsoak_core::feed::bars::BarSeries;
use mmsoak_core::kpi::KpiThresholds;
use mmsoak_core::market::{MarketConfig, Regime};
use mmsoak_core::params::Params;
use mmsoak_core::policy::{self, PolicyOutcome, POLICY_ABI_VERSION};
use mmsoak_core::report::{BarSettings, PolicyRecord, RunSettings, RunStop, StopCause};
use mmsoak_core::soak::{GuardSwitches, SoakConfig, SoakState};
use mmsoak_host::{open_engine, Engine, EngineKind, ModuleCache, PolicyLimits, PolicyPlugin};
use serde::{Deserialize, Serialize};

use crate::args::{EngineChoice, RunArgs, Source};
use crate::config::{self, Flags, Retention};
use crate::data::stamps::{Changed, Stamps};
use crate::data::BadData;
use crate::data_stop::DataStop;
use crate::external::Observation;
use crate::fsutil::write_json;
use crate::interrupt::{self, Interrupted};
use crate::metrics::{self, Metrics};
use crate::progress::Reporter;
use crate::resume_flags::Resolve;
use crate::{checkpoint, kpis, outlock, profiles, replay, report_out, resources, rotate};

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

/// How far an interrupted run got. No state yet means it stopped before its first
/// iteration completed: it restarts in place. (Its summaries stay on disk: the
/// report is streamed from them.)
pub struct Progress {
    pub state: Option<SoakState>,
}

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
}

/// One input data file as the run started (see [`RunRecord::inputs`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputFile {
    /// Its absolute path, as in [`InputPaths::data`].
    pub path: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// sha256 of its bytes, hex.
    pub sha256: String,
}

impl InputFile {
    /// Reads the file once, streaming (a tick file can be hundreds of MB).
    fn read(path: &str) -> std::io::Result<Self> {
        use sha2::{Digest, Sha256};
        let file = std::fs::File::open(path)?;
        let mut hasher = Sha256::new();
        let bytes = std::io::copy(&mut std::io::BufReader::with_capacity(1 << 20, file), &mut hasher)?;
        Ok(InputFile { path: path.to_string(), bytes, sha256: hex::encode(hasher.finalize()) })
    }

    /// Every data file in `paths`, each once. `known`: files the start-of-run
    /// scan already hashed whole (by their paths as given), not read again.
    fn of(paths: &InputPaths, known: &[(PathBuf, crate::data::hashes::FileDigest)]) -> Result<Vec<Self>> {
        let known: Vec<(String, &crate::data::hashes::FileDigest)> =
            known.iter().map(|(p, d)| (absolute(&p.display().to_string()), d)).collect();
        let mut files: Vec<InputFile> = Vec::new();
        for path in &paths.data {
            if files.iter().any(|f| f.path == *path) {
                continue;
            }
            let file = match known.iter().find(|(p, _)| p == path) {
                Some((_, d)) => InputFile { path: path.clone(), bytes: d.bytes, sha256: d.sha256.clone() },
                None => Self::read(path).with_context(|| format!("cannot read {path}"))?,
            };
            files.push(file);
        }
        Ok(files)
    }

    /// Every recorded file that no longer holds the bytes the run started with
    /// (or cannot be read), in the record's order; empty when all are as they were.
    pub(crate) fn changed(recorded: &[Self]) -> Vec<&str> {
        recorded
            .iter()
            .filter(|was| Self::read(&was.path).ok().as_ref() != Some(*was))
            .map(|f| f.path.as_str())
            .collect()
    }

    /// `--resume`: every recorded file must still hold the bytes the run started
    /// with, or the resumed iterations would replay other data.
    /// Every changed file is named at once, so a user who restores them does not
    /// meet them one `--resume` at a time.
    fn check_all(recorded: &[Self]) -> Result<()> {
        let mut changed = Vec::new();
        for was in recorded {
            let now = Self::read(&was.path).with_context(|| {
                format!(
                    "--resume: cannot read {}, a data file the run started with (restore it, or start a new run)",
                    was.path
                )
            })?;
            if now != *was {
                changed.push(format!(
                    "{} changed since the run started (recorded {} bytes sha256 {}, now {} bytes sha256 {})",
                    was.path, was.bytes, was.sha256, now.bytes, now.sha256
                ));
            }
        }
        if !changed.is_empty() {
            let restore = if changed.len() == 1 { "the file" } else { "the files" };
            bail!("--resume: {}; start a new run (without --resume) or restore {restore}", changed.join("; "));
        }
        Ok(())
    }
}

/// `p` resolved against the current directory: canonical (no `..`, no symlink
/// whose target may move), or absolute for a file that cannot be resolved (a
/// live bot's file is absolute already).
fn absolute(p: &str) -> String {
    std::fs::canonicalize(p)
        .or_else(|_| std::path::absolute(p))
        .map_or_else(|_| p.to_string(), |a| a.display().to_string())
}

/// A run's input files, absolute (see [`RunRecord::paths`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InputPaths {
    /// `--data`: the bar or KPI file, or the tick files in the order of
    /// `settings.ticks.streams` flattened.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<String>,
    /// `--policy`: the plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
}

impl InputPaths {
    fn is_empty(&self) -> bool {
        self.data.is_empty() && self.policy.is_none()
    }

    /// From the paths as recorded in `settings`, each [`absolute`].
    fn of(settings: &RunSettings) -> Self {
        let abs = absolute;
        let data = match (&settings.ticks, settings.source.as_str(), &settings.data_file) {
            (Some(t), _, _) => t.streams.iter().flatten().map(|p| abs(p)).collect(),
            (None, "replay" | "kpis", Some(f)) => vec![abs(f)],
            _ => Vec::new(),
        };
        InputPaths { data, policy: settings.policy.as_ref().map(|p| abs(&p.file)) }
    }

    /// The file `--source` reads (`settings.data_file`), by its recorded absolute
    /// path for a bar or KPI file where the record has one (a live bot's is absolute).
    pub(crate) fn data_file<'a>(&'a self, settings: &'a RunSettings) -> Option<&'a String> {
        match settings.source.as_str() {
            "replay" | "kpis" => self.data.first().or(settings.data_file.as_ref()),
            _ => settings.data_file.as_ref(),
        }
    }

    /// The tick files to read: the absolute ones when recorded, else as typed.
    pub(crate) fn tick_files(&self, t: &mmsoak_core::report::TickSettings) -> Vec<PathBuf> {
        if self.data.is_empty() {
            t.streams.iter().flatten().map(PathBuf::from).collect()
        } else {
            self.data.iter().map(PathBuf::from).collect()
        }
    }
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

/// `--regime`: a named regime (`None`), or a regime file's numbers. A value that
/// names no built-in regime and looks like a path must be a readable, valid file.
fn regime_file(value: &str) -> Result<Option<mmsoak_core::market::RegimeSpec>> {
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

/// Where each iteration's observation comes from.
pub enum Observations {
    Simulated,
    /// A tick replay (`--source ticks`), advanced one iteration per call.
    Ticks(Box<std::cell::RefCell<crate::ticks::TickRun>>),
    Replay(Box<BarSeries>, BarSettings),
    Recorded(Vec<EdgeReport>),
    /// A live bot's EDGE_REPORT.json.
    External(PathBuf),
    /// A live bot's fills log (`--source fills`).
    Fills(PathBuf),
    /// A resumed run with every iteration done: nothing is observed, nothing read.
    Finished,
}

/// What a finished run reports back to `main`.
pub struct Outcome {
    /// Why the hard gate tripped, if it did.
    pub gate_tripped: Option<String>,
}

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
        let finished = !record.compare_baseline && state_finished(&out.join("latest"), record.settings.iterations);
        undecided = crate::resume_flags::check(args, &record, &eff.ticks, finished)?;
        check_exec(&record)?;
        // Before any data is read, as a fresh run's export flags are checked.
        record.exports.check_recorded(args, &path)?;
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
    let exports = crate::exports::Chosen::of_run(args, &record.exports);
    for (flag, path) in [("--summary-export", &exports.summary_export), ("--export-md", &exports.export_md)] {
        if let Some(p) = path {
            crate::output_path::check(flag, p, crate::output_path::Write::Replace)?;
        }
    }
    let latest = out.join("latest");
    // A resumed run that had finished has no iteration to run (a baseline has, it
    // runs again): its data files are not read, so one deleted or changed since
    // does not stop the "nothing to resume" that follows. (Its policy plugin is
    // checked as ever.)
    let finished = args.resume && !record.compare_baseline && state_finished(&latest, record.settings.iterations);
    let mut observations = if finished { Observations::Finished } else { data(&record, args.resume, &mut stamps)? };
    let policy = load_policy(record.settings.policy.as_ref(), record.paths.policy.as_deref())?;
    let resumed = if args.resume { Some(load_progress(&latest)?) } else { None };
    if finished
        && resumed.as_ref().and_then(|p| p.state.as_ref()).is_none_or(|s| s.iteration < record.settings.iterations)
    {
        // Gone back to a checkpoint (a power cut): iterations to run after all.
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
    let sleep = sleep_from_env(live, record.settings.iteration_seconds)?;
    let metrics_listener = match &args.metrics_addr {
        None => None,
        Some(addr) => Some(
            std::net::TcpListener::bind(addr).with_context(|| format!("--metrics-addr {addr}: cannot listen there"))?,
        ),
    };
    let export_html = exports.export_html.as_deref().map(crate::html_export::check).transpose()?;
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
        export_html,
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
fn data(record: &RunRecord, resume: bool, stamps: &mut Stamps) -> Result<Observations> {
    if resume {
        let files: Vec<PathBuf> = record.inputs.iter().map(|f| PathBuf::from(&f.path)).collect();
        stamps.add(&Stamps::take(&files));
        InputFile::check_all(&record.inputs)?;
    }
    observations(&record.settings, &record.paths, record.settings.iterations)
}

/// Whether the state in `latest` says every one of the run's iterations is done,
/// with all their summaries there (else [`load_progress`] goes back to a
/// checkpoint, and there are iterations to run). Only reads; a missing or
/// unreadable state is left to [`load_progress`].
fn state_finished(latest: &Path, iterations: u32) -> bool {
    std::fs::read(latest.join("TUNING_STATE.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<SoakState>(&bytes).ok())
        .is_some_and(|state| {
            state.iteration >= iterations && rotate::for_each_summary(latest, state.iteration, |_| Ok(())).is_ok()
        })
}

/// The flags whose checks need no data, checked before any data is read (a
/// tick scan of a large data set takes minutes): the report files' places,
/// `--threshold`, `--metrics-addr` (resolved, not bound: the port is taken
/// once the run starts) and a fresh run's `--regime` name. They are checked
/// again where they are used; this only brings the error forward.
fn check_before_the_data(args: &RunArgs) -> Result<()> {
    let exports = [
        ("--summary-export", &args.summary_export),
        ("--export-md", &args.export_md),
        ("--export-html", &args.export_html),
    ];
    for (k, (flag, path)) in exports.iter().enumerate() {
        let Some(p) = path else { continue };
        crate::output_path::check(flag, p, crate::output_path::Write::Replace)?;
        // Two reports into one file: the last written would silently replace the other.
        let same = |q: &PathBuf| std::path::absolute(q).ok() == std::path::absolute(p).ok();
        if let Some((other, _)) = exports[k + 1..].iter().find(|(_, q)| q.as_ref().is_some_and(same)) {
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
fn unknown_regime(name: &str) -> String {
    let names: Vec<&str> = Regime::ALL.iter().map(|r| r.name()).collect();
    format!(
        "unknown --regime {name:?}: choose one of {}, or give a regime file (.json) from `mmsoak market fit`",
        names.join(", ")
    )
}

/// The run's thresholds: those recorded (mmsoak.toml on a fresh run; RUN.json on
/// `--resume`), then `--threshold` flags and `--fail-on kpi`, each once.
fn gate_specs(
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

/// Loads the run's policy plugin. On `--resume` the file must still hold the bytes
/// the run started with, or the resumed iterations would not be the same run.
/// The recorded plugin, from `absolute` (its recorded absolute path) when known.
fn load_policy(record: Option<&PolicyRecord>, absolute: Option<&str>) -> Result<Option<PolicyPlugin>> {
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

/// A fresh run's record. `stamps` gains the files found beside `--data` (a
/// LOBSTER file's partner), stamped before the scan reads them; `found`, the
/// lines saying what the data holds.
fn fresh_record(
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
        settings,
    };
    Ok((record, eff.out.value, eff.retention))
}

/// `--resume` of a run with `--exec`: the bot runs in the directory the run
/// started in, which must still be there, as must a program named by a relative
/// path (`./bot.sh`) in it; anything else would run another program, or none.
fn check_exec(record: &RunRecord) -> Result<()> {
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

fn observations(settings: &RunSettings, paths: &InputPaths, iterations: u32) -> Result<Observations> {
    let data = paths.data_file(settings).map(PathBuf::from);
    Ok(match (settings.source.as_str(), data) {
        ("replay", Some(path)) => {
            let Some(recorded) = &settings.bars else { bail!("RUN.json: a bar replay without its bar settings") };
            let series = crate::data::bars::load(&path)?;
            // A resumed run must replay the bars it started with.
            if series.info != recorded.file {
                bail!(
                    "{}: the bar file changed since the run started ({} now)",
                    path.display(),
                    series.info.describe()
                );
            }
            Observations::Replay(Box::new(series), recorded.clone())
        }
        ("kpis", Some(path)) => {
            let recorded = kpis::load(&path)?;
            if (recorded.len() as u64) < iterations as u64 {
                // (The count may come from --iterations, mmsoak.toml or, on --resume, RUN.json.)
                bail!(
                    "the run has {iterations} iterations but {} holds only {} KPI observations, one per iteration: \
                     give --iterations {} or fewer, or more observations",
                    path.display(),
                    recorded.len(),
                    recorded.len()
                );
            }
            Observations::Recorded(recorded)
        }
        ("sim", None) => Observations::Simulated,
        ("ticks", Some(_)) => {
            let Some(t) = &settings.ticks else { bail!("RUN.json: a tick replay without its [ticks] settings") };
            // The data is read and checked again (a resumed run's files must not have changed).
            let files = paths.tick_files(t);
            let specs = crate::data::streams::group(&files, None)?;
            let formats: Vec<_> = specs.iter().map(|s| s.format).collect();
            if formats != t.config.formats {
                let now: Vec<String> =
                    specs.iter().map(|s| format!("{} ({})", s.names().join(", "), s.format.name())).collect();
                let then: Vec<&str> = t.config.formats.iter().map(|f| f.name()).collect();
                bail!(
                    "the tick data files no longer group into the streams the run started with: {} now; \
                     the run started with {} stream(s) of format {}",
                    now.join("; "),
                    then.len(),
                    then.join(", ")
                );
            }
            // Watched: a file changed during the run stops it (`data::stamps`).
            let run = crate::ticks::TickRun::new(t.config.clone(), specs).watched();
            Observations::Ticks(Box::new(std::cell::RefCell::new(run)))
        }
        ("external", Some(report)) => Observations::External(report),
        ("fills", Some(fills)) => Observations::Fills(fills),
        (other, _) => bail!("source {other:?} without its --data file"),
    })
}

/// `SOAK_SLEEP_SECONDS`: pause between iterations (default 0 with the simulator; an
/// iteration's market time, `--iteration-seconds`, with a live bot).
fn sleep_from_env(external: bool, iteration_seconds: u32) -> Result<Duration> {
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
        eprintln!(
            "mmsoak: baseline run (same seed and market, tuner off) into {}",
            plan.out.join("baseline").display()
        );
        let run = soak(&mut engine, &plan, &plan.out.join("baseline"), false, None, None, None).await?;
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
    };
    let written = report_out::write(&mut engine, &finished, plan.export_md.as_deref())?;
    let report = &written.head;
    if let Some(path) = &plan.export_html {
        crate::html_export::write(path, &latest.join("TUNING_REPORT.json"), &gate.results(), stop.as_ref())?;
    }
    let counts: Vec<String> = report.verdict_counts.iter().map(|(k, v)| format!("{k}={v}")).collect();
    eprintln!(
        "mmsoak: {} iteration{} done ({}), final verdict {}; artifacts in {}",
        report.iterations_completed,
        if report.iterations_completed == 1 { "" } else { "s" },
        counts.join(" "),
        report.final_verdict.map_or("-", |v| v.name()),
        latest.display()
    );
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

/// Reads back the state and summaries of an interrupted run. A corrupt state file
/// is an error that leaves every file as it is.
fn load_progress(latest: &Path) -> Result<Progress> {
    let path = latest.join("TUNING_STATE.json");
    // Temp files of writes a crash cut short: never renamed, so never artifacts.
    for entry in std::fs::read_dir(latest).into_iter().flatten().flatten() {
        if entry.file_name().to_string_lossy().starts_with(".mmsoak-tmp-") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    if !path.exists() {
        return Ok(Progress { state: None });
    }
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let state: SoakState = match serde_json::from_slice(&bytes) {
        Ok(state) => state,
        Err(e) => {
            // Empty, cut short, or zeros where the data did not reach the disk.
            let cut_short = e.is_eof() || bytes.iter().all(|b| *b == 0);
            let e = anyhow::Error::from(e).context(format!(
                "{} is corrupt (left untouched; the previous good state is in TUNING_STATE.prev.json)",
                path.display()
            ));
            // A power cut before the group commit can leave the state empty or cut
            // short (but not garbled: that is refused, as any other bad state):
            // the last checkpoint is whole, with every summary up to it.
            let recovered = if cut_short { checkpoint::recover_without_state(latest)? } else { None };
            let Some(committed) = recovered else { return Err(e) };
            eprintln!(
                "mmsoak: {} is empty or cut short (a power cut?): going back to the last checkpoint ({}, iteration {}); \
                 the iterations after it run again",
                path.display(),
                checkpoint::CHECKPOINT,
                committed.iteration
            );
            return Ok(Progress { state: Some(committed) });
        }
    };
    // Every completed iteration's summary must be there and readable (the report is
    // built from them), checked now, before anything is written; none is kept.
    if let Err(e) = rotate::for_each_summary(latest, state.iteration, |_| Ok(())) {
        // A power cut between group commits: the state reached the disk, some of
        // the summaries before it did not. Go back to the last commit.
        let Some(committed) = checkpoint::recover(latest, &state)? else {
            return Err(e.context("cannot resume"));
        };
        eprintln!(
            "mmsoak: {e:#}: going back to the last checkpoint ({}, iteration {}); iterations {} to {} run again",
            checkpoint::CHECKPOINT,
            committed.iteration,
            committed.iteration + 1,
            state.iteration
        );
        return Ok(Progress { state: Some(committed) });
    }
    Ok(Progress { state: Some(state) })
}

/// A soak's end: its state, and the bad data that stopped it early, if any.
struct Soaked {
    state: SoakState,
    stopped: Option<DataStop>,
}

/// One soak into `out`: every iteration's artifacts written as it completes.
async fn soak(
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
            eprintln!("mmsoak: resuming {} after iteration {}", out.display(), state.iteration);
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
        eprintln!("mmsoak: {} finished all {n} iterations already; nothing to resume", out.display());
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

/// TEST-ONLY: `MMSOAK_TEST_PAUSE_AFTER_ITERATION=N:FILE` makes the run, after
/// its iteration N is written and committed (not a baseline run's), create FILE
/// and wait until it is removed (for at most 5 minutes), so an end-to-end test
/// can change a data file between two iterations without racing the run. Not for
/// users; unset (or not of that form), nothing happens. FILE when iteration `i`
/// is the one.
fn test_pause_file(i: u32) -> Option<String> {
    let spec = std::env::var("MMSOAK_TEST_PAUSE_AFTER_ITERATION").ok()?;
    let (n, file) = spec.split_once(':')?;
    (n.parse::<u32>().ok() == Some(i)).then(|| file.to_string())
}

/// TEST-ONLY: see [`test_pause_file`].
async fn test_pause(file: &str) -> Result<()> {
    std::fs::write(file, b"paused\n").with_context(|| format!("MMSOAK_TEST_PAUSE_AFTER_ITERATION: {file}"))?;
    let t0 = std::time::Instant::now();
    while Path::new(file).exists() && t0.elapsed() < Duration::from_secs(300) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

/// Iteration `i`'s observation from the simulator, a replay or a recording.
fn observe(
    engine: &mut Engine,
    plan: &RunPlan,
    market: &mut MarketConfig,
    state: &SoakState,
    i: u32,
) -> Result<EdgeReport> {
    Ok(match &plan.observations {
        Observations::Recorded(reports) => reports[(i - 1) as usize].clone(),
        Observations::Replay(series, settings) => {
            let (bars, clock) = replay::window(series, settings, i, market.iteration_seconds)?;
            market.bars = bars;
            market.clock = Some(clock);
            simulate(engine, plan, market, state, i)?
        }
        Observations::Ticks(run) => run.borrow_mut().iteration(engine, &state.overrides, i)?,
        Observations::Simulated => simulate(engine, plan, market, state, i)?,
        Observations::External(_) | Observations::Fills(_) => bail!("internal: a live source is read by LiveSource"),
        Observations::Finished => bail!("internal: iteration {i} of a run that had finished"),
    })
}

fn simulate(
    engine: &mut Engine,
    plan: &RunPlan,
    market: &MarketConfig,
    state: &SoakState,
    i: u32,
) -> Result<EdgeReport> {
    Ok(engine.simulate(&SimulateRequest {
        params: state.overrides.clone(),
        market: market.clone(),
        seed: plan.record.settings.seed,
        iteration: i,
    })?)
}
