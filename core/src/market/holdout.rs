//! Out of sample (`mmsoak market fit --holdout F`): fit the simulator on the
//! first part of the data, let the tuner tune on the fitted simulator, then
//! replay the held-out part with the tuned parameters and with the starting
//! profile. Bars are replayed here ([`holdout_check`]); tick data is replayed by
//! the shell through the tick engine, which reads files, with
//! [`tune_on_fitted`] and [`judge_held_out`] from here. The judge is the one `--compare-baseline` uses ([`crate::judge::judged`]:
//! Mann-Whitney U on per-iteration net edge and risk ratio, exact or normal
//! approximation named in the report, one-sided in the good direction, the
//! Hodges-Lehmann shift with its 95 % interval, and the effect gate).

use serde::{Deserialize, Serialize};

use super::fit::{fit, FitInput, FitReport};
use super::{gapless_returns, simulate_iteration, window_by_time, Bar, MarketConfig, Regime, RegimeSpec};
use crate::edge::EdgeReport;
use crate::judge::{judged, Better, Uplift, NET_BPS_GATE, RISK_RATIO_GATE};
use crate::kpi::KpiThresholds;
use crate::params::Params;
use crate::soak::{self, SoakConfig};

/// What the check needs: the bars, where to cut, how to soak.
#[derive(Debug, Clone, PartialEq)]
pub struct HoldoutSetup<'a> {
    pub bars: &'a [Bar],
    pub interval_s: u32,
    /// Share of the data's market time held out, at its end (0 < f < 1).
    pub holdout: f64,
    pub start: Params,
    pub safe: Params,
    /// Iterations of the tuning soak on the fitted simulator.
    pub tune_iterations: u32,
    pub iteration_seconds: u32,
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldoutReport {
    /// The cut, seconds on the data's clock (Unix seconds for bars): data before
    /// it was fitted, data from it held out.
    pub cut: i64,
    /// Bars fitted and held out (bar data; absent for ticks).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub fit_bars: usize,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub holdout_bars: usize,
    /// Tick data: how it was cut and replayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticks: Option<TickHoldout>,
    pub fit: FitReport,
    pub tune_iterations: u32,
    /// The tuner's parameters at the end of the soak on the fitted simulator.
    pub tuned: Params,
    pub start: Params,
    /// Held-out windows replayed with each parameter set.
    pub holdout_iterations: u32,
    pub tuned_net_bps: Vec<f64>,
    pub start_net_bps: Vec<f64>,
    pub net_bps: Uplift,
    pub risk_ratio: Uplift,
}

/// Tick data's cut: whole replay windows of `iteration_seconds` from the data's
/// start; windows `1..=fit_windows` were fitted, the rest replayed tick by tick
/// (`--source ticks`'s engine) as iterations `fit_windows + 1 ..= windows`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TickHoldout {
    /// The cut on the data's clock, ns.
    pub cut_ns: i64,
    pub iteration_seconds: u32,
    pub fit_windows: u32,
    pub windows: u32,
    /// Trades in the fitted part.
    pub fit_trades: usize,
    /// The queue model of the replay (`fifo`, `prob:3`, …), as `--source ticks` picks it.
    pub queue_model: String,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Runs the check. Errors when either part is too short to use.
pub fn holdout_check(s: &HoldoutSetup) -> Result<HoldoutReport, String> {
    if !(s.holdout > 0.0 && s.holdout < 1.0) {
        return Err(format!("--holdout {}: must be between 0 and 1 (the share held out)", s.holdout));
    }
    let (first, last) = match (s.bars.first(), s.bars.last()) {
        (Some(a), Some(b)) => (a.timestamp, b.timestamp + s.interval_s as i64),
        _ => return Err("no bars".into()),
    };
    let fit_span = ((last - first) as f64 * (1.0 - s.holdout)) as i64;
    let cut = first + fit_span - fit_span.rem_euclid(s.interval_s as i64);
    let split = s.bars.partition_point(|b| b.timestamp < cut);
    let (head, tail) = s.bars.split_at(split);
    let held_out_s = last - cut;
    let windows = (held_out_s / s.iteration_seconds as i64) as u32;
    if windows < 2 {
        return Err(format!(
            "--holdout {}: the held-out part holds {held_out_s} s of market time, fewer than two {} s iterations",
            s.holdout, s.iteration_seconds
        ));
    }
    let returns = gapless_returns(head, s.interval_s);
    if returns.len() < 30 {
        return Err(format!("--holdout {}: the fitted part has {} returns, fewer than 30", s.holdout, returns.len()));
    }
    let fit = fit(&FitInput { returns_bps: returns, interval_s: s.interval_s, ticks: None }, s.seed);
    let tuned = tune_on_fitted(&fit.spec, &s.start, &s.safe, s.tune_iterations, s.iteration_seconds, s.seed);
    let market = fitted_market(&fit.spec, s.iteration_seconds);

    // Replay the held-out bars with both parameter sets, the book and flow fitted too.
    let (mut tuned_runs, mut start_runs) = (vec![], vec![]);
    for i in 1..=windows {
        let Some((bars, clock)) = window_by_time(tail, s.interval_s, i, s.iteration_seconds, false) else { break };
        let replay = MarketConfig { bars, clock: Some(clock), ..market.clone() };
        tuned_runs.push(simulate_iteration(&tuned, &replay, s.seed, i));
        start_runs.push(simulate_iteration(&s.start, &replay, s.seed, i));
    }
    let mut report = judge_held_out(fit, s.tune_iterations, tuned, s.start.clone(), &tuned_runs, &start_runs);
    (report.cut, report.fit_bars, report.holdout_bars) = (cut, head.len(), tail.len());
    Ok(report)
}

