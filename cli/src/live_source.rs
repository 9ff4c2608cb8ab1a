//! The live sources, where a running bot supplies each iteration's observation:
//! its EDGE_REPORT.json (`--source external`, [`crate::external`]) or its fills
//! log (`--source fills`, [`crate::fills_source`]). Both trade one iteration with
//! the overrides in force (`SOAK_SLEEP_SECONDS`, by default the iteration's market
//! time), then observe.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Result};
use mmsoak_core::params::Params;

use crate::args::{RunArgs, Source};
use crate::external::{External, Observation};
use crate::fills_source::FillsSource;
use crate::run::{Observations, RunRecord};
use mmsoak_core::fills::MARKOUT_HORIZON_MS;

pub enum LiveSource {
    External(Box<External>),
    Fills(Box<FillsSource>),
}

/// The run's live source, started (the bot launched when `--exec` asks), or
/// `None` for the simulator and the replays.
pub fn start(
    observations: &Observations,
    record: &RunRecord,
    out: &Path,
    overrides: &Path,
    latest: &Path,
    iteration: Duration,
) -> Result<Option<LiveSource>> {
    Ok(match observations {
        Observations::External(report) => {
            let timeout = Duration::from_millis(record.report_timeout_ms.unwrap_or(10_000));
            let mut ext = External::new(report.clone(), timeout);
            ext.warn_to(&latest.join("bot.log"));
            if let Some(cmd) = &record.exec {
                ext.launch(cmd, record.exec_dir.as_deref().map(Path::new), out, overrides, &latest.join("bot.log"))?;
            }
            Some(LiveSource::External(Box::new(ext)))
        }
        Observations::Fills(path) => Some(LiveSource::Fills(Box::new(
            FillsSource::start(
                path,
                record.exec.as_deref(),
                record.exec_dir.as_deref().map(Path::new),
                out,
                overrides,
                latest,
                iteration,
            )?
            .with_markout(record.markout_ms.unwrap_or(MARKOUT_HORIZON_MS)),
        ))),
        _ => None,
    })
}

impl LiveSource {
    /// A supervised bot that has exited is fatal: there is nothing left to observe.
    pub fn check_bot(&mut self) -> Result<()> {
        match self {
            LiveSource::External(ext) => ext.check_bot(),
            LiveSource::Fills(fills) => fills.check_bot(),
        }
    }

    /// Iteration `i`'s observation, once its trading time (begun at `since_ms`) is over.
    pub async fn next(&mut self, i: u32, since_ms: u64, in_force: &Params, note: &dyn Fn(&str)) -> Result<Observation> {
        match self {
            LiveSource::External(ext) => ext.next(since_ms, in_force).await,
            LiveSource::Fills(fills) => fills.next(i, in_force, note),
        }
    }
}

/// The live sources' flags: `--exec` with either, `--report` with external only,
/// `--fills` with fills only (and required there). Returns the file the source reads.
pub fn check_flags(source: Source, args: &RunArgs, out: &Path) -> Result<Option<PathBuf>> {
    let live = matches!(source, Source::External | Source::Fills);
    if !live && args.exec.is_some() {
        bail!("--exec is only used with --source external or fills");
    }
    if source != Source::External && args.report.is_some() {
        bail!("--report is only used with --source external");
    }
    if source != Source::Fills && args.fills.is_some() {
        bail!("--fills is only used with --source fills");
    }
    if source != Source::Fills && args.markout_ms.is_some() {
        bail!("--markout-ms is only used with --source fills");
    }
    // --markout-ms's range (crate::args::MARKOUT_MS) is checked by its parser.
    if live && args.compare_baseline {
        bail!("--compare-baseline needs a repeatable market; a live bot's is not (use --source sim or replay)");
    }
    let file = match source {
        Source::External => Some(args.report.clone().unwrap_or_else(|| out.join("EDGE_REPORT.json"))),
        Source::Fills => match &args.fills {
            Some(f) => Some(f.clone()),
            None => bail!("--source fills needs --fills FILE (the JSON-lines log the bot appends to)"),
        },
        _ => None,
    };
    if let Some(f) = &file {
        let flag = if source == Source::Fills { "--fills" } else { "--report" };
        check_bot_file(flag, f, args.report.is_some() || source == Source::Fills)?;
    }
    Ok(file)
}

/// The file the bot writes must be writable: checked before anything is written,
/// so a typo costs one error line, not a started run. (`given`: the user named
/// it; the default EDGE_REPORT.json lives in `--out`, which the run creates.) The
/// fills log is appended to, so it must open for appending (a read-only file or a
/// FIFO is refused); the report is replaced by the bot.
fn check_bot_file(flag: &str, f: &Path, given: bool) -> Result<()> {
    use crate::output_path::{check, Write};
    if !given {
        if f.is_dir() {
            bail!("{flag} {}: is a directory, not a file", f.display());
        }
        return Ok(());
    }
    check(flag, f, if flag == "--fills" { Write::Append } else { Write::Replace })
}
