//! Where each iteration's observation comes from: the simulator, a bar or
//! tick replay, recorded KPIs, or a live bot (read by `live_source`).

use std::path::PathBuf;

use anyhow::{bail, Result};
use mmsoak_core::abi::SimulateRequest;
use mmsoak_core::edge::EdgeReport;
use mmsoak_core::feed::bars::BarSeries;
use mmsoak_core::market::MarketConfig;
use mmsoak_core::report::{BarSettings, RunSettings};
use mmsoak_core::soak::SoakState;
use mmsoak_host::Engine;

use crate::{kpis, replay};

use super::{InputPaths, RunPlan};

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

pub(super) fn observations(settings: &RunSettings, paths: &InputPaths, iterations: u32) -> Result<Observations> {
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

/// Iteration `i`'s observation from the simulator, a replay or a recording.
pub(super) fn observe(
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

pub(super) fn simulate(
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
