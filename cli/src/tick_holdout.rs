//! `mmsoak market fit --holdout F` on tick data: cut the data into whole replay
//! windows by time, fit the simulator on the ticks before the cut, tune on the
//! fitted simulator, then replay the held-out windows tick by tick (the engine
//! `--source ticks` uses, with its default queue, latency and fee models) with
//! the tuned parameters and with the starting profile, and judge the two as
//! `--compare-baseline` does ([`mmsoak_core::market::holdout::judge_held_out`]).

use anyhow::{bail, Context, Result};
use mmsoak_core::exchange::plan::{TickChoices, SPAN_SLACK};
use mmsoak_core::exchange::QueueModel;
use mmsoak_core::market::fit::fit;
use mmsoak_core::market::holdout::{judge_held_out, tune_on_fitted, HoldoutReport, TickHoldout};
use mmsoak_core::params::Params;
use mmsoak_host::{open_engine, EngineKind, ModuleCache};

use crate::args::FitArgs;
use crate::ticks::{plan, TickPlan, TickRun};

/// A checked tick holdout: the replay plan and where the data is cut.
pub struct HoldoutPlan {
    plan: TickPlan,
    windows: u32,
    fit_windows: u32,
    cut_ns: i64,
    start: Params,
    safe: Params,
}

/// Scans the data and cuts it into whole windows of `--iteration-seconds`:
/// bad data, or too little of it for a fit window and two held-out windows, is
/// an input error before anything runs. `start` is `--profile`, `safe` the
/// tuner's fallback.
pub fn plan_holdout(args: &FitArgs, holdout: f64, start: Params, safe: Params) -> Result<HoldoutPlan> {
    let names = args.data.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
    let secs = args.iteration_seconds;
    // Planned for no window: how many the data holds is measured below.
    let plan = plan(&args.data, None, None, &TickChoices::default(), 0, secs, &crate::ticks::flag_name)?;
    let Some((_, last)) = plan.facts.common_span() else { bail!("{names}: the files do not overlap in time") };
    let len_ns = secs as i64 * 1_000_000_000;
    let windows = ((last - plan.config.start_ns) as f64 / len_ns as f64 + SPAN_SLACK).floor() as u32;
    let fit_windows = (windows as f64 * (1.0 - holdout)).floor() as u32;
    if fit_windows < 1 || windows - fit_windows < 2 {
        bail!(
            "--holdout {holdout}: {names} holds {windows} window{} of {secs} s; the fit needs at least one and the \
             held-out part two (use a shorter --iteration-seconds or another --holdout)",
            if windows == 1 { "" } else { "s" }
        );
    }
    let cut_ns = plan.config.start_ns + fit_windows as i64 * len_ns;
    Ok(HoldoutPlan { plan, windows, fit_windows, cut_ns, start, safe })
}

/// Runs the check: fit before the cut, tune, replay the held-out windows twice, judge.
pub fn tick_holdout(args: &FitArgs, h: HoldoutPlan) -> Result<HoldoutReport> {
    let HoldoutPlan { plan, windows, fit_windows, cut_ns, start, safe } = h;
    let secs = args.iteration_seconds;
    let input = crate::market_fit::sample_ticks(&plan.specs, Some(cut_ns))?;
    let fit_trades = input.ticks.as_ref().map_or(0, |t| t.trade_qty.len());
    let fitted = fit(&input, args.seed);
    let tuned = tune_on_fitted(&fitted.spec, &start, &safe, args.iterations, secs, args.seed);
    eprintln!(
        "mmsoak: holdout: fitted on windows 1-{fit_windows} ({fit_trades} trades), replaying windows {}-{windows} of {secs} s",
        fit_windows + 1
    );

    let mut engine = open_engine(EngineKind::Native, &ModuleCache::disabled()).context("starting the core engine")?;
    let queue_model = match plan.config.queue {
        QueueModel::Fifo => "fifo".to_string(),
        QueueModel::RiskAverse => "risk-averse".to_string(),
        QueueModel::PowerProb { n } => format!("prob:{n}"),
    };
    let mut run = TickRun::new(plan.config, plan.specs);
    let mut replay = |params: &Params| -> Result<Vec<_>> {
        run.rewind();
        (fit_windows + 1..=windows).map(|i| run.iteration(&mut engine, params, i)).collect()
    };
    let tuned_runs = replay(&tuned)?;
    let start_runs = replay(&start)?;
    let mut report = judge_held_out(fitted, args.iterations, tuned, start, &tuned_runs, &start_runs);
    report.cut = cut_ns.div_euclid(1_000_000_000);
    report.ticks = Some(TickHoldout { cut_ns, iteration_seconds: secs, fit_windows, windows, fit_trades, queue_model });
    Ok(report)
}
