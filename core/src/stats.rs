//! Small, exact statistics used by the simulator, the KPI gate and the tests.
//! Deterministic: sums run in a fixed order, sorting uses [`cmp_nan_last`].

use core::cmp::Ordering;

/// The order floats are sorted in: `total_cmp`, except that every NaN equals every
/// other and sorts after +∞. `total_cmp` alone puts a NaN first or last by its sign
/// bit, which WebAssembly leaves nondeterministic (docs/nan-determinism.md).
pub fn cmp_nan_last(a: &f64, b: &f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (false, false) => a.total_cmp(b),
        (a_nan, b_nan) => a_nan.cmp(&b_nan),
    }
}

/// Percentile by linear interpolation between closest ranks (numpy's default).
/// `q` in [0, 100]. Empty input gives 0.0: "no observations, nothing measured".
pub fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(cmp_nan_last);
    percentile_sorted(&sorted, q)
}

/// As [`percentile`], on already sorted input.
pub fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q.clamp(0.0, 100.0) / 100.0) * (sorted.len() - 1) as f64;
    let lo = rank as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let frac = rank - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.iter().sum::<f64>() / values.len() as f64
}

/// Ratio that is 0 when the denominator is 0.
pub fn ratio(num: f64, den: f64) -> f64 {
    if den > 0.0 {
        num / den
    } else {
        0.0
    }
}

/// Excess kurtosis (0 for a normal distribution).
pub fn excess_kurtosis(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 4 {
        return 0.0;
    }
    let m = mean(values);
    let (mut m2, mut m4) = (0.0, 0.0);
    for &v in values {
        let d = (v - m) * (v - m);
        m2 += d;
        m4 += d * d;
    }
    m2 /= n as f64;
    m4 /= n as f64;
    if m2 == 0.0 {
        return 0.0;
    }
    m4 / (m2 * m2) - 3.0
}

/// Sample autocorrelation at `lag`.
pub fn autocorrelation(values: &[f64], lag: usize) -> f64 {
    let n = values.len();
    if lag >= n {
        return 0.0;
    }
    let m = mean(values);
    let den: f64 = values.iter().map(|v| (v - m) * (v - m)).sum();
    if den == 0.0 {
        return 0.0;
    }
    let num: f64 = (0..n - lag).map(|i| (values[i] - m) * (values[i + lag] - m)).sum();
    num / den
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_interpolates_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&v, 50.0), 2.5);
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert_eq!(percentile(&v, 100.0), 4.0);
        assert!((percentile(&v, 95.0) - 3.85).abs() < 1e-12);
        assert_eq!(percentile(&[], 95.0), 0.0);
    }

    #[test]
    fn a_nans_sign_does_not_move_percentiles() {
        // As x86 hardware makes it (0/0 = −NaN) and as canonicalized wasm does (+NaN).
        let neg = [3.0, -f64::NAN, 1.0, 2.0];
        let pos = [3.0, f64::NAN, 1.0, 2.0];
        assert_eq!(percentile(&neg, 50.0), 2.5);
        assert_eq!(percentile(&pos, 50.0), 2.5);
        let mut v = [f64::NAN, 1.0, -f64::NAN, f64::NEG_INFINITY, -0.0, 0.0, f64::INFINITY];
        v.sort_by(cmp_nan_last);
        assert_eq!(&v[..5], &[f64::NEG_INFINITY, -0.0, 0.0, 1.0, f64::INFINITY]);
        assert!(v[5].is_nan() && v[6].is_nan());
    }

    #[test]
    fn ratio_handles_zero_denominator() {
        assert_eq!(ratio(3.0, 0.0), 0.0);
        assert_eq!(ratio(1.0, 4.0), 0.25);
    }

    #[test]
    fn kurtosis_and_autocorrelation_on_known_series() {
        // A constant-magnitude alternating series: kurtosis -2, lag-1 autocorrelation ≈ -1.
        let alt: Vec<f64> = (0..1000).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
        assert!((excess_kurtosis(&alt) + 2.0).abs() < 1e-9);
        assert!(autocorrelation(&alt, 1) < -0.99);
        assert!(autocorrelation(&alt, 2) > 0.99);
    }
}
