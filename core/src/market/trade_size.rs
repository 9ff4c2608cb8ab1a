//! Noise-trade sizes: the built-in Pareto, or a spliced model fitted to tick data
//! (a log-normal body below a threshold `u`, a Pareto tail above it).
//!
//! The spliced (composite) distribution, all sizes in units of the touch depth:
//! `F(x) = (1−φ)·Φ((ln x − μ)/σ)/Φ((ln u − μ)/σ)` for `x ≤ u` and
//! `F(x) = 1 − φ·(x/u)^(−α)` for `x > u`, with φ the tail share (Klugman, Panjer &
//! Willmot, "Loss Models", 4th ed. 2012, §5.2.6 "splicing"; Cooray & Ananda 2005,
//! "Modeling actuarial data with a composite lognormal-Pareto model"). It is
//! drawn by inversion from the simulator's one standard exponential per trade, so
//! a regime with it consumes the random stream exactly as one without it.
//!
//! Fitted ([`fit_spliced`]) from the k largest sizes (k = 10 %, at least 10):
//! `u = x_(k+1)`, α by Hill's estimator `k / Σ ln(x_(i)/u)` (Hill 1975), φ = k/n;
//! μ, σ from the log-moments of the sizes at or below `u`, corrected for the
//! truncation at `ln u` by the method of moments for a singly truncated normal
//! (Cohen 1950, "Estimating the mean and variance of normal populations from
//! singly truncated and doubly truncated samples", Ann. Math. Stat. 21):
//! `E[y] = μ − σλ`, `Var[y] = σ²(1 − cλ − λ²)`, `c = (ln u − μ)/σ`, `λ = ϕ(c)/Φ(c)`.

use serde::{Deserialize, Serialize};

use super::RegimeSpec;

/// The spliced size model's numbers (sizes relative to the touch depth in force).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplicedSizes {
    /// μ: mean of ln(size / depth) of the (untruncated) log-normal body.
    pub body_log_mean: f64,
    /// σ: standard deviation of ln(size / depth) of the body (> 0).
    pub body_log_sd: f64,
    /// u: the size (units of depth) where the Pareto tail takes over.
    pub threshold: f64,
    /// φ: the share of trades above `threshold` (0 < φ < 1).
    pub tail_share: f64,
    /// α: the Pareto tail index above `threshold`.
    pub tail_index: f64,
}

impl SplicedSizes {
    /// The size (units of depth) whose survival probability is `e^{−e}`, for `e` a
    /// standard exponential draw: the inverse of the spliced CDF above.
    pub fn size_for(&self, e: f64) -> f64 {
        let ln_phi = libm::log(self.tail_share);
        if e >= -ln_phi {
            // Tail: (x/u)^(−α) = U/φ  =>  x = u·e^{(e + ln φ)/α}.
            return self.threshold * libm::exp((e + ln_phi) / self.tail_index);
        }
        // Body: Φ(z) = F/(1−φ) · Φ(c), with F = 1 − e^{−e} the CDF level.
        let c = (libm::log(self.threshold) - self.body_log_mean) / self.body_log_sd;
        let level = -libm::expm1(-e) / (1.0 - self.tail_share) * normal_cdf(c);
        if level <= 0.0 {
            return 0.0;
        }
        let z = normal_quantile(level.min(1.0));
        libm::exp(self.body_log_mean + self.body_log_sd * z).min(self.threshold)
    }

    /// The model's quantile at probability `p` (0 < p < 1), units of depth.
    pub fn quantile(&self, p: f64) -> f64 {
        self.size_for(-libm::log1p(-p))
    }

