//! Fitting the simulator's market to real data (`mmsoak market fit`), and the
//! report that says how well the fitted simulator reproduces the data.
//!
//! The model is the simulator's own ([`super::price`]): per 25 ms step a return of
//! `σ·e^{v}·√dt·N(0,1)` plus Laplace jumps at rate λ, where the log-volatility `v`
//! is a mean-reverting AR(1) (time constant τ, noise `vov·√(dt/60)`); trades arrive
//! as a Hawkes process. Estimators, from bar returns `r` at interval `I`:
//! - jumps: peaks over a threshold `u = 5·σ̂` (σ̂ = 1.4826·MAD, robust to the jumps
//!   themselves). Jump sizes are exponential, so by memorylessness the mean excess
//!   `E[|r|−u | |r|>u]` is the scale `b`, and the exceedance rate is `λ·e^{−u/b}`
//!   (Pickands 1975; Embrechts, Klüppelberg & Mikosch 1997, §6.5);
//! - clustering: τ from the decay of the autocorrelation of `|r|`
//!   (`acf_k ∝ e^{−kI/τ}`, a least-squares line through `ln acf_k`), and the
//!   log-volatility variance `s²` from the excess kurtosis κ of the non-jump
//!   returns (a normal scale mixture with log-normal scale: `κ = 3(e^{4s²}−1)`),
//!   so `vov = √(120·s²/τ)`;
//! - level: σ from the non-jump variance, `σ² = var/(I·e^{2s²})`, then refined by
//!   simulation (the fitted path's std and kurtosis moved onto the data's, three
//!   rounds, diffusion and jump rate scaled together) because jumps feed
//!   volatility back (`jump_vol_kick`); jumps get at most half the variance, as
//!   the exponential extrapolation below the threshold overshoots on real tails;
//! - drift: the trend magnitude in 15-minute windows beyond what diffusion explains;
//! - from ticks: the median spread (bps), the trade rate, and the Hawkes branching
//!   ratio from the dispersion of trade counts in 10 s windows (for a Hawkes process
//!   the long-window Fano factor is `1/(1−n)²`, Hawkes & Oakes 1974), the immigrant
//!   rate then set by simulation so the fitted median trade rate meets the data's;
//!   trade sizes as Pareto: the tail index by Hill's estimator over the largest
//!   10 % of trades (Hill 1975), the scale so the median noise trade is the data's
//!   median trade (one order unit) at the median touch depth; and, where at least
//!   50 sizes allow it, the spliced model that replaces it in the simulator: a
//!   log-normal body with a Pareto tail on sizes relative to the median touch
//!   depth ([`super::trade_size`], with its sources).
//!
//! How well the fitted simulator reproduces the data: [`super::fit_report`].

use serde::{Deserialize, Serialize};

use super::facts::stylized_facts;
use super::price::minute_returns_for;
use super::regime::{Regime, RegimeSpec};
use super::sim::trade_counts;
use super::size_facts::relative_sizes;
use super::trade_size::{fit_spliced, SplicedSizes};
use super::MarketConfig;
use crate::edge::round6;
use crate::rng::derive_seed;
use crate::stats::{autocorrelation, excess_kurtosis, mean, percentile};

/// Seconds per trade-rate window (ticks).
pub const RATE_WINDOW_S: u32 = 10;

use super::fit_report::compare;
pub use super::fit_report::{FactRow, FitReport};

/// What the data says, ready for fitting: returns at the bar interval, and the
/// tick facts where the data is ticks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FitInput {
    /// Log-returns between consecutive bars (or minute mids of tick data), bps;
    /// no return spans a gap.
    pub returns_bps: Vec<f64>,
    /// Seconds between the returns' endpoints.
    pub interval_s: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticks: Option<TickSample>,
}

/// Tick data measured once a second of market time and per 10 s window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TickSample {
    /// Quoted spread, bps of the mid, sampled once a second where both sides exist.
    pub spread_bps: Vec<f64>,
    /// Trades per second in consecutive [`RATE_WINDOW_S`] windows.
    pub trade_rate: Vec<f64>,
    /// Median trade quantity and median touch quantity (base units).
    pub median_trade_qty: f64,
    pub median_touch_qty: f64,
    /// Every trade's quantity (base units), in arrival order: the size distribution.
    pub trade_qty: Vec<f64>,
}

