//! The `mmsoak` binary: a thin shell over mmsoak-host and mmsoak-core.

mod args;
mod fsutil;
mod kpis;
mod market_stats;
mod profiles;
mod replay;
mod run;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command, MarketCommand};

/// Exit codes: 0 done, 1 the run failed, 2 bad input (flags, files, env),
/// 99 the KPI hard gate tripped (`--fail-on kpi`, as k6 does for thresholds).
const EXIT_RUN_FAILED: u8 = 1;
const EXIT_BAD_INPUT: u8 = 2;
const EXIT_KPI_GATE: u8 = 99;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_time().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mmsoak: error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_RUN_FAILED);
        }
    };
    match cli.command {
        Command::Market(MarketCommand::Stats(args)) => {
            let rows = match market_stats::plan(&args) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("mmsoak: error: {e:#}");
                    return ExitCode::from(EXIT_BAD_INPUT);
                }
            };
            match market_stats::execute(&args, rows) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("mmsoak: error: {e:#}");
                    ExitCode::from(EXIT_RUN_FAILED)
                }
            }
        }
        Command::Run(args) => {
            let plan = match run::plan(&args) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("mmsoak: error: {e:#}");
                    return ExitCode::from(EXIT_BAD_INPUT);
                }
            };
            match runtime.block_on(run::execute(plan)) {
                Ok(run::Outcome { gate_tripped: Some(why) }) => {
                    eprintln!("mmsoak: KPI hard gate tripped: {why}");
                    ExitCode::from(EXIT_KPI_GATE)
                }
                Ok(run::Outcome { gate_tripped: None }) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("mmsoak: error: {e:#}");
                    ExitCode::from(EXIT_RUN_FAILED)
                }
            }
        }
    }
}
