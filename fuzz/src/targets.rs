//! One fuzz target per parser of outside data: the bytes as the file (or variable)
//! would hold them, through the same function mmsoak reads them with.
//!
//! A target returns `Ok` or the error text the user would see. The harness checks
//! that every error names its source (`Target::source`): an error that does not say
//! which file or variable is wrong is a defect too.

use std::path::{Path, PathBuf};

use mmsoak_core::edge::{EdgeReport, KpiObservation};
use mmsoak_core::feed::stream::{Chunk, Consumed, Merger, Pull};
use mmsoak_core::feed::{Format, TickSize};
use mmsoak_core::market::RegimeFile;
use mmsoak_core::params::Params;
use mmsoak_core::soak::{self, SoakState};

/// Where targets that resolve relative paths (sweep files name regime and profile
/// files beside them) find those files; a scratch directory of the harness.
pub struct Ctx {
    pub dir: PathBuf,
}

impl Ctx {
    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

pub struct Target {
    pub name: &'static str,
    /// What the parser is told the input is called; every error must contain it.
    pub source: &'static str,
    pub run: fn(&[u8], &Ctx) -> Result<(), String>,
}

pub const TARGETS: [Target; 17] = [
    Target { name: "bars", source: "bars.csv", run: bars },
    Target { name: "lobster", source: "lobster_message.csv", run: lobster },
    Target { name: "binance", source: "binance_capture.txt", run: binance },
    Target { name: "tardis", source: "tardis.csv", run: tardis },
    Target { name: "edge_report_v1", source: "EDGE_REPORT.json", run: edge_report },
    Target { name: "edge_report_v2", source: "EDGE_REPORT.json", run: edge_report },
    Target { name: "fills_log", source: "fills.jsonl", run: fills_log },
    Target { name: "kpis", source: "kpis.jsonl", run: kpis },
    Target { name: "runtime_overrides", source: "runtime_overrides.json", run: runtime_overrides },
    Target { name: "overrides_env", source: "MM_RUNTIME_OVERRIDES_JSON", run: overrides_env },
    Target { name: "tuning_state", source: "TUNING_STATE.json", run: tuning_state },
    Target { name: "profile", source: "my_profile.json", run: profile },
    Target { name: "config", source: "mmsoak.toml", run: config },
    Target { name: "sweep", source: "sweep.toml", run: sweep },
    Target { name: "regime", source: "my_market.json", run: regime },
    Target { name: "threshold_flag", source: "--threshold", run: threshold_flag },
    Target { name: "kpi_line", source: "kpis.jsonl", run: kpi_line },
];

pub fn find(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// `anyhow` errors with their whole context chain, as `main` prints them.
fn text(e: anyhow::Error) -> String {
    format!("{e:#}")
}

fn bars(b: &[u8], ctx: &Ctx) -> Result<(), String> {
    let series = mmsoak::data::bars::parse(b, &ctx.file("bars.csv")).map_err(text)?;
    // What `--source replay` and `market fit` do next with a file that read fine.
    let _ = series.info.describe();
    let _ = series.info.span_s();
    let _ = mmsoak_core::feed::bars::interval_of(&series.bars);
    Ok(())
}

/// Decodes one tick file whole, as the chunked reader would hand it to the core:
/// `FILE: line N: message` on bad data. LOBSTER inputs carry the orderbook file
/// after a NUL byte (the paired stream).
fn ticks(b: &[u8], ctx: &Ctx, format: Format, name: &str) -> Result<(), String> {
    let path = ctx.file(name);
    let (main, paired) = match (format, b.iter().position(|&c| c == 0)) {
        (Format::Lobster, Some(i)) => (&b[..i], Some(&b[i + 1..])),
        (Format::Lobster, None) => (b, Some(&b[..0])),
        _ => (b, None),
    };
    let utf8 = |bytes: &[u8]| {
        std::str::from_utf8(bytes).map(str::to_string).map_err(|e| {
            let line = 1 + bytes[..e.valid_up_to()].iter().filter(|&&c| c == b'\n').count();
            format!("{}: line {line}: not readable text (stream did not contain valid UTF-8)", path.display())
        })
    };
    let text = utf8(main)?;
    let paired = paired.map(utf8).transpose()?;
    let _ = Format::detect(text.lines().next().unwrap_or(""));
    // The tick size varies with the input so both the raw scan and a real tick run.
    let tick = if b.len().is_multiple_of(2) { TickSize::RAW } else { TickSize(1_000_000) };
    let mut merger = Merger::new(&[format], tick, 1_000_000_000);
    let chunks = [Chunk { text, paired, eof: true }];
    let mut at = [Consumed::default()];
    // Each line yields at most a few thousand events (a snapshot); more is a loop.
    let limit = 10_000 * (b.len() + 1);
    for _ in 0..limit {
        match merger.next(&chunks, &mut at) {
            Ok(Pull::Event(_)) => {}
            Ok(Pull::End) => return Ok(()),
            Ok(Pull::Need(k)) => panic!("the merger asks stream {k} for more text after its end"),
            Err(e) => return Err(format!("{}: line {}: {}", path.display(), e.line, e.message)),
        }
    }
    panic!("the merger handed out more than {limit} events for {} bytes", b.len())
}

fn lobster(b: &[u8], ctx: &Ctx) -> Result<(), String> {
    ticks(b, ctx, Format::Lobster, "lobster_message.csv")
}

fn binance(b: &[u8], ctx: &Ctx) -> Result<(), String> {
    ticks(b, ctx, Format::Binance, "binance_capture.txt")
}

fn tardis(b: &[u8], ctx: &Ctx) -> Result<(), String> {
    ticks(b, ctx, Format::Tardis, "tardis.csv")
}

/// EDGE_REPORT.json (v1 or v2) exactly as `External::read` (cli/src/external.rs)
/// parses and checks it, freshness aside (that needs the clock).
fn edge_report(b: &[u8], ctx: &Ctx) -> Result<(), String> {
    let path = ctx.file("EDGE_REPORT.json");
    let path = path.display();
    let report = mmsoak_core::bot_report::parse(b).map_err(|e| match e {
        mmsoak_core::bot_report::ReportError::Malformed(m) => format!("{path}: malformed: {m}"),
        mmsoak_core::bot_report::ReportError::Invalid(m) => format!("{path}: invalid: {m}"),
    })?;
    // A report that passed is what the tuner consumes next.
    step_once(&report.edge);
    Ok(())
}

/// A fills log as `--source fills` follows it (cli/src/fills_log.rs), then one
/// iteration's KPIs from its lines (core/src/fills/kpis.rs) and a tuner step.
/// Bad lines are counted, not fatal, but each must name the file and line.
fn fills_log(b: &[u8], ctx: &Ctx) -> Result<(), String> {
    let path = ctx.file("fills.jsonl");
    std::fs::write(&path, b).map_err(|e| format!("{}: {e}", path.display()))?;
    let batch = mmsoak::fills_log::FillsLog::from_start(&path).poll().map_err(text)?;
    let params = Params::default();
    let w = mmsoak_core::fills::kpis::WindowInputs {
        iteration: 1,
        horizon_ms: mmsoak_core::fills::kpis::MARKOUT_HORIZON_MS,
        duration_s: 900,
        inventory_start: 0.0,
        prior_mid: None,
        in_force: &params,
    };
    let out = mmsoak_core::fills::kpis::edge_from_lines(&batch.lines, &w);
    out.edge.check().map_err(|e| format!("{}: the KPIs computed from it are invalid: {e}", path.display()))?;
    step_once(&out.edge);
    match batch.bad.first() {
        Some(first) => Err(first.clone()),
        None => Ok(()),
    }
}

fn kpis(b: &[u8], ctx: &Ctx) -> Result<(), String> {
    let path = ctx.file("kpis.jsonl");
    let text = std::str::from_utf8(b).map_err(|e| format!("cannot read KPI file {}: {e}", path.display()))?;
    let reports = mmsoak::kpis::parse(text, &path).map_err(text_err)?;
    for r in reports.iter().take(3) {
        step_once(r);
    }
    Ok(())
}

fn text_err(e: anyhow::Error) -> String {
    text(e)
}

/// A single line of a KPI file, through the KPI parser (finds per-line faults fast).
fn kpi_line(b: &[u8], ctx: &Ctx) -> Result<(), String> {
    let first = b.split(|&c| c == b'\n').find(|l| !l.is_empty()).unwrap_or(b);
    kpis(first, ctx)
}

/// One tuner step from the default state: an observation that parsed must not
/// crash the soak that consumes it.
fn step_once(edge: &EdgeReport) {
    let config = soak::SoakConfig {
        total_iterations: 24,
        auto_tune: true,
        iterations_per_hour: 4,
        thresholds: mmsoak_core::kpi::KpiThresholds::default(),
        safe_params: Params::default(),
        guards: soak::GuardSwitches::default(),
    };
    let _ = soak::step(soak::init(config, Params::default()), edge);
}

fn runtime_overrides(b: &[u8], ctx: &Ctx) -> Result<(), String> {
    let label = ctx.file("runtime_overrides.json").display().to_string();
    let mut params = Params::default();
    mmsoak::profiles::apply_json(&mut params, b, &label, "").map_err(text)?;
    Ok(())
}

/// The variable as `config::resolve` reads it: `std::env::var` gives UTF-8 text only.
fn overrides_env(b: &[u8], _ctx: &Ctx) -> Result<(), String> {
    let value = String::from_utf8_lossy(b);
    let label = format!("env {}", mmsoak::config::ENV_OVERRIDES);
    let mut params = Params::default();
    mmsoak::profiles::apply_json(&mut params, value.as_bytes(), &label, "").map_err(text)?;
    Ok(())
}

/// TUNING_STATE.json as `--resume` reads it (cli/src/run.rs `load_progress`), then
/// what the resumed soak does first: validate the parameters and step once.
fn tuning_state(b: &[u8], ctx: &Ctx) -> Result<(), String> {
    let path = ctx.file("TUNING_STATE.json");
    let mut state: SoakState = serde_json::from_slice(b).map_err(|e| {
        format!(
            "{} is corrupt (left untouched; the previous good state is in TUNING_STATE.prev.json): {e}",
            path.display()
        )
    })?;
    let _ = soak::validate(&mut state);
    let obs: KpiObservation = serde_json::from_str(r#"{"net_bps": 1.5, "risk_ratio": 0.2, "adverse_p95": 5.0}"#)
        .expect("a valid observation");
    let _ = soak::step(state, &obs.into_report(1));
    Ok(())
}

fn profile(b: &[u8], ctx: &Ctx) -> Result<(), String> {
    let path = ctx.file("my_profile.json");
    let mut params = Params::default();
    mmsoak::profiles::apply_json(&mut params, b, &path.display().to_string(), "").map_err(text)?;
    Ok(())
}

fn config(b: &[u8], ctx: &Ctx) -> Result<(), String> {
    let place = mmsoak::args::ConfigPlace { config: None, out: Some(ctx.file("no-such-out")) };
    let eff = mmsoak::config::parse(b, &ctx.file("mmsoak.toml"), &place).map_err(text)?;
    let _ = mmsoak::config::explain(&eff);
    Ok(())
}

fn sweep(b: &[u8], ctx: &Ctx) -> Result<(), String> {
    let path = ctx.file("sweep.toml");
    let text = std::str::from_utf8(b).map_err(|e| format!("cannot read sweep file {}: {e}", path.display()))?;
    mmsoak::sweep::spec::parse(text, &path).map_err(text_err)?;
    Ok(())
}

/// `--regime FILE` as `run` reads it: `--regime FILE: message`.
fn regime(b: &[u8], ctx: &Ctx) -> Result<(), String> {
    let path = ctx.file("my_market.json");
    let value = path.display();
    let text = std::str::from_utf8(b).map_err(|e| format!("--regime {value}: cannot read the regime file: {e}"))?;
    RegimeFile::parse(text).map_err(|e| format!("--regime {value}: {e}"))?;
    Ok(())
}

/// `--threshold 'metric: expr[, abort_on_fail][, delay=N]'`, a flag's text.
fn threshold_flag(b: &[u8], _ctx: &Ctx) -> Result<(), String> {
    let flag = String::from_utf8_lossy(b);
    let spec = mmsoak::thresholds::parse_flag(&flag).map_err(text)?;
    mmsoak::thresholds::parse(&spec).map_err(text)?;
    Ok(())
}

/// Writes the files the sweep and config seeds name beside them.
pub fn prepare(ctx: &Ctx, regime: &[u8], profile: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(&ctx.dir)?;
    std::fs::write(ctx.file("my_market.json"), regime)?;
    std::fs::write(ctx.file("my_profile.json"), profile)?;
    Ok(())
}

pub fn repo_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}
