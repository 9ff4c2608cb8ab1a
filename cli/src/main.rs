//! The `mmsoak` binary: a thin shell over mmsoak-host and mmsoak-core.

// Its print macros, like the library's: a closed stdout or stderr never panics.
#[macro_use]
mod quiet_print;

use std::process::ExitCode;

use anyhow::Result;

use mmsoak::args::{ArtifactsCommand, Cli, Command, ConfigCommand, MarketCommand};
use mmsoak::{bot, config, interrupt, market_fit, market_stats, outlock, rotate, run, schema, serve, sweep};

/// Exit codes: 0 done, 1 the run failed, 2 bad input (flags, files, env; market data found bad mid-run too),
/// 99 a threshold failed (`--threshold`, `[thresholds]`, `--fail-on kpi`; as k6 does),
/// 130 interrupted by Ctrl-C, SIGTERM or SIGHUP (state saved; `--resume` continues).
const EXIT_RUN_FAILED: u8 = 1;
const EXIT_BAD_INPUT: u8 = 2;
const EXIT_KPI_GATE: u8 = 99;
const EXIT_INTERRUPTED: u8 = 130;

fn fail(code: u8, e: &anyhow::Error) -> ExitCode {
    eprintln!("mmsoak: error: {e:#}");
    ExitCode::from(code)
}

/// Input checks map to exit 2; everything after them to exit 1, except bad
/// market data met on the way (a file changed after it was checked), exit 2.
fn two_phase<P>(check: impl FnOnce() -> Result<P>, act: impl FnOnce(P) -> Result<()>) -> ExitCode {
    match check() {
        Err(e) => fail(EXIT_BAD_INPUT, &e),
        Ok(p) => match act(p) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(after_checks(&e), &e),
        },
    }
}

/// The exit code of an error after the input checks passed.
fn after_checks(e: &anyhow::Error) -> u8 {
    if e.is::<mmsoak::data::BadData>() {
        EXIT_BAD_INPUT
    } else {
        EXIT_RUN_FAILED
    }
}

/// Runs an async command on a single-threaded runtime.
fn block_on(fut: impl std::future::Future<Output = Result<()>>) -> Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::Error::from(e).context("cannot start the async runtime"))?
        .block_on(fut)
}

fn main() -> ExitCode {
    let cli = Cli::from_command_line();
    match cli.command {
        Command::Market(MarketCommand::Stats(args)) => {
            two_phase(|| market_stats::plan(&args), |rows| market_stats::execute(&args, rows))
        }
        Command::Market(MarketCommand::Fit(args)) => {
            two_phase(|| market_fit::plan(&args), |input| market_fit::execute(&args, input))
        }
        Command::Config(ConfigCommand::Explain { place, profile }) => two_phase(
            || config::resolve(&place, &config::Flags { profile, ..Default::default() }),
            |eff| {
                print!("{}", config::explain(&eff));
                Ok(())
            },
        ),
        Command::Config(ConfigCommand::Validate { place }) => two_phase(
            || {
                let eff = config::resolve(&place, &config::Flags::default())?;
                let state = eff.out.value.join("latest").join("TUNING_STATE.json");
                if state.exists() {
                    let bytes = std::fs::read(&state)?;
                    serde_json::from_slice::<mmsoak_core::soak::SoakState>(&bytes)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", state.display()))?;
                }
                Ok(eff)
            },
            |eff| {
                println!(
                    "configuration is valid ({} parameters, out {})",
                    eff.param_origins.len(),
                    eff.out.value.display()
                );
                Ok(())
            },
        ),
        Command::Artifacts(ArtifactsCommand::Rotate { place }) => two_phase(
            || config::resolve(&place, &config::Flags::default()),
            |eff| {
                let _lock = outlock::acquire(&eff.out.value)?;
                let lines = rotate::rotate(&eff.out.value, &eff.retention)?;
                if lines.is_empty() {
                    println!("nothing to rotate in {}", eff.out.value.display());
                }
                for l in lines {
                    println!("{l}");
                }
                Ok(())
            },
        ),
        Command::Bot(args) => two_phase(|| bot::plan(&args), |plan| block_on(bot::execute(&args, plan))),
        Command::Serve(args) => two_phase(|| serve::plan(&args), |plan| block_on(serve::execute(plan))),
        Command::Sweep(cmd) => two_phase(|| sweep::check(&cmd), sweep::act),
        Command::WatchBot { out } => {
            mmsoak::orphans::watch(&out);
            ExitCode::SUCCESS
        }
        Command::Schema(args) => two_phase(|| schema::plan(&args), |()| schema::execute(&args)),
        Command::Run(args) => {
            // Before the checks: a stop while they scan the data ends the run there, exit 130.
            interrupt::listen();
            let plan = match run::plan(&args).and_then(|p| {
                match interrupt::BeforeStart::check("during the start-of-run checks") {
                    Ok(()) => Ok(p),
                    Err(e) => {
                        // Nothing was written yet: a fresh --out must not be left behind.
                        p.lock.release_unused();
                        Err(e)
                    }
                }
            }) {
                Ok(p) => p,
                Err(e) if e.is::<interrupt::BeforeStart>() => {
                    eprintln!("mmsoak: {e:#}");
                    return ExitCode::from(EXIT_INTERRUPTED);
                }
                Err(e) => return fail(EXIT_BAD_INPUT, &e),
            };
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    return fail(EXIT_RUN_FAILED, &anyhow::Error::from(e).context("cannot start the async runtime"))
                }
            };
            match runtime.block_on(run::execute(plan)) {
                Ok(run::Outcome { gate_tripped: Some(why) }) => {
                    eprintln!("mmsoak: threshold failed (exit 99): {why}");
                    ExitCode::from(EXIT_KPI_GATE)
                }
                Ok(run::Outcome { gate_tripped: None }) => ExitCode::SUCCESS,
                Err(e) if e.downcast_ref::<interrupt::Interrupted>().is_some() => {
                    eprintln!("mmsoak: {e}");
                    ExitCode::from(EXIT_INTERRUPTED)
                }
                Err(e) => fail(after_checks(&e), &e),
            }
        }
    }
}
