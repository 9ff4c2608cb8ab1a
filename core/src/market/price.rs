//! The mid-price process: stochastic log-volatility with jumps that kick volatility
//! up (clustering and fat tails), optional drift, flash crashes and liquidity gaps;
//! or, in replay, a path through real OHLC bars.

use super::regime::{Regime, RegimeSpec};
use super::replay::Bar;
use super::sim::STEP_MS;
use super::MarketConfig;
use crate::rng::Rng;

const DT_S: f64 = STEP_MS as f64 / 1000.0;
const STEPS_PER_MINUTE: u64 = 60_000 / STEP_MS;

/// What the market looks like during one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarketTick {
    /// Log-return of the mid over this step, in bps (diffusion and jumps).
    pub ret_bps: f64,
    /// Multiplier on the book's depth (< 1 in liquidity gaps and crashes).
    pub depth_factor: f64,
    /// Multiplier on the market's own spread.
    pub spread_factor: f64,
    /// Multiplier on the trade arrival rate.
    pub activity: f64,
}

#[derive(Debug, Clone, Copy)]
struct Crash {
    start: u64,
    drop_steps: u64,
    recover_steps: u64,
    drop_bps: f64,
    recover_frac: f64,
}

/// The mid for one iteration, advanced step by step.
#[derive(Debug, Clone)]
pub struct PricePath {
    spec: RegimeSpec,
    mid: f64,
    log_vol: f64,
    drift_bps_per_step: f64,
    crash: Option<Crash>,
    gap_until: u64,
    step: u64,
    /// Replay: bars, the step each opens at (relative to the window's start, so
    /// negative for a bar that began before it), and the intra-bar anchors of
    /// the current bar.
    bars: Vec<Bar>,
    bar_starts: Vec<i64>,
    steps_per_bar: i64,
    /// The bar whose anchors are set, and the next bar not yet entered.
    current: Option<usize>,
    next_bar: usize,
    mean_volume: f64,
    anchors: [(i64, f64); 4],
    vol_decay: f64,
    vol_noise: f64,
    /// `e^vol_mult_at`, carried from step to step (see [`PricePath::update_vol_mult`]).
    vol_mult: f64,
    /// The log-volatility `vol_mult` belongs to.
    vol_mult_at: f64,
    /// Steps since `vol_mult` was last computed by `libm::exp` directly.
    since_exact: u32,
    /// Per-step chances of a liquidity gap opening and of a jump: `spec`'s hourly
    /// rates by the same operations as before, divided once instead of every step.
    gap_prob: f64,
    jump_prob: f64,
}

impl PricePath {
    /// The path for a window of `total_steps` steps with `spec`'s numbers; in replay
    /// (`market.bars` non-empty) a path through the bars at their true times.
    pub fn new(spec: RegimeSpec, market: &MarketConfig, total_steps: u64, rng: &mut Rng) -> Self {
        let bars = &market.bars;
        let drift_sign = if rng.bernoulli(0.5) { 1.0 } else { -1.0 };
        let crash = rng.bernoulli(spec.flash_crash_prob).then(|| {
            let drop_steps = (20_000 / STEP_MS) + (rng.uniform() * (40_000 / STEP_MS) as f64) as u64;
            Crash {
                start: (total_steps as f64 * (0.1 + 0.5 * rng.uniform())) as u64,
                drop_steps,
                recover_steps: drop_steps * 4,
                drop_bps: 150.0 + 250.0 * rng.uniform(),
                recover_frac: 0.4 + 0.4 * rng.uniform(),
            }
        });
        let (start_s, interval_s) = match (market.clock, bars.first()) {
            (Some(c), _) => (c.start, c.interval_s),
            (None, Some(b)) => (b.timestamp, 60),
            (None, None) => (0, 60),
        };
        let steps_per_s = 1000 / STEP_MS as i64;
        let steps_per_bar = interval_s as i64 * steps_per_s;
        let bar_starts: Vec<i64> = bars.iter().map(|b| (b.timestamp - start_s) * steps_per_s).collect();
        // Activity is relative to the window's own bars (not the one before a gap, not the look-ahead).
        let window_steps = market.iteration_seconds as i64 * steps_per_s;
        let own: Vec<f64> = bars
            .iter()
            .zip(&bar_starts)
            .filter(|(_, &st)| st + steps_per_bar > 0 && st < window_steps)
            .map(|(b, _)| b.volume)
            .collect();
        let mean_volume = if own.is_empty() { 1.0 } else { (own.iter().sum::<f64>() / own.len() as f64).max(1e-9) };
        let vol_decay = 1.0 - DT_S / spec.vol_reversion_s;
        let vol_noise = spec.vol_of_vol * (DT_S / 60.0).sqrt();
        let mut path = PricePath {
            spec,
            mid: 100.0,
            // Start volatility from its stationary distribution, not its mean.
            log_vol: rng.normal() * spec.vol_of_vol * (spec.vol_reversion_s / 120.0).sqrt(),
            drift_bps_per_step: drift_sign * spec.drift_bps_per_s * DT_S,
            crash,
            gap_until: 0,
            step: 0,
            bars: bars.to_vec(),
            bar_starts,
            steps_per_bar,
            current: None,
            next_bar: 0,
            mean_volume,
            anchors: [(0, 0.0); 4],
            vol_decay,
            vol_noise,
            vol_mult: 1.0,
            vol_mult_at: 0.0,
            since_exact: 0,
            gap_prob: spec.gap_rate_per_hour * DT_S / 3600.0,
            jump_prob: spec.jump_rate_per_hour * DT_S / 3600.0,
        };
        path.vol_mult = libm::exp(path.log_vol);
        path.vol_mult_at = path.log_vol;
        if !path.bars.is_empty() {
            path.mid = path.bars[0].open;
            path.enter_bars(0, rng);
            match path.current {
                Some(k) if path.covers(k, 0) => path.mid = path.anchor_value(0),
                // The window opens in a gap: the mid is where the last bar closed.
                Some(k) => path.mid = path.bars[k].close,
                None => {}
            }
        }
        path
    }

