//! `mmsoak bot`: a reference market-making bot as its own process — the integration
//! fixture for `--source external`, and an example for wiring a real bot.
//!
//! It trades the simulator in real time (or `--speed` times faster), watches the
//! overrides file and applies a change as soon as it sees one, and at the end of
//! each iteration writes EDGE_REPORT.json (schema in `mmsoak_core::bot_report`)
//! with the parameters it had in force. The simulator computes an iteration at
//! once, at its end, with the parameters in force then; a change is logged the
//! moment it is applied. With `--fills` it also appends the iteration's fills,
//! blocked quotes and mids to a fills log (`mmsoak_core::market::fills_trace`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use clap::Args;
use mmsoak_core::bot_report::{BotReport, BOT_REPORT_SCHEMA_VERSION};
use mmsoak_core::fills::FillsLine;
use mmsoak_core::market::fills_trace::fills_lines;
use mmsoak_core::market::{simulate_iteration, simulate_iteration_traced, MarketConfig, Regime, ITERATION_SECONDS};
use mmsoak_core::params::Params;

use crate::fsutil::write_json;
use crate::profiles;

#[derive(Debug, Args)]
pub struct BotArgs {
    /// The overrides file to watch (what `mmsoak run` writes).
    #[arg(long, env = "MMSOAK_OVERRIDES", default_value = "artifacts/soak/runtime_overrides.json")]
    pub overrides: PathBuf,
    /// Where to write each iteration's report [default:
    /// artifacts/soak/EDGE_REPORT.json; none with --fills, whose log is the report].
    #[arg(long, env = "MMSOAK_EDGE_REPORT", value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Market time per wall-clock time: 60 runs a 15-minute iteration in 15 s.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub speed: f64,
    #[arg(long, default_value = "calm")]
    pub regime: String,
    #[arg(long, default_value_t = 1, allow_negative_numbers = true, value_parser = crate::args::whole_u64)]
    pub seed: u64,
    /// Stop after this many iterations (0: run until stopped).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_parser = crate::args::whole_u32)]
    pub iterations: u32,
    /// Parameters to trade with until the overrides file exists.
    #[arg(long, default_value = "steady_safe")]
    pub profile: String,
    /// Also append every fill, blocked quote and mid sample to this fills log (JSON
    /// lines, docs/bot-contract.md), as a bot for `mmsoak run --source fills` does.
    /// Times are market time from the bot's start, Unix ms.
    #[arg(long, env = "MMSOAK_FILLS", value_name = "FILE")]
    pub fills: Option<PathBuf>,
}

pub struct BotPlan {
    market: MarketConfig,
    period: Duration,
    params: Params,
}

pub fn plan(args: &BotArgs) -> Result<BotPlan> {
    if !(args.speed.is_finite() && args.speed > 0.0 && args.speed <= 1e6) {
        bail!("--speed must be a number above 0 (at most 1000000), got {}", args.speed);
    }
    let regime = Regime::parse(&args.regime).with_context(|| format!("unknown --regime {:?}", args.regime))?;
    if let Some(path) = &args.fills {
        // Opened (and created) now, so an unwritable log is one error before the
        // bot starts trading, not a failure after its first iteration.
        crate::output_path::check("--fills", path, crate::output_path::Write::Append)?;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("--fills {}: cannot open the fills log for appending", path.display()))?;
    }
    Ok(BotPlan {
        market: MarketConfig::synthetic(regime),
        period: Duration::from_secs_f64(ITERATION_SECONDS as f64 / args.speed),
        params: profiles::load(&args.profile)?,
    })
}

/// The overrides file's parameters, or why they cannot be used.
fn read_overrides(path: &Path, bytes: &[u8]) -> Result<Params> {
    let params: Params =
        serde_json::from_slice(bytes).with_context(|| format!("{}: not parameters", path.display()))?;
    if let Some(bad) = params.out_of_bounds().first() {
        bail!("{}: {} = {} is outside [{}, {}]", path.display(), bad.name, bad.value, bad.min, bad.max);
    }
    Ok(params)
}