    /// Each number with its field name (under `spec.`) and allowed range,
    /// for [`RegimeSpec::validate`].
    pub fn ranges(&self) -> [(&'static str, f64, f64, f64); 5] {
        [
            ("trade_size_spliced.body_log_mean", self.body_log_mean, -50.0, 50.0),
            ("trade_size_spliced.body_log_sd", self.body_log_sd, 1e-6, 20.0),
            ("trade_size_spliced.threshold", self.threshold, 1e-12, 1e12),
            ("trade_size_spliced.tail_share", self.tail_share, 1e-6, 0.999_999),
            ("trade_size_spliced.tail_index", self.tail_index, 1.01, 10.0),
        ]
    }
}

/// A noise trade's size in order units, at touch depth `top`, from the standard
/// exponential draw `e`: the spliced model when the regime has one, else the
/// built-in Pareto `scale·top·e^{e/tail}` (= `U^(−1/tail)`), evaluated exactly as
/// the simulator always has so regimes without the model keep their bytes.
#[inline]
pub fn noise_trade_size(spec: &RegimeSpec, top: f64, e: f64) -> f64 {
    match &spec.trade_size_spliced {
        None => spec.trade_size_scale * top * libm::exp(e / spec.trade_size_tail),
        Some(m) => top * m.size_for(e),
    }
}

/// An upper bound on [`noise_trade_size`] (order units) without its `exp`, for
/// deciding that a trade cannot reach an order deeper in the book: the built-in
/// Pareto's `scale·top·e^y`, `y = e/tail`, with `e^y` bounded by range reduction
/// `y = k·ln 2 + r` (`0 ≤ r < ln 2`), `e^y = 2^k·e^r` and Taylor's theorem
/// `e^r ≤ Σ_{i≤4} r^i/i! + 2·r^5/5!` (Lagrange remainder, `e^ξ < 2`), widened by
/// 1e-9 relative, far beyond the rounding of either side (a few ulps).
/// `f64::INFINITY` (no bound) for the spliced model and arguments beyond 700.
pub fn noise_trade_size_at_most(spec: &RegimeSpec, top: f64, e: f64) -> f64 {
    if spec.trade_size_spliced.is_some() {
        return f64::INFINITY;
    }
    let y = e / spec.trade_size_tail;
    if !(0.0..=700.0).contains(&y) {
        return f64::INFINITY;
    }
    let k = (y * core::f64::consts::LOG2_E) as i64;
    // (A rounding may leave r a hair below 0; the bound still holds there, within the widening.)
    let r = y - k as f64 * core::f64::consts::LN_2;
    let r2 = r * r;
    let taylor = 1.0 + r + r2 * (0.5 + r * (1.0 / 6.0)) + r2 * r2 * (1.0 / 24.0 + r * (2.0 / 120.0));
    let two_k = f64::from_bits(((k + 1023) as u64) << 52);
    spec.trade_size_scale * top * (two_k * taylor) * (1.0 + 1e-9)
}

/// Φ, the standard normal CDF (via `erfc`, accurate in the lower tail).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / core::f64::consts::SQRT_2)
}

fn normal_pdf(x: f64) -> f64 {
    libm::exp(-0.5 * x * x) / (2.0 * core::f64::consts::PI).sqrt()
}

/// Φ⁻¹(p) for 0 < p < 1: Wichura's algorithm AS 241 (PPND16, relative error
/// about 1e−16; Wichura 1988, Applied Statistics 37(3), 477–484).
pub fn normal_quantile(p: f64) -> f64 {
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q * poly(&A, r) / poly(&B, r);
    }
    let r0 = if q < 0.0 { p } else { 1.0 - p };
    if r0 <= 0.0 {
        return if q < 0.0 { f64::NEG_INFINITY } else { f64::INFINITY };
    }
    // `f64::sqrt` (correctly rounded by IEEE 754, so libm's value exactly): under
    // wasm32 one instruction where libm's runs in software.
    let r = (-libm::log(r0)).sqrt();
    let v = if r <= 5.0 {
        let r = r - 1.6;
        poly(&C, r) / poly(&D, r)
    } else {
        let r = r - 5.0;
        poly(&E, r) / poly(&F, r)
    };
    if q < 0.0 {
        -v
    } else {
        v
    }
}

fn poly(c: &[f64; 8], x: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, k| acc * x + k)
}