/// Fits the simulator's market to `input`. Deterministic in `seed`.
pub fn fit(input: &FitInput, seed: u64) -> FitReport {
    let mut spec = Regime::Calm.spec();
    spec.flash_crash_prob = 0.0;
    spec.gap_rate_per_hour = 0.0;
    let mut kept = vec!["informed_share".to_string(), "hawkes_decay_s".to_string()];
    let r = &input.returns_bps;
    let interval = input.interval_s.max(1) as f64;
    let mut jumps = 0;
    if r.len() >= 30 {
        let est = estimate_price(r, interval);
        jumps = est.jumps;
        spec.vol_bps_per_sqrt_s = est.vol;
        spec.vol_reversion_s = est.tau;
        spec.vol_of_vol = est.vov;
        spec.jump_rate_per_hour = est.jump_rate;
        spec.jump_scale_bps = est.jump_scale;
        spec.drift_bps_per_s = est.drift;
        // Each jump raises log-volatility by the kick, decaying over τ: keep the mean
        // rise λ·kick·τ small, or jumps would set the volatility level on their own.
        let rise = spec.jump_rate_per_hour / 3600.0 * spec.vol_reversion_s;
        spec.jump_vol_kick = if rise > 0.0 { (0.25 / rise).min(0.3) } else { 0.3 };
        refine_by_simulation(&mut spec, r, input.interval_s, seed);
    } else {
        kept.extend(
            [
                "vol_bps_per_sqrt_s",
                "vol_of_vol",
                "vol_reversion_s",
                "jump_rate_per_hour",
                "jump_scale_bps",
                "jump_vol_kick",
                "drift_bps_per_s",
            ]
            .map(String::from),
        );
    }
    match &input.ticks {
        Some(t) if !t.trade_rate.is_empty() && !t.spread_bps.is_empty() => fit_flow(&mut spec, t, seed),
        _ => kept.extend(
            [
                "market_spread_bps",
                "top_depth",
                "trade_rate_per_s",
                "hawkes_branching",
                "trade_size_scale",
                "trade_size_tail",
            ]
            .map(String::from),
        ),
    }
    let spec = rounded(spec);
    let rows = compare(input, &spec, seed);
    FitReport { spec, interval_s: input.interval_s, returns: r.len(), jumps, rows, defaults_kept: kept }
}

struct PriceEstimate {
    vol: f64,
    tau: f64,
    vov: f64,
    jump_rate: f64,
    jump_scale: f64,
    drift: f64,
    jumps: usize,
}

fn estimate_price(r: &[f64], interval: f64) -> PriceEstimate {
    let med = percentile(r, 50.0);
    let abs_dev: Vec<f64> = r.iter().map(|x| (x - med).abs()).collect();
    let sigma = (1.4826 * percentile(&abs_dev, 50.0)).max(1e-6);
    let u = 5.0 * sigma;
    let excess: Vec<f64> = r.iter().filter(|x| (*x - med).abs() > u).map(|x| (x - med).abs() - u).collect();
    let hours = r.len() as f64 * interval / 3600.0;
    let (jump_rate, jump_scale) = if excess.len() >= 2 {
        let b = mean(&excess).max(0.1);
        ((excess.len() as f64 / hours * libm::exp(u / b)).min(120.0), b)
    } else {
        (0.0, 1.0)
    };
    let body: Vec<f64> = r.iter().copied().filter(|x| (x - med).abs() <= u).collect();
    let m = mean(&body);
    let var = mean(&body.iter().map(|x| (x - m) * (x - m)).collect::<Vec<_>>());
    // The extrapolation below the threshold assumes exponential sizes all the way
    // down; where that would give jumps more than half of all the variance, the
    // rate is cut back to that half (the diffusion keeps the rest).
    let ma = mean(r);
    let total = mean(&r.iter().map(|x| (x - ma) * (x - ma)).collect::<Vec<_>>());
    let jump_var = jump_rate * interval / 3600.0 * 2.0 * jump_scale * jump_scale;
    let jump_rate =
        if jump_var > 0.5 * total && jump_var > 0.0 { jump_rate * 0.5 * total / jump_var } else { jump_rate };
    // Clustering: the decay of acf(|r|) over lags 1..=10 (positive values only).
    let abs: Vec<f64> = r.iter().map(|x| x.abs()).collect();
    let pts: Vec<(f64, f64)> = (1..=10)
        .filter_map(|k| {
            let a = autocorrelation(&abs, k);
            (a > 1e-3).then(|| (k as f64, libm::log(a)))
        })
        .collect();
    let tau = if pts.len() >= 3 {
        let (mx, my) =
            (mean(&pts.iter().map(|p| p.0).collect::<Vec<_>>()), mean(&pts.iter().map(|p| p.1).collect::<Vec<_>>()));
        let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let sxx: f64 = pts.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
        let slope = sxy / sxx;
        if slope < -1e-6 {
            (-interval / slope).clamp(interval, 7.0 * 86_400.0)
        } else {
            7.0 * 86_400.0
        }
    } else {
        600.0
    };
    let kurt = excess_kurtosis(&body).max(0.0);
    let s2 = (libm::log(1.0 + kurt / 3.0) / 4.0).clamp(0.0, 2.0);
    let vov = (120.0 * s2 / tau).sqrt().min(5.0);
    let vol = (var / interval / libm::exp(2.0 * s2)).sqrt().max(1e-6);
    // Drift: 15-minute window returns beyond what the diffusion explains.
    let per = ((900.0 / interval).round() as usize).max(1);
    let windows: Vec<f64> = r.chunks_exact(per).map(|c| c.iter().sum()).collect();
    let drift = if windows.len() >= 4 {
        let second_moment = mean(&windows.iter().map(|w| w * w).collect::<Vec<_>>());
        let diffusion = per as f64 * (var + jump_rate * interval / 3600.0 * 2.0 * jump_scale * jump_scale);
        (second_moment - diffusion).max(0.0).sqrt() / (per as f64 * interval)
    } else {
        0.0
    };
    PriceEstimate { vol, tau, vov, jump_rate, jump_scale, drift, jumps: excess.len() }
}

