//! `mmsoak market fit`: read bars or ticks, fit the simulator's market, write
//! the regime file and the fit report; with `--holdout`, the out-of-sample check.

use std::path::PathBuf;

use anyhow::{bail, Result};
use mmsoak_core::feed::bars::BarSeries;
use mmsoak_core::feed::stream::{Consumed, Merger, Pull};
use mmsoak_core::feed::TickSize;
use mmsoak_core::market::fit::{fit, FitInput, FitReport};
use mmsoak_core::market::holdout::{holdout_check, HoldoutReport, HoldoutSetup};
use mmsoak_core::market::tick_sample::TickSampler;
use mmsoak_core::market::{gapless_returns, RegimeFile, REGIME_FILE_SCHEMA};
use mmsoak_core::params::Params;
use serde::Serialize;

use crate::args::FitArgs;
use crate::data::reader::{describe, StreamReader};
use crate::data::streams::{group, StreamSpec};
use crate::data::BadData;
use crate::fsutil::{write_atomic, write_json};
use crate::tick_holdout::{plan_holdout, tick_holdout, HoldoutPlan};

/// The data, read and checked.
pub enum Input {
    Bars(Box<BarSeries>, Option<(Params, Params)>),
    Ticks(Vec<StreamSpec>, Option<Box<HoldoutPlan>>),
}

/// Checks every input before anything is computed or written. From here on, a
/// stop (Ctrl-C, SIGTERM, SIGHUP) ends the fit at once with one line, exit 130,
/// until the files are written ([`stop`]).
pub fn plan(args: &FitArgs) -> Result<Input> {
    stop::arm();
    stop::during("while reading the data");
    check(args).map_err(stop::unless_stopped)
}

fn check(args: &FitArgs) -> Result<Input> {
    let outputs =
        [("--out", Some(&args.out)), ("--report", args.report.as_ref()), ("--report-json", args.report_json.as_ref())];
    for (flag, p) in outputs {
        if let Some(p) = p {
            crate::output_path::check(flag, p, crate::output_path::Write::Replace)?;
        }
    }
    // Before any data is read (a tick scan can take minutes).
    if let Some(h) = args.holdout {
        if !(h > 0.0 && h < 1.0) {
            bail!("--holdout {h}: must be above 0 and below 1 (the share of the data held out)");
        }
    }
    // Tick formats are told by content; anything else must be a bar file.
    let profiles = || -> Result<Option<(Params, Params)>> {
        Ok(match args.holdout {
            Some(_) => Some((crate::profiles::load(&args.profile)?, crate::profiles::load("steady_safe")?)),
            None => None,
        })
    };
    let input = match group(&args.data, None) {
        Ok(specs) => {
            let holdout = match (args.holdout, profiles()?) {
                (Some(h), Some((start, safe))) if h > 0.0 && h < 1.0 => {
                    Some(Box::new(plan_holdout(args, h, start, safe)?))
                }
                _ => None,
            };
            Input::Ticks(specs, holdout)
        }
        Err(tick_err) => {
            if args.data.len() > 1 {
                return Err(tick_err.context("several --data files are merged as tick data"));
            }
            let series = crate::data::bars::load(&args.data[0])?;
            eprintln!("mmsoak: bars: {}: {}", args.data[0].display(), series.info.describe());
            Input::Bars(Box::new(series), profiles()?)
        }
    };
    Ok(input)
}

#[derive(Serialize)]
struct FitOutput<'a> {
    data: Vec<String>,
    fit: &'a FitReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    holdout: Option<&'a HoldoutReport>,
}

pub fn execute(args: &FitArgs, input: Input) -> Result<()> {
    fit_and_write(args, input).map_err(stop::unless_stopped)
}

fn fit_and_write(args: &FitArgs, input: Input) -> Result<()> {
    let names: Vec<String> = args.data.iter().map(|p| p.display().to_string()).collect();
    let (report, holdout) = match input {
        Input::Bars(series, profiles) => {
            let returns = gapless_returns(&series.bars, series.info.interval_s);
            if returns.len() < 30 {
                bail!(
                    "{}: {} returns between consecutive bars, fewer than the 30 a fit needs",
                    names[0],
                    returns.len()
                );
            }
            stop::during("while fitting");
            let report =
                fit(&FitInput { returns_bps: returns, interval_s: series.info.interval_s, ticks: None }, args.seed);
            stop::during("during the holdout check");
            let holdout = match (args.holdout, profiles) {
                (Some(h), Some((start, safe))) => Some(
                    holdout_check(&HoldoutSetup {
                        bars: &series.bars,
                        interval_s: series.info.interval_s,
                        holdout: h,
                        start,
                        safe,
                        tune_iterations: args.iterations,
                        iteration_seconds: args.iteration_seconds,
                        seed: args.seed,
                    })
                    .map_err(|e| anyhow::anyhow!("{}: {e}", names[0]))?,
                ),
                _ => None,
            };
            (report, holdout)
        }
        Input::Ticks(specs, plan) => {
            let input = sample_ticks(&specs, None)?;
            stop::during("while fitting");
            let report = fit(&input, args.seed);
            stop::during("during the holdout check");
            let holdout = match plan {
                Some(p) => Some(tick_holdout(args, *p)?),
                None => None,
            };
            (report, holdout)
        }
    };
    let file = RegimeFile {
        schema: REGIME_FILE_SCHEMA.into(),
        name: args.out.file_stem().map_or_else(|| "fitted".into(), |s| s.to_string_lossy().into_owned()),
        fitted_from: names.iter().map(|n| file_name(n)).collect(),
        spec: report.spec,
    };
    let mut md = report.markdown(&names.join(", "));
    if let Some(h) = &holdout {
        md.push_str(&h.markdown());
    }
    stop::begin_writing();
    write_json(&args.out, &file)?;
    if let Some(p) = &args.report {
        write_atomic(p, md.as_bytes())?;
    }
    if let Some(p) = &args.report_json {
        write_json(p, &FitOutput { data: names.clone(), fit: &report, holdout: holdout.as_ref() })?;
    }
    print!("{md}");
    let outside: Vec<&str> = report.rows.iter().filter(|r| !r.within).map(|r| r.fact.as_str()).collect();
    eprintln!(
        "mmsoak: regime file {} written ({}); use it with --regime {}",
        args.out.display(),
        if outside.is_empty() {
            "every fact within the data's band".to_string()
        } else {
            format!("outside the data's band: {}", outside.join(", "))
        },
        args.out.display()
    );
    Ok(())
}