    pub fn mid(&self) -> f64 {
        self.mid
    }

    pub fn spec(&self) -> &RegimeSpec {
        &self.spec
    }

    /// Enters every bar that has opened by `step`; sets anchors for the last one.
    fn enter_bars(&mut self, step: i64, rng: &mut Rng) {
        let before = self.next_bar;
        while self.next_bar < self.bars.len() && self.bar_starts[self.next_bar] <= step {
            self.next_bar += 1;
        }
        if self.next_bar > before {
            let k = self.next_bar - 1;
            self.current = Some(k);
            if self.covers(k, step) {
                self.set_bar_anchors(k, rng);
            }
        }
    }

    fn covers(&self, k: usize, step: i64) -> bool {
        self.bar_starts[k] <= step && step < self.bar_starts[k] + self.steps_per_bar
    }

    /// Open → first extreme → second extreme → close, the extremes' order chosen
    /// by the bar's direction, their times drawn at random.
    fn set_bar_anchors(&mut self, k: usize, rng: &mut Rng) {
        let b = self.bars[k];
        let start = self.bar_starts[k];
        let n = self.steps_per_bar as f64;
        let t1 = start + (n * (0.1 + 0.3 * rng.uniform())) as i64;
        let t2 = start + (n * (0.5 + 0.4 * rng.uniform())) as i64;
        let (e1, e2) = if b.close >= b.open { (b.low, b.high) } else { (b.high, b.low) };
        self.anchors = [(start, b.open), (t1, e1), (t2, e2), (start + self.steps_per_bar, b.close)];
    }

    /// The anchors' piecewise-linear path at `step` (no noise).
    fn anchor_value(&self, step: i64) -> f64 {
        let seg = self.anchors.windows(2).find(|w| step <= w[1].0).unwrap_or(&self.anchors[2..4]);
        let ((t0, p0), (t1, p1)) = (seg[0], seg[1]);
        let frac = if t1 > t0 { (step - t0) as f64 / (t1 - t0) as f64 } else { 1.0 };
        p0 + (p1 - p0) * frac.clamp(0.0, 1.0)
    }

    /// Advances one step; returns the tick. The mid after the step is [`Self::mid`].
    #[inline(always)]
    pub fn advance(&mut self, rng: &mut Rng) -> MarketTick {
        let tick = if self.bars.is_empty() { self.synthetic_step(rng) } else { self.replay_step_on_copy(rng) };
        self.step += 1;
        tick
    }

    /// [`Self::replay_step`] out of line on a copy of the path (its bars moved
    /// over, the rest copied) and of the generator, for `Rng::on_copy`'s reason:
    /// under wasm a path whose address reached an out-of-line call would live in
    /// linear memory, and the synthetic step would load and store its fields there.
    #[inline(always)]
    fn replay_step_on_copy(&mut self, rng: &mut Rng) -> MarketTick {
        let mut copy = PricePath {
            bars: std::mem::take(&mut self.bars),
            bar_starts: std::mem::take(&mut self.bar_starts),
            ..*self
        };
        let tick = rng.on_copy(|r| copy.replay_step(r));
        *self = copy;
        tick
    }