/// Returns of the fitted simulator at the data's interval: a long run (at least
/// three days, at least the data's length) so its facts are the model's, not noise.
pub(super) fn simulated_returns(spec: &RegimeSpec, interval_s: u32, n: usize, seed: u64) -> Vec<f64> {
    let per = (interval_s / 60).max(1) as usize;
    let minutes = (n * per).max(3 * 24 * 60) as u32;
    let market = MarketConfig { spec: Some(*spec), ..MarketConfig::synthetic(Regime::Fitted) };
    let m = minute_returns_for(&market, derive_seed(&[seed, 0x0066_6974]), minutes);
    m.chunks_exact(per).map(|c| c.iter().sum()).collect()
}

fn refine_by_simulation(spec: &mut RegimeSpec, r: &[f64], interval_s: u32, seed: u64) {
    let data = stylized_facts(r);
    for _ in 0..3 {
        let sim = stylized_facts(&simulated_returns(spec, interval_s, r.len(), seed));
        scale_variance(spec, data.std_bps, sim.std_bps);
        // More kurtosis in the data: more volatility of volatility (and back), with
        // the level moved against it so E[σ²e^{2v}] = σ²e^{2s²} stays put.
        let (kd, ks) = (data.excess_kurtosis.max(0.0), sim.excess_kurtosis.max(0.0));
        let shift = ((libm::log(1.0 + kd / 3.0) - libm::log(1.0 + ks / 3.0)) / 4.0).clamp(-0.5, 0.5);
        let s2_old = spec.vol_of_vol * spec.vol_of_vol * spec.vol_reversion_s / 120.0;
        let s2 = (s2_old + shift).clamp(0.0, 2.0);
        spec.vol_of_vol = (120.0 * s2 / spec.vol_reversion_s).sqrt().min(5.0);
        spec.vol_bps_per_sqrt_s *= libm::exp(-(s2 - s2_old));
    }
    let sim = stylized_facts(&simulated_returns(spec, interval_s, r.len(), seed));
    scale_variance(spec, data.std_bps, sim.std_bps);
}

/// Scales diffusion and jumps together so the variance moves by `(data/sim)²`
/// while their split stays.
fn scale_variance(spec: &mut RegimeSpec, data_std: f64, sim_std: f64) {
    if sim_std > 0.0 && data_std > 0.0 {
        let ratio = (data_std / sim_std).clamp(0.25, 4.0);
        spec.vol_bps_per_sqrt_s *= ratio;
        spec.jump_rate_per_hour *= ratio * ratio;
    }
}