// AS 241's coefficients, lowest power first, digits as published.
#[allow(clippy::excessive_precision)]
const A: [f64; 8] = [
    3.387_132_872_796_366_5,
    133.141_667_891_784_38,
    1_971.590_950_306_551_3,
    13_731.693_765_509_461,
    45_921.953_931_549_87,
    67_265.770_927_008_7,
    33_430.575_583_588_13,
    2_509.080_928_730_122_7,
];
#[allow(clippy::excessive_precision)]
const B: [f64; 8] = [
    1.0,
    42.313_330_701_600_91,
    687.187_007_492_057_9,
    5_394.196_021_424_751,
    21_213.794_301_586_597,
    39_307.895_800_092_71,
    28_729.085_735_721_943,
    5_226.495_278_852_545,
];
#[allow(clippy::excessive_precision)]
const C: [f64; 8] = [
    1.423_437_110_749_683_5,
    4.630_337_846_156_546,
    5.769_497_221_460_691,
    3.647_848_324_763_204_5,
    1.270_458_252_452_368_4,
    0.241_780_725_177_450_6,
    0.022_723_844_989_269_184,
    0.000_774_545_014_278_341_4,
];
#[allow(clippy::excessive_precision)]
const D: [f64; 8] = [
    1.0,
    2.053_191_626_637_759,
    1.676_384_830_183_803_8,
    0.689_767_334_985_100_1,
    0.148_103_976_427_480_08,
    0.015_198_666_563_616_457,
    0.000_547_593_808_499_534_5,
    1.050_750_071_644_416_9e-9,
];
#[allow(clippy::excessive_precision)]
const E: [f64; 8] = [
    6.657_904_643_501_103,
    5.463_784_911_164_114,
    1.784_826_539_917_291_3,
    0.296_560_571_828_504_87,
    0.026_532_189_526_576_124,
    0.001_242_660_947_388_078_4,
    2.711_555_568_743_487_6e-5,
    2.010_334_399_292_288_1e-7,
];
#[allow(clippy::excessive_precision)]
const F: [f64; 8] = [
    1.0,
    0.599_832_206_555_888,
    0.136_929_880_922_735_8,
    0.014_875_361_290_850_615,
    0.000_786_869_131_145_613_3,
    1.846_318_317_510_054_8e-5,
    1.421_511_758_316_446e-7,
    2.044_263_103_389_939_7e-15,
];

/// Fits the spliced model to sizes `x` (units of depth; non-positive and
/// non-finite values ignored). `None` with fewer than 50 sizes, when the top
/// or the body has a single size (no tail or no spread to fit), or when a number
/// would fall outside the range a regime file allows (kept to 1e-4 inside it,
/// so the report's six-decimal rounding stays valid).
pub fn fit_spliced(x: &[f64]) -> Option<SplicedSizes> {
    let mut v: Vec<f64> = x.iter().copied().filter(|q| q.is_finite() && *q > 0.0).collect();
    if v.len() < 50 {
        return None;
    }
    v.sort_by(|a, b| b.total_cmp(a));
    let n = v.len();
    let k = (n / 10).max(10);
    let u = v[k];
    let hill: f64 = v[..k].iter().map(|q| libm::log(q / u)).sum();
    if hill <= 0.0 {
        return None;
    }
    let tail_index = (k as f64 / hill).clamp(1.05, 10.0);
    let logs: Vec<f64> = v[k..].iter().map(|q| libm::log(*q)).collect();
    let m = logs.iter().sum::<f64>() / logs.len() as f64;
    let var = logs.iter().map(|y| (y - m) * (y - m)).sum::<f64>() / logs.len() as f64;
    if var <= 0.0 {
        return None;
    }
    let (mu, sd) = truncated_normal_moments(m, var.sqrt(), libm::log(u));
    let fitted =
        SplicedSizes { body_log_mean: mu, body_log_sd: sd, threshold: u, tail_share: k as f64 / n as f64, tail_index };
    let inside = |(_, v, lo, hi): &(&str, f64, f64, f64)| v.is_finite() && *v >= lo + 1e-4 && *v <= hi - 1e-4;
    fitted.ranges().iter().all(inside).then_some(fitted)
}

