//! The fit report's trade-size rows: quantiles of trade size relative to the
//! touch depth (how the simulator sizes trades: `size = depth·X`), the data's
//! beside the fitted simulator's noise trades, with the data's bootstrap band.
//!
//! The data's sizes are `qty / median touch qty`; the fitted values are the exact
//! quantiles of the size the simulator draws ([`super::trade_size::noise_trade_size`]
//! at depth 1, from the exponential draw `−ln(1−p)`). The band is a moving-block
//! bootstrap over trades in arrival order (Künsch 1989): 200 resamples of blocks
//! of 50 trades, 2.5–97.5 %. Sizes come in lots (LOBSTER: a third of all trades
//! are exactly 100 shares), so a quantile's band can shrink to one value that no
//! continuous model meets exactly: a fitted value also counts as within when it
//! lies within [`SIZE_TOLERANCE`] of the band.

use super::fit::{FactRow, TickSample};
use super::trade_size::noise_trade_size;
use super::RegimeSpec;
use crate::edge::round6;
use crate::rng::{derive_seed, Rng};
use crate::stats::{percentile, percentile_sorted};

/// Relative slack around the band for trade-size quantiles (lot-sized data).
pub const SIZE_TOLERANCE: f64 = 0.05;
/// The quantiles reported, percent.
pub const SIZE_QUANTILES: [f64; 3] = [50.0, 90.0, 99.0];
const RESAMPLES: usize = 200;
const BLOCK: usize = 50;

/// The data's trade sizes relative to its median touch depth (empty when the
/// sample has no usable sizes).
pub fn relative_sizes(t: &TickSample) -> Vec<f64> {
    if t.median_touch_qty.is_nan() || t.median_touch_qty <= 0.0 {
        return Vec::new();
    }
    t.trade_qty.iter().filter(|q| q.is_finite() && **q > 0.0).map(|q| q / t.median_touch_qty).collect()
}

/// Rows `trade size pQ (× touch depth)` for [`SIZE_QUANTILES`]; empty with fewer
/// than 50 sizes. Deterministic in `seed`.
pub fn size_rows(t: &TickSample, spec: &RegimeSpec, seed: u64) -> Vec<FactRow> {
    let x = relative_sizes(t);
    if x.len() < 50 {
        return Vec::new();
    }
    let bands = bands(&x, seed);
    SIZE_QUANTILES
        .iter()
        .zip(bands)
        .map(|(&q, band)| {
            let data = percentile(&x, q);
            let fitted = noise_trade_size(spec, 1.0, -libm::log1p(-q / 100.0));
            let slack = SIZE_TOLERANCE * data.abs();
            let within = fitted >= band.0 - slack - 1e-12 && fitted <= band.1 + slack + 1e-12;
            FactRow {
                fact: format!("trade size p{q} (× touch depth)"),
                data: round6(data),
                fitted: round6(fitted),
                distance: round6(fitted - data),
                band: Some(band),
                within,
            }
        })
        .collect()
}

fn bands(x: &[f64], seed: u64) -> Vec<(f64, f64)> {
    let n = x.len();
    let block = BLOCK.min(n / 4).max(1);
    let mut rng = Rng::new(derive_seed(&[seed, 0x7369_7a65]));
    let mut per_q: Vec<Vec<f64>> = vec![Vec::with_capacity(RESAMPLES); SIZE_QUANTILES.len()];
    let mut sample = Vec::with_capacity(n + block);
    for _ in 0..RESAMPLES {
        sample.clear();
        while sample.len() < n {
            let start = (rng.uniform() * (n - block + 1) as f64) as usize;
            sample.extend_from_slice(&x[start..(start + block).min(n)]);
        }
        sample.truncate(n);
        sample.sort_by(f64::total_cmp);
        for (k, q) in SIZE_QUANTILES.iter().enumerate() {
            per_q[k].push(percentile_sorted(&sample, *q));
        }
    }
    per_q.iter().map(|s| (round6(percentile(s, 2.5)), round6(percentile(s, 97.5)))).collect()
}