fn fit_flow(spec: &mut RegimeSpec, t: &TickSample, seed: u64) {
    spec.market_spread_bps = percentile(&t.spread_bps, 50.0).max(1e-6);
    if t.median_trade_qty > 0.0 && t.median_touch_qty > 0.0 {
        // One order unit is the data's median trade; the touch holds this many.
        spec.top_depth = (t.median_touch_qty / t.median_trade_qty).clamp(0.05, 1e6);
        if let Some(tail) = hill_tail(&t.trade_qty) {
            spec.trade_size_tail = tail;
        }
        // Median of scale·depth·U^(−1/tail) is scale·depth·2^(1/tail): one order unit.
        spec.trade_size_scale = (1.0 / (spec.top_depth * libm::pow(2.0, 1.0 / spec.trade_size_tail))).clamp(1e-6, 1e6);
        // The spliced model (log-normal body, Pareto tail), on sizes relative to the
        // touch depth, replaces the single Pareto where the data supports it.
        spec.trade_size_spliced = fit_spliced(&relative_sizes(t));
    }
    let rate = mean(&t.trade_rate);
    let counts: Vec<f64> = t.trade_rate.iter().map(|x| x * RATE_WINDOW_S as f64).collect();
    let m = mean(&counts);
    let var = mean(&counts.iter().map(|c| (c - m) * (c - m)).collect::<Vec<_>>());
    let fano = if m > 0.0 { var / m } else { 1.0 };
    spec.hawkes_branching = if fano > 1.0 { (1.0 - 1.0 / fano.sqrt()).clamp(0.0, 0.9) } else { 0.0 };
    spec.trade_rate_per_s = (rate * (1.0 - spec.hawkes_branching)).max(1e-4);
    // Meet the data's median rate with the simulator's own flow (its activity
    // follows volatility, so the median is not the mean).
    // Window counts are whole numbers, so the median moves in steps and a full
    // multiplicative correction can jump from one side of the target to the other
    // and back: later corrections are damped (square root of the ratio) and the
    // rate whose median came closest is kept.
    let target = percentile(&t.trade_rate, 50.0);
    let mut best: Option<(f64, f64)> = None; // (|median − target|, rate)
    for round in 0..8 {
        let sim = simulated_rate(spec, seed);
        let got = percentile(&sim, 50.0);
        let miss = (got - target).abs();
        if best.is_none_or(|(m, _)| miss < m) {
            best = Some((miss, spec.trade_rate_per_s));
        }
        if got <= 0.0 || target <= 0.0 || miss == 0.0 {
            break;
        }
        let ratio = if round == 0 { target / got } else { (target / got).sqrt() };
        spec.trade_rate_per_s = (spec.trade_rate_per_s * ratio).clamp(1e-4, 1e4);
    }
    if let Some((_, rate)) = best {
        spec.trade_rate_per_s = rate;
    }
}

/// Hill's estimator of a Pareto tail index from the largest 10 % of `x` (at least
/// 10 values): `k / Σ ln(x_(i) / x_(k+1))` over the k largest (Hill 1975, "A simple
/// general approach to inference about the tail of a distribution"). `None` with
/// fewer than 20 positive values or when the top is all one size; clamped to the
/// simulator's range [1.05, 5].
pub fn hill_tail(x: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = x.iter().copied().filter(|q| q.is_finite() && *q > 0.0).collect();
    if v.len() < 20 {
        return None;
    }
    v.sort_by(|a, b| b.total_cmp(a));
    let k = (v.len() / 10).max(10);
    let base = v[k];
    let sum: f64 = v[..k].iter().map(|q| libm::log(q / base)).sum();
    (sum > 0.0).then(|| (k as f64 / sum).clamp(1.05, 5.0))
}

pub(super) fn simulated_rate(spec: &RegimeSpec, seed: u64) -> Vec<f64> {
    trade_counts(*spec, derive_seed(&[seed, 0x0000_7261_7465]), 2_000, RATE_WINDOW_S)
        .into_iter()
        .map(|c| c as f64 / RATE_WINDOW_S as f64)
        .collect()
}

fn rounded(s: RegimeSpec) -> RegimeSpec {
    RegimeSpec {
        vol_bps_per_sqrt_s: round6(s.vol_bps_per_sqrt_s),
        vol_of_vol: round6(s.vol_of_vol),
        vol_reversion_s: round6(s.vol_reversion_s),
        jump_rate_per_hour: round6(s.jump_rate_per_hour),
        jump_scale_bps: round6(s.jump_scale_bps),
        jump_vol_kick: round6(s.jump_vol_kick),
        drift_bps_per_s: round6(s.drift_bps_per_s),
        market_spread_bps: round6(s.market_spread_bps),
        top_depth: round6(s.top_depth),
        trade_rate_per_s: round6(s.trade_rate_per_s),
        hawkes_branching: round6(s.hawkes_branching),
        trade_size_scale: round6(s.trade_size_scale),
        trade_size_tail: round6(s.trade_size_tail),
        trade_size_spliced: s.trade_size_spliced.map(|m| SplicedSizes {
            body_log_mean: round6(m.body_log_mean),
            body_log_sd: round6(m.body_log_sd),
            threshold: round6(m.threshold),
            tail_share: round6(m.tail_share),
            tail_index: round6(m.tail_index),
        }),
        ..s
    }
}

#[cfg(test)]
mod tests {
    use super::hill_tail;

    #[test]
    fn hill_recovers_a_pareto_tail_and_refuses_what_has_none() {
        // Exact Pareto quantiles x_i = ((i + ½)/n)^(−1/α).
        for alpha in [1.4, 2.5] {
            let n = 5_000;
            let x: Vec<f64> = (0..n).map(|i| libm::pow((i as f64 + 0.5) / n as f64, -1.0 / alpha)).collect();
            let a = hill_tail(&x).unwrap();
            assert!((a - alpha).abs() < 0.05 * alpha, "α {alpha}: estimated {a}");
        }
        assert_eq!(hill_tail(&[1.0; 100]), None, "one size has no tail");
        assert_eq!(hill_tail(&[1.0, 2.0, 3.0]), None, "too few trades");
    }
}