/// Cohen's method of moments for a normal truncated above at `t` (for this
/// exponential family also the maximum-likelihood estimate): the μ, σ whose
/// truncated mean and sd are `m`, `s`, by fixed-point iteration from the sample
/// values. Where the sample piles up at `t` (lot-sized trades at the threshold)
/// the equations have no finite solution (the likelihood climbs towards a
/// power-law body, μ, σ → ∞); σ stops at 5·s, a body already close to that limit.
fn truncated_normal_moments(m: f64, s: f64, t: f64) -> (f64, f64) {
    let (mut mu, mut sd) = (m, s);
    for _ in 0..200 {
        let c = (t - mu) / sd;
        let lambda = normal_pdf(c) / normal_cdf(c).max(1e-300);
        let shrink = 1.0 - c * lambda - lambda * lambda;
        if !(shrink > 0.0 && shrink.is_finite()) {
            break;
        }
        let sd_next = (s / shrink.sqrt()).min(5.0 * s);
        let mu_next = m + sd_next * lambda;
        let done = (sd_next - sd).abs() < 1e-12 * s && (mu_next - mu).abs() < 1e-12 * s.max(1.0);
        (mu, sd) = (mu_next, sd_next);
        if done {
            break;
        }
    }
    (mu, sd)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bound the simulator uses to skip a trade's `exp` is never below the
    /// size (else an order that fills would be skipped), and within 0.2 % of it
    /// (else the skip would rarely happen), over every regime's tail and the
    /// exponential draws' whole range, including the reduction's edges.
    #[test]
    fn the_noise_size_bound_holds_and_is_tight() {
        let mut rng = crate::rng::Rng::new(3);
        for regime in super::super::Regime::ALL {
            let spec = regime.spec();
            for k in 0..100_000 {
                let e = match k % 3 {
                    0 => rng.standard_exponential(),
                    1 => rng.uniform() * 40.0,
                    // Draws whose y = e/tail sits on a multiple of ln 2 (k changes there).
                    _ => {
                        (k % 50) as f64
                            * core::f64::consts::LN_2
                            * spec.trade_size_tail
                            * (1.0 + (rng.uniform() - 0.5) * 1e-15)
                    }
                };
                let top = 0.5 + rng.uniform() * 10.0;
                let (exact, bound) = (noise_trade_size(&spec, top, e), noise_trade_size_at_most(&spec, top, e));
                assert!(bound >= exact, "{regime:?} e {e}: bound {bound} < size {exact}");
                assert!(bound <= exact * 1.002, "{regime:?} e {e}: bound {bound} loose for {exact}");
            }
        }
        let mut spliced = super::super::Regime::Calm.spec();
        spliced.trade_size_spliced = Some(SplicedSizes {
            body_log_mean: -1.0,
            body_log_sd: 0.8,
            threshold: 1.2,
            tail_share: 0.1,
            tail_index: 1.7,
        });
        assert_eq!(noise_trade_size_at_most(&spliced, 1.0, 0.5), f64::INFINITY, "no bound for the spliced model");
    }

    #[test]
    fn the_normal_quantile_inverts_the_cdf() {
        for p in [1e-10, 0.001, 0.025, 0.3, 0.5, 0.8, 0.975, 0.999_999] {
            let z = normal_quantile(p);
            assert!((normal_cdf(z) - p).abs() < 1e-12 * p.max(1e-3), "p {p}: z {z}");
        }
        assert!((normal_quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-14);
    }

    #[test]
    fn a_spliced_sample_gives_its_parameters_back() {
        let truth =
            SplicedSizes { body_log_mean: -1.0, body_log_sd: 0.8, threshold: 1.2, tail_share: 0.1, tail_index: 1.7 };
        // Exact quantiles of the model, 20,000 of them.
        let n = 20_000;
        let x: Vec<f64> = (0..n).map(|i| truth.quantile((i as f64 + 0.5) / n as f64)).collect();
        let f = fit_spliced(&x).unwrap();
        assert!((f.threshold - 1.2).abs() < 0.01, "{f:?}");
        assert!((f.tail_index - 1.7).abs() < 0.05 * 1.7, "{f:?}");
        assert!((f.body_log_mean + 1.0).abs() < 0.05 && (f.body_log_sd - 0.8).abs() < 0.05, "{f:?}");
        for p in [0.1, 0.5, 0.9, 0.99] {
            let (a, b) = (truth.quantile(p), f.quantile(p));
            assert!((a - b).abs() < 0.05 * a, "p{p}: {a} vs {b}");
        }
        assert_eq!(fit_spliced(&[1.0; 100]), None, "one size has no tail");
        assert_eq!(fit_spliced(&[1.0, 2.0]), None, "too few");
    }

    #[test]
    fn without_the_model_sizes_are_the_built_in_pareto_bit_for_bit() {
        let spec = super::super::Regime::Calm.spec();
        for e in [0.0, 0.3, 1.0, 7.5] {
            let old = spec.trade_size_scale * 2.0 * libm::exp(e / spec.trade_size_tail);
            assert_eq!(noise_trade_size(&spec, 2.0, e).to_bits(), old.to_bits());
        }
    }
}
