//! Command-line flags: the ones soak users already type.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

mod values;
mod words;

pub use values::{whole, whole_u32, whole_u64, ITERATION_SECONDS, MARKOUT_MS, RUN_ITERATIONS};
pub use words::{join_negative_values, looks_negative_number, one_line};

#[derive(Debug, Parser)]
#[command(name = "mmsoak", version, about = "Soak-test and auto-tune market-making bots, deterministically.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The command line, parsed: `Cli::parse()` after [`join_negative_values`], and
    /// a bad flag value is one line, exit 2 ([`one_line`]); other clap errors, `--help`
    /// and `--version` as clap prints them.
    pub fn from_command_line() -> Cli {
        match Cli::try_from_words(std::env::args_os()) {
            Ok(cli) => cli,
            Err(e) => match one_line(&e) {
                Some(line) => {
                    eprintln!("{line}");
                    std::process::exit(2)
                }
                None => e.exit(),
            },
        }
    }

    /// [`Cli::from_command_line`] on given words (the first is the program), without exiting.
    pub fn try_from_words<I, T>(words: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        let words = join_negative_values(&Cli::command(), words.into_iter().map(Into::into).collect());
        Cli::try_parse_from(words)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a soak: simulate (or replay) iterations, tune between them, write artifacts.
    Run(Box<RunArgs>),
    /// Look at the market model.
    #[command(subcommand)]
    Market(MarketCommand),
    /// Inspect and check the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Manage artifact directories.
    #[command(subcommand)]
    Artifacts(ArtifactsCommand),
    /// A reference bot: trades the simulator in real time (or faster), applies
    /// runtime_overrides.json live, writes EDGE_REPORT.json each iteration.
    Bot(crate::bot::BotArgs),
    /// Serve an artifact directory read-only: JSON API, a live Server-Sent-Events
    /// feed of iterations, and the web app's files with `--web`.
    Serve(crate::serve::ServeArgs),
    /// Many soaks from one sweep file: plan, run shards (workers, Slurm, Kubernetes,
    /// CI matrix), merge into one table and summary.
    #[command(subcommand)]
    Sweep(crate::sweep::SweepCommand),
    /// JSON Schemas of the files a bot exchanges with mmsoak (runtime_overrides.json,
    /// EDGE_REPORT.json v1 and v2, fills-log lines, KPI lines), generated from the core's types.
    Schema(crate::schema::SchemaArgs),
    /// Internal: started by a run that supervises a bot (Linux); when the run's end
    /// of the pipe on stdin closes, stops what the bot left running on `--out`.
    #[command(hide = true)]
    WatchBot {
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ArtifactsCommand {
    /// Apply the retention policy now: fold old ITER_SUMMARY files into
    /// history.jsonl.gz, compress old run snapshots, warn on size.
    Rotate {
        #[command(flatten)]
        place: ConfigPlace,
    },
}

/// Where the configuration lives.
#[derive(Debug, Args, Clone)]
pub struct ConfigPlace {
    /// Base configuration file [default: ./mmsoak.toml if it exists].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Artifact directory; a run's files go to `<out>/latest/`, and
    /// `<out>/runtime_overrides.json` holds the live parameters [default: artifacts/soak].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every effective value and where it came from.
    Explain {
        #[command(flatten)]
        place: ConfigPlace,
        #[arg(long)]
        profile: Option<String>,
    },
    /// Check mmsoak.toml, runtime_overrides.json, MM_RUNTIME_OVERRIDES_JSON and TUNING_STATE.json.
    Validate {
        #[command(flatten)]
        place: ConfigPlace,
    },
}

#[derive(Debug, Subcommand)]
pub enum MarketCommand {
    /// Stylized facts (tails, volatility clustering) of simulated regimes beside real data.
    Stats(StatsArgs),
    /// Fit the simulator's market to real bars or tick data: writes a regime file
    /// (`--regime FILE` takes it) and a fit report; `--holdout F` also checks the
    /// tuner out of sample.
    Fit(FitArgs),
}

#[derive(Debug, Args)]
pub struct FitArgs {
    /// Bar files (any layout `--source replay` reads) or tick files (LOBSTER,
    /// Tardis.dev CSV, Binance captures; several merge into one data set).
    #[arg(long, value_name = "FILE", num_args = 1.., required = true)]
    pub data: Vec<PathBuf>,
    /// Where to write the regime file.
    #[arg(long, value_name = "FILE", default_value = "my_market.json")]
    pub out: PathBuf,
    /// Also write the fit report (Markdown) here; it is printed either way.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Write the fit report as JSON here.
    #[arg(long, value_name = "FILE")]
    pub report_json: Option<PathBuf>,
    /// Fit on the first (1 − F) of the market time, tune on the fitted simulator,
    /// then replay the held-out rest (bars, or ticks through the tick engine) with
    /// the tuned parameters and with `--profile`, and judge the uplift
    /// (Mann-Whitney U).
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub holdout: Option<f64>,
    /// `--holdout`: seconds of market time per iteration (tuning and held-out
    /// replay); short tick samples need short iterations.
    #[arg(long, default_value_t = mmsoak_core::market::ITERATION_SECONDS, allow_negative_numbers = true,
          value_parser = whole::<u32, 10, 86_400>)]
    pub iteration_seconds: u32,
    /// `--holdout`: the starting profile (built-in name or .json).
    #[arg(long, default_value = "steady_safe")]
    pub profile: String,
    /// `--holdout`: iterations of the tuning soak on the fitted simulator.
    #[arg(long, default_value_t = 24, allow_negative_numbers = true, value_parser = whole::<u32, 1, 10_000>)]
    pub iterations: u32,
    /// Seed of the simulations the fit runs.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true, value_parser = whole_u64)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Regimes to simulate (repeat or comma-separate).
    #[arg(long, value_delimiter = ',', default_value = "volatile,mixed")]
    pub regime: Vec<String>,
    /// Real OHLCV 1-minute bars to compare with.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Simulated days per regime.
    #[arg(long, default_value_t = 5, allow_negative_numbers = true, value_parser = whole::<u32, 1, 365>)]
    pub days: u32,
    #[arg(long, default_value_t = 1, allow_negative_numbers = true, value_parser = whole_u64)]
    pub seed: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Source {
    /// The built-in market simulator.
    Sim,
    /// Real 1-minute OHLCV bars (`--data FILE`) drive the mid.
    Replay,
    /// Recorded KPIs (`--data FILE.jsonl`, one observation per line) drive the tuner directly.
    Kpis,
    /// Real tick data (`--data FILE...`: LOBSTER, Tardis.dev CSV, Binance captures):
    /// the real book and the real trades; our quotes fill only from real prints.
    Ticks,
    /// A live bot: each iteration writes runtime_overrides.json, waits
    /// SOAK_SLEEP_SECONDS, then reads the bot's EDGE_REPORT.json (`--report`).
    External,
    /// A live bot's fills log (`--fills FILE`, JSON lines: fills, blocked quotes,
    /// mid samples): mmsoak computes each iteration's KPIs from it.
    Fills,
}

impl Source {
    /// The flag's value, as RUN.json and TUNING_REPORT record it.
    pub fn name(self) -> &'static str {
        match self {
            Source::Sim => "sim",
            Source::Replay => "replay",
            Source::Kpis => "kpis",
            Source::Ticks => "ticks",
            Source::External => "external",
            Source::Fills => "fills",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Exit 99 when the KPI hard gate trips.
    Kpi,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineChoice {
    /// The core's .wasm under wasmtime (what ships everywhere).
    Wasm,
    /// The core linked natively (for verification).
    Native,
}

/// `--source ticks`: data format and exchange models (flags over mmsoak.toml `[ticks]`).
#[derive(Debug, Args, Clone, Default)]
pub struct TickFlags {
    /// Force the data format instead of detecting it from content: lobster, tardis, binance.
    #[arg(long, value_name = "FORMAT")]
    pub data_format: Option<String>,
    /// Queue position model: auto (fifo on data with order ids, else prob:3), fifo,
    /// risk-averse, prob, prob:N (power-law, hftbacktest's family) [default: auto].
    #[arg(long, value_name = "MODEL")]
    pub queue_model: Option<String>,
    /// Latency: constant:ENTRY_MS:RESPONSE_MS, constant:MS, data or data:ENTRY_MS
    /// (feed delay measured from exchange vs local stamps) [default: constant:25:25].
    #[arg(long, value_name = "MODEL", allow_negative_numbers = true)]
    pub latency: Option<String>,
    // The numbers are kept as typed: `tick_settings` parses them with the other
    // settings, so a bad one is listed with the rest rather than alone by clap.
    /// Maker fee in bps of notional; negative is a rebate [default: -0.2].
    #[arg(long, value_name = "BPS", allow_negative_numbers = true)]
    pub maker_fee_bps: Option<String>,
    /// Taker fee in bps of notional [default: 2].
    #[arg(long, value_name = "BPS", allow_negative_numbers = true)]
    pub taker_fee_bps: Option<String>,
    /// Tick size as a decimal price [default: measured from the data's book prices].
    #[arg(long, value_name = "PRICE", allow_negative_numbers = true)]
    pub tick_size: Option<String>,
    /// How far timestamps may step back within one file before it is an error [default: 1000].
    #[arg(long, value_name = "MS", allow_negative_numbers = true)]
    pub backstep_tolerance_ms: Option<String>,
}

/// Flags left out fall back, in order, to `mmsoak.toml` and the built-in defaults.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Number of iterations (each is 15 minutes of market time; 96 = a 24 h canary) [default: 24].
    #[arg(long, allow_negative_numbers = true, value_parser = whole::<u32, { RUN_ITERATIONS.0 }, { RUN_ITERATIONS.1 }>)]
    pub iterations: Option<u32>,
    /// Let the tuner adjust parameters between iterations.
    #[arg(long)]
    pub auto_tune: bool,
    /// Use the market simulator (same as `--source sim`, the default).
    #[arg(long, conflicts_with = "source")]
    pub mock: bool,
    /// Where observations come from [default: sim].
    #[arg(long, value_enum)]
    pub source: Option<Source>,
    /// OHLCV bars for `--source replay` (CSV in the usual layouts: a header with
    /// timestamp/open/high/low/close/volume or aliases, Binance klines, Kaggle,
    /// CryptoDataDownload; .gz and .zip read), KPI JSON lines for `--source kpis`,
    /// or tick data files for `--source ticks` (several allowed; gzip is read transparently).
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub data: Vec<PathBuf>,
    /// `--source replay`: wrap to the data's start when the run needs more market
    /// time than the bars hold (without it, that is an error).
    #[arg(long)]
    pub loop_data: bool,
    /// Market seconds per iteration, for every source [default: 900, 15 minutes].
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true,
          value_parser = whole::<u32, { ITERATION_SECONDS.0 }, { ITERATION_SECONDS.1 }>)]
    pub iteration_seconds: Option<u32>,
    #[command(flatten)]
    pub ticks: TickFlags,
    /// Starting parameters: a built-in profile (steady_safe, ultra_safe, aggressive) or a
    /// .json path. Overrides every other parameter source.
    #[arg(long)]
    pub profile: Option<String>,
    /// [default: 1]
    #[arg(long, allow_negative_numbers = true, value_parser = whole_u64)]
    pub seed: Option<u64>,
    /// Market regime: calm, volatile, flash_crash, liquidity_gap, trending, mixed, or a
    /// regime file written by `mmsoak market fit` (a .json path) [default: calm].
    #[arg(long)]
    pub regime: Option<String>,
    #[command(flatten)]
    pub place: ConfigPlace,
    /// Continue the interrupted run in `--out` from its last completed iteration,
    /// with the settings it was started with; the report files it was started with
    /// (--export-md, --export-html, --summary-export) are written again.
    #[arg(long)]
    pub resume: bool,
    /// Also write a Markdown report here.
    #[arg(long, value_name = "FILE")]
    pub export_md: Option<PathBuf>,
    /// Also write one self-contained HTML report here (charts inline, nothing fetched).
    #[arg(long, value_name = "FILE")]
    pub export_html: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = EngineChoice::Wasm)]
    pub engine: EngineChoice,
    /// Print one JSON object per iteration on stdout (a --compare-baseline run's
    /// have "run": "baseline").
    #[arg(long)]
    pub json: bool,
    /// Hard gate: exit 99 when the final verdict is FAIL or FAIL appears in more
    /// than `--fail-max` of the last `--fail-window` iterations.
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    #[arg(long, default_value_t = 6, allow_negative_numbers = true, value_parser = whole::<u32, 1, { u32::MAX as u64 }>)]
    pub fail_window: u32,
    #[arg(long, default_value_t = 3, allow_negative_numbers = true, value_parser = whole_u32)]
    pub fail_max: u32,
    /// A threshold, k6-style: 'METRIC: AGGREGATE OP VALUE[, abort_on_fail][, delay=N]',
    /// e.g. 'net_bps: p(50) > 2.5' or 'kpi_verdict: fail_rate < 0.1, abort_on_fail, delay=6'
    /// (repeatable; added to mmsoak.toml [thresholds]). Exit 99 when one fails.
    #[arg(long, value_name = "'METRIC: EXPR'")]
    pub threshold: Vec<String>,
    /// Also write the end-of-run summary as JSON here (atomically).
    #[arg(long, value_name = "FILE.json")]
    pub summary_export: Option<PathBuf>,
    /// Also run the same seed and market with the tuner off, and report the uplift
    /// (Mann-Whitney U) in TUNING_REPORT and the Markdown report.
    #[arg(long)]
    pub compare_baseline: bool,
    /// A tuning policy plugin (.wasm, policy ABI v1) proposing the deltas in place of
    /// the built-in tuner; the guards still apply. Needs `--auto-tune`.
    #[arg(long, value_name = "FILE.wasm", requires = "auto_tune")]
    pub policy: Option<PathBuf>,
    /// `--source external`: the bot's report [default: <out>/EDGE_REPORT.json].
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// `--source external` or `fills`: launch and supervise the bot with this shell
    /// command (it gets MMSOAK_OVERRIDES, and MMSOAK_EDGE_REPORT or MMSOAK_FILLS;
    /// output goes to latest/bot.log).
    #[arg(long, value_name = "CMD")]
    pub exec: Option<String>,
    /// `--source fills`: the JSON-lines log the bot appends its fills, blocked
    /// quotes and mid samples to (read from its end at the run's start).
    #[arg(long, value_name = "FILE")]
    pub fills: Option<PathBuf>,
    /// `--source fills`: the markout horizon, ms: adverse selection is the mid move
    /// from a maker fill to this long after it [default: 5000, the simulator's].
    #[arg(long, value_name = "MS", allow_negative_numbers = true, value_parser = whole::<u64, { MARKOUT_MS.0 }, { MARKOUT_MS.1 }>)]
    pub markout_ms: Option<u64>,
    /// `--source external`: how long to keep retrying for a fresh, valid report
    /// before the iteration is INCONCLUSIVE.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0, allow_negative_numbers = true)]
    pub report_timeout: f64,
    /// Serve Prometheus metrics of the running soak at http://ADDR/metrics
    /// (e.g. 127.0.0.1:9464; port 0 picks a free one, printed at start).
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<String>,
    /// What-if: switch guards off (comma-separated: panic_revert, freeze, cooldown,
    /// oscillation, velocity). Bounds, step caps and the final-iteration hold stay on.
    #[arg(long, value_name = "GUARDS", value_delimiter = ',')]
    pub guards_off: Vec<String>,
}

#[cfg(test)]
mod tests;
