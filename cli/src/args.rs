//! Command-line flags: the ones soak users already type.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "mmsoak",
    version,
    about = "Soak-test and auto-tune market-making bots, deterministically."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a soak: simulate (or replay) iterations, tune between them, write artifacts.
    Run(RunArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Source {
    /// The built-in market simulator.
    Sim,
    /// Real 1-minute OHLCV bars (`--data FILE`) drive the mid.
    Replay,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineChoice {
    /// The core's .wasm under wasmtime (what ships everywhere).
    Wasm,
    /// The core linked natively (for verification).
    Native,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Number of iterations (each is 15 minutes of market time; 96 = a 24 h canary).
    #[arg(long, default_value_t = 24)]
    pub iterations: u32,
    /// Let the tuner adjust parameters between iterations.
    #[arg(long)]
    pub auto_tune: bool,
    /// Use the market simulator (same as `--source sim`, the default).
    #[arg(long, conflicts_with = "source")]
    pub mock: bool,
    #[arg(long, value_enum, default_value_t = Source::Sim)]
    pub source: Source,
    /// OHLCV CSV for `--source replay` (timestamp,open,high,low,close,volume).
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Starting parameters: a built-in profile (steady_safe, ultra_safe, aggressive) or a .json path.
    #[arg(long, default_value = "steady_safe")]
    pub profile: String,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Market regime: calm, volatile, flash_crash, liquidity_gap, trending, mixed.
    #[arg(long, default_value = "calm")]
    pub regime: String,
    /// Artifact directory; this run's files go to `<out>/latest/`.
    #[arg(long, default_value = "artifacts/soak")]
    pub out: PathBuf,
    /// Also write a Markdown report here.
    #[arg(long, value_name = "FILE")]
    pub export_md: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = EngineChoice::Wasm)]
    pub engine: EngineChoice,
    /// Print one JSON object per iteration on stdout.
    #[arg(long)]
    pub json: bool,
}