    #[inline(always)]
    fn synthetic_step(&mut self, rng: &mut Rng) -> MarketTick {
        let s = self.spec;
        let mut depth_factor = 1.0;
        let mut spread_factor = 1.0;
        let mut activity = 1.0;
        // Liquidity gaps open at random and last ~20 s.
        if self.step >= self.gap_until && rng.bernoulli(self.gap_prob) {
            self.gap_until = self.step + (rng.exponential(20.0) / DT_S) as u64 + 1;
        }
        if self.step < self.gap_until {
            depth_factor = 0.15;
            spread_factor = 5.0;
            activity = 0.6;
        }
        self.log_vol = self.log_vol * self.vol_decay + self.vol_noise * rng.normal();
        let mut vol_mult = self.update_vol_mult();
        let mut ret = self.drift_bps_per_step;
        if let Some(c) = self.crash {
            let k = self.step.wrapping_sub(c.start);
            if self.step >= c.start && k < c.drop_steps {
                ret -= c.drop_bps / c.drop_steps as f64;
                vol_mult *= 4.0;
                depth_factor *= 0.25;
                spread_factor *= 4.0;
                activity *= 3.0;
            } else if self.step >= c.start && k < c.drop_steps + c.recover_steps {
                ret += c.drop_bps * c.recover_frac / c.recover_steps as f64;
                vol_mult *= 2.0;
                depth_factor *= 0.6;
                spread_factor *= 2.0;
                activity *= 1.5;
            }
        }
        ret += s.vol_bps_per_sqrt_s * vol_mult * DT_S.sqrt() * rng.normal();
        if rng.bernoulli(self.jump_prob) {
            let size = rng.exponential(s.jump_scale_bps);
            ret += if rng.bernoulli(0.5) { size } else { -size };
            self.log_vol += s.jump_vol_kick;
        }
        self.mid *= exp_small(ret / 1e4);
        MarketTick { ret_bps: ret, depth_factor, spread_factor, activity: activity * vol_mult.sqrt() }
    }

    /// `e^log_vol`: the last value times `e^Δ` (a short polynomial, exact
    /// operations) while the change since it is small, recomputed by `libm::exp`
    /// after a jump's kick and every second of steps, so rounding cannot build up
    /// (it stays within ~1e-14 relative of `libm::exp(log_vol)`).
    fn update_vol_mult(&mut self) -> f64 {
        const EXACT_EVERY: u32 = 1000 / STEP_MS as u32;
        let delta = self.log_vol - self.vol_mult_at;
        self.vol_mult_at = self.log_vol;
        if self.since_exact < EXACT_EVERY && delta.abs() <= EXP_MEDIUM {
            self.since_exact += 1;
            self.vol_mult *= exp_medium(delta);
        } else {
            self.since_exact = 0;
            self.vol_mult = libm::exp(self.log_vol);
        }
        self.vol_mult
    }

    #[inline(never)]
    fn replay_step(&mut self, rng: &mut Rng) -> MarketTick {
        let step = self.step as i64;
        self.enter_bars(step, rng);
        let Some(k) = self.current.filter(|&k| self.covers(k, step)) else {
            // No bar: time without trading. The mid waits for the next bar.
            return MarketTick { ret_bps: 0.0, depth_factor: 1.0, spread_factor: 1.0, activity: 0.0 };
        };
        let bar = self.bars[k];
        // Linear path between anchors plus noise scaled to the bar's range, kept inside [low, high].
        let noise = (bar.high - bar.low) * 0.02 * rng.normal();
        let target = (self.anchor_value(step + 1) + noise).clamp(bar.low, bar.high);
        let ret = libm::log(target / self.mid) * 1e4;
        self.mid = target;
        // A bar without volume had no trades: no market flow at all.
        let activity = if bar.volume > 0.0 { (bar.volume / self.mean_volume).clamp(0.2, 5.0) } else { 0.0 };
        MarketTick { ret_bps: ret, depth_factor: 1.0, spread_factor: 1.0, activity }
    }
}

/// `e^x`: for `|x| ≤ 2^-10` (a step's return, almost always) its Taylor polynomial
/// of degree 5 (Estrin's scheme), in exact IEEE operations only, so every platform
/// gets the same bits; the remainder `|x|^6/720 < 2^-66` and the rounding (a few
/// ulps of 1) keep it within 2 ulps of e^x. Larger `x` (jumps, crashes) go to
/// `libm::exp`. About three times cheaper than `libm::exp` on this path.
fn exp_small(x: f64) -> f64 {
    const SMALL: f64 = 1.0 / 1024.0;
    if x.abs() <= SMALL {
        // Estrin's scheme: the same polynomial with a shorter dependency chain.
        let x2 = x * x;
        (1.0 + x) + x2 * ((0.5 + x * (1.0 / 6.0)) + x2 * (1.0 / 24.0 + x * (1.0 / 120.0)))
    } else {
        libm::exp(x)
    }
}