/// A stop during a fit. The fit writes only at its end, each file atomically, and
/// its long steps (reading the data, the fit's simulations, the held-out tuning
/// and replay) run in the core, which cannot be asked to stop midway: so a stop
/// before the writes ends the process at once, with one line and exit 130, as a
/// run stopped before its first iteration does. A stop once the writes have
/// begun lets them finish (they take milliseconds) and the fit ends as it would
/// have: a stop never leaves some of the files written and the others not.
mod stop {
    use std::sync::{Mutex, PoisonError};

    use crate::interrupt;

    /// What the fit is doing (for the line), and whether it is writing its files.
    static STATE: Mutex<(&str, bool)> = Mutex::new(("before reading the data", false));

    /// Exit code of a stopped command, as `mmsoak run`'s.
    const EXIT_INTERRUPTED: i32 = 130;

    /// Starts listening: a thread waits for the stop and ends the process. Without
    /// that thread the listener is not started, and the signals keep their
    /// default action (the process ends at once, without the line).
    pub fn arm() {
        let (ready, started) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new().name("mmsoak-fit-stop".into()).spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().build() else { return };
            let _ = ready.send(());
            rt.block_on(interrupt::requested());
            exit_unless_writing(&STATE.lock().unwrap_or_else(PoisonError::into_inner));
        });
        if spawned.is_ok() && started.recv().is_ok() {
            interrupt::listen();
        }
    }

    /// Names the step under way, for the line a stop prints.
    pub fn during(step: &'static str) {
        STATE.lock().unwrap_or_else(PoisonError::into_inner).0 = step;
    }

    /// Called before the first write: a stop asked for ends the fit here; from
    /// now on a stop waits for the writes.
    pub fn begin_writing() {
        let mut state = STATE.lock().unwrap_or_else(PoisonError::into_inner);
        if interrupt::is_requested() {
            exit_unless_writing(&state);
        }
        state.1 = true;
    }

    /// An error met after a stop was asked for (a step that noticed the stop
    /// itself, as the tick data scan does) is the stop: exit 130, not the error.
    pub fn unless_stopped(e: anyhow::Error) -> anyhow::Error {
        if interrupt::is_requested() {
            exit_unless_writing(&STATE.lock().unwrap_or_else(PoisonError::into_inner));
        }
        e
    }

    /// Ends the process unless the files are being written. The lock is held to
    /// the end: the fit cannot start writing, nor print an error, meanwhile.
    fn exit_unless_writing(state: &(&'static str, bool)) {
        if !state.1 {
            eprintln!("mmsoak: market fit interrupted {}; no file was written", state.0);
            std::process::exit(EXIT_INTERRUPTED);
        }
    }
}

fn file_name(path: &str) -> String {
    PathBuf::from(path).file_name().map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

/// One pass over tick data through the core's parsers, measuring what the fit
/// needs; with `until_ns`, only the events before that time (the data's clock).
/// Bad data, and a file that cannot be read, is [`BadData`] (exit 2): one line
/// naming the file, the line and the value, as `--holdout`'s scan and a run say it.
pub fn sample_ticks(specs: &[StreamSpec], until_ns: Option<i64>) -> Result<FitInput> {
    let formats: Vec<_> = specs.iter().map(|s| s.format).collect();
    let mut readers: Vec<StreamReader> = specs.iter().cloned().map(StreamReader::new).collect();
    for r in readers.iter_mut() {
        r.refill().map_err(BadData::from_error)?;
    }
    let tolerance_ns = (crate::ticks::DEFAULT_BACKSTEP_MS * 1e6) as i64;
    let mut merger = Merger::new(&formats, TickSize::RAW, tolerance_ns);
    let mut sampler = TickSampler::default();
    loop {
        let chunks: Vec<_> = readers.iter().map(|r| r.chunk.clone()).collect();
        let mut consumed = vec![Consumed::default(); readers.len()];
        let res = loop {
            match merger.next(&chunks, &mut consumed) {
                Ok(Pull::Event(e)) if until_ns.is_some_and(|t| e.exch_ns >= t) => break Ok(None),
                Ok(Pull::Event(e)) => sampler.push(&e),
                Ok(Pull::Need(k)) => break Ok(Some(k)),
                Ok(Pull::End) => break Ok(None),
                Err(e) => break Err(e),
            }
        };
        for (r, c) in readers.iter_mut().zip(&consumed) {
            r.consume(*c);
        }
        match res.map_err(|e| BadData::from_error(describe(&readers, &e)))? {
            Some(k) => readers[k].refill().map_err(BadData::from_error)?,
            None => return Ok(sampler.finish()),
        }
    }
}