fn describe_change(old: &Params, new: &Params) -> String {
    let changes: Vec<String> = old
        .entries()
        .into_iter()
        .zip(new.entries())
        .filter(|((_, a), (_, b))| a != b)
        .map(|((name, a), (_, b))| format!("{name} {a} -> {b}"))
        .collect();
    changes.join(", ")
}

pub async fn execute(args: &BotArgs, mut plan: BotPlan) -> Result<()> {
    let log = |msg: String| eprintln!("bot: {msg}");
    let mut seen: Option<Vec<u8>> = None;
    let poll = plan.period.div_f64(20.0).clamp(Duration::from_millis(5), Duration::from_millis(100));
    let start = Instant::now();
    let started_ms = unix_ms();
    let report_path = match (&args.report, &args.fills) {
        (Some(p), _) => Some(p.clone()),
        (None, None) => Some(PathBuf::from("artifacts/soak/EDGE_REPORT.json")),
        (None, Some(_)) => None,
    };
    let outputs: Vec<String> =
        [report_path.as_ref(), args.fills.as_ref()].into_iter().flatten().map(|p| p.display().to_string()).collect();
    log(format!(
        "trading {} (seed {}), one iteration every {:.3} s; watching {}; reporting to {}",
        plan.market.regime.name(),
        args.seed,
        plan.period.as_secs_f64(),
        args.overrides.display(),
        outputs.join(" and ")
    ));
    let mut k: u32 = 0;
    loop {
        k += 1;
        let end = start + plan.period.mul_f64(k as f64);
        loop {
            // Apply a changed overrides file at once: a live bot does not wait.
            if let Ok(bytes) = std::fs::read(&args.overrides) {
                if seen.as_deref() != Some(&bytes[..]) {
                    match read_overrides(&args.overrides, &bytes) {
                        Ok(new) if new != plan.params => {
                            log(format!("iteration {k}: applied overrides: {}", describe_change(&plan.params, &new)));
                            plan.params = new;
                        }
                        Ok(_) => {}
                        Err(e) => log(format!("iteration {k}: ignored overrides: {e:#}")),
                    }
                    seen = Some(bytes);
                }
            }
            let now = Instant::now();
            if now >= end {
                break;
            }
            tokio::time::sleep(poll.min(end - now)).await;
        }
        let edge = match &args.fills {
            None => simulate_iteration(&plan.params, &plan.market, args.seed, k),
            Some(path) => {
                let (edge, trace) = simulate_iteration_traced(&plan.params, &plan.market, args.seed, k);
                let t0 = started_ms + (k as u64 - 1) * ITERATION_SECONDS as u64 * 1000;
                append_lines(path, &fills_lines(&trace, &plan.params, t0))?;
                edge
            }
        };
        let report = BotReport {
            schema_version: BOT_REPORT_SCHEMA_VERSION,
            sequence: k as u64,
            generated_at_ms: unix_ms(),
            params: plan.params.clone(),
            edge,
        };
        if let Some(p) = &report_path {
            write_json(p, &report)?;
        }
        log(format!(
            "iteration {k}: net {:.2} bps, risk {:.3}, {} fills; wrote {}",
            report.edge.net_bps,
            report.edge.risk_ratio,
            report.edge.fills(),
            outputs.join(" and ")
        ));
        if args.iterations != 0 && k >= args.iterations {
            return Ok(());
        }
    }
}

/// Appends whole lines in one write, so a reader never sees a line of this
/// iteration before the ones ahead of it.
fn append_lines(path: &Path, lines: &[FillsLine]) -> Result<()> {
    use std::io::Write;
    let mut text = Vec::new();
    for l in lines {
        serde_json::to_writer(&mut text, l)?;
        text.push(b'\n');
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open the fills log {}", path.display()))?;
    f.write_all(&text).with_context(|| format!("cannot append to the fills log {}", path.display()))?;
    Ok(())
}

pub fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}