/// Where [`exp_medium`]'s polynomial holds.
const EXP_MEDIUM: f64 = 1.0 / 32.0;

/// `e^x` for `|x| ≤ 2^-5` by its Taylor polynomial of degree 7 (Estrin's scheme,
/// exact operations): the remainder `|x|^8/8! < 2^-55`, the rounding a few ulps.
fn exp_medium(x: f64) -> f64 {
    let x2 = x * x;
    let x4 = x2 * x2;
    let low = (1.0 + x) + x2 * (0.5 + x * (1.0 / 6.0));
    let high = (1.0 / 24.0 + x * (1.0 / 120.0)) + x2 * (1.0 / 720.0 + x * (1.0 / 5040.0));
    low + x4 * high
}

/// One-minute log-returns (bps) of a long synthetic run: the input to stylized-fact checks.
pub fn minute_returns(regime: Regime, seed: u64, minutes: u32) -> Vec<f64> {
    minute_returns_for(&MarketConfig::synthetic(regime), seed, minutes)
}

/// [`minute_returns`] for any market: a named regime or a fitted one (`market.spec`).
pub fn minute_returns_for(market: &MarketConfig, seed: u64, minutes: u32) -> Vec<f64> {
    let regime = market.regime;
    let synthetic = |r: Regime| MarketConfig { regime: r, ..MarketConfig::synthetic(r) };
    let mut rng = Rng::new(seed);
    let steps = minutes as u64 * STEPS_PER_MINUTE;
    let mut out = Vec::with_capacity(minutes as usize);
    let mut hour_regime = regime;
    let first = regime.resolve(seed, 1, 1);
    let mut path = PricePath::new(market.spec_for(first), &synthetic(first), steps, &mut rng);
    let mut acc = 0.0;
    for step in 0..steps {
        if regime == Regime::Mixed && step % (60 * STEPS_PER_MINUTE) == 0 {
            let r = regime.resolve(seed, (step / (60 * STEPS_PER_MINUTE)) as u32 + 1, 1);
            if r != hour_regime {
                hour_regime = r;
                let mid = path.mid;
                let log_vol = path.log_vol;
                path = PricePath::new(r.spec(), &synthetic(r), steps - step, &mut rng);
                path.mid = mid;
                path.log_vol = log_vol;
            }
        }
        acc += path.advance(&mut rng).ret_bps;
        if (step + 1) % STEPS_PER_MINUTE == 0 {
            out.push(acc);
            acc = 0.0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The polynomial agrees with libm's `exp` to 2 ulps across its whole range
    /// and is libm's `exp` outside it.
    #[test]
    fn exp_small_matches_libm() {
        let mut rng = Rng::new(5);
        for k in 0..200_000 {
            let x = (2.0 * rng.uniform() - 1.0) / 1024.0 * if k % 2 == 0 { 1.0 } else { 1e-3 };
            let (a, b) = (exp_small(x), libm::exp(x));
            assert!((a - b).abs() <= 2.0 * f64::EPSILON * b, "x = {x}: {a} vs {b}");
        }
        for x in [0.0, 1.0 / 1024.0, -1.0 / 1024.0] {
            assert!((exp_small(x) - libm::exp(x)).abs() <= 2.0 * f64::EPSILON);
        }
        assert_eq!(exp_small(0.01), libm::exp(0.01));
        for k in 0..200_000 {
            let x = (2.0 * rng.uniform() - 1.0) * EXP_MEDIUM * if k % 2 == 0 { 1.0 } else { 1e-3 };
            let (a, b) = (exp_medium(x), libm::exp(x));
            assert!((a - b).abs() <= 2.0 * f64::EPSILON * b, "x = {x}: {a} vs {b}");
        }
        assert_eq!(exp_small(-0.5), libm::exp(-0.5));
    }

    /// The carried volatility multiplier never drifts from `e^log_vol`, through
    /// jumps and a flash crash, in every regime.
    #[test]
    fn carried_vol_mult_stays_at_exp_log_vol() {
        for regime in Regime::ALL {
            let market = MarketConfig::synthetic(regime);
            let mut rng = Rng::new(9);
            let mut path = PricePath::new(regime.spec(), &market, 200_000, &mut rng);
            for _ in 0..200_000 {
                path.advance(&mut rng);
                let exact = libm::exp(path.vol_mult_at);
                // It belongs to this step's log-volatility, before any jump's kick.
                let kicked = path.log_vol - path.vol_mult_at;
                assert!(kicked == 0.0 || (kicked - regime.spec().jump_vol_kick).abs() < 1e-12, "{kicked}");
                assert!((path.vol_mult - exact).abs() <= 1e-13 * exact, "{regime:?}: {} vs {exact}", path.vol_mult);
            }
        }
    }
}