fn fitted_market(spec: &RegimeSpec, iteration_seconds: u32) -> MarketConfig {
    MarketConfig { iteration_seconds, spec: Some(*spec), ..MarketConfig::synthetic(Regime::Fitted) }
}

/// The tuner's parameters after `tune_iterations` auto-tuned iterations of
/// `iteration_seconds` on the simulator fitted to `spec`, from `start`.
pub fn tune_on_fitted(
    spec: &RegimeSpec,
    start: &Params,
    safe: &Params,
    tune_iterations: u32,
    iteration_seconds: u32,
    seed: u64,
) -> Params {
    let market = fitted_market(spec, iteration_seconds);
    let config = SoakConfig {
        total_iterations: tune_iterations,
        auto_tune: true,
        iterations_per_hour: market.iterations_per_hour(),
        thresholds: KpiThresholds::default(),
        safe_params: safe.clone(),
        guards: Default::default(),
    };
    let mut state = soak::init(config, start.clone());
    for i in 1..=tune_iterations {
        let edge = simulate_iteration(&state.overrides, &market, seed, i);
        state = soak::step(state, &edge).0;
    }
    state.overrides
}

/// The report from the held-out iterations replayed with the tuned and with the
/// starting parameters (same windows, same order): per-iteration net edge and
/// risk ratio judged as `--compare-baseline` judges them. `cut`, `fit_bars` and
/// `holdout_bars` are left for the caller (0).
pub fn judge_held_out(
    fit: FitReport,
    tune_iterations: u32,
    tuned: Params,
    start: Params,
    tuned_runs: &[EdgeReport],
    start_runs: &[EdgeReport],
) -> HoldoutReport {
    let net = |r: &[EdgeReport]| r.iter().map(|e| e.net_bps).collect::<Vec<f64>>();
    let risk = |r: &[EdgeReport]| r.iter().map(|e| e.risk_ratio).collect::<Vec<f64>>();
    let (tuned_net, start_net) = (net(tuned_runs), net(start_runs));
    HoldoutReport {
        cut: 0,
        fit_bars: 0,
        holdout_bars: 0,
        ticks: None,
        tune_iterations,
        holdout_iterations: tuned_net.len() as u32,
        net_bps: judged(&tuned_net, &start_net, Better::Higher, NET_BPS_GATE),
        risk_ratio: judged(&risk(tuned_runs), &risk(start_runs), Better::Lower, RISK_RATIO_GATE),
        tuned_net_bps: tuned_net,
        start_net_bps: start_net,
        fit,
        tuned,
        start,
    }
}

impl HoldoutReport {
    /// The out-of-sample section of the Markdown report.
    pub fn markdown(&self) -> String {
        let mut s = String::from("\n## Out of sample\n\n");
        match &self.ticks {
            None => s.push_str(&format!(
                "Fitted on {} bars before {} (Unix s); the tuner ran {} iterations on the fitted simulator; \
                 the {} held-out bars were replayed as {} iterations with the tuned parameters and with the starting profile.\n\n",
                self.fit_bars, self.cut, self.tune_iterations, self.holdout_bars, self.holdout_iterations
            )),
            Some(t) => s.push_str(&format!(
                "Fitted on the ticks of windows 1–{} ({} trades, before {} s on the data's clock); the tuner ran {} \
                 iterations on the fitted simulator; the held-out windows {}–{} of {} s were replayed tick by tick \
                 (queue model {}) as {} iterations with the tuned parameters and with the starting profile.\n\n",
                t.fit_windows,
                t.fit_trades,
                self.cut,
                self.tune_iterations,
                t.fit_windows + 1,
                t.windows,
                t.iteration_seconds,
                t.queue_model,
                self.holdout_iterations
            )),
        }
        // The same table, method and effect gate as `--compare-baseline`'s: the
        // "baseline" here is the starting profile on the same held-out bars.
        s.push_str(&crate::judge::markdown_table(&[("net_bps", &self.net_bps), ("risk_ratio", &self.risk_ratio)]));
        let changed: Vec<String> = {
            let (a, b) = (
                serde_json::to_value(&self.start).unwrap_or_default(),
                serde_json::to_value(&self.tuned).unwrap_or_default(),
            );
            match (a.as_object(), b.as_object()) {
                (Some(a), Some(b)) => a
                    .iter()
                    .filter(|(k, v)| b.get(*k) != Some(v))
                    .map(|(k, v)| format!("`{k}` {v} → {}", b[k]))
                    .collect(),
                _ => Vec::new(),
            }
        };
        s.push_str(&format!(
            "\nTuned parameters: {}.\n",
            if changed.is_empty() { "unchanged from the starting profile".to_string() } else { changed.join(", ") }
        ));
        s
    }
}
