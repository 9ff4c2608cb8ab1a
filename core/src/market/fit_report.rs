//! How well a fitted simulator reproduces the data (the fit report of
//! [`super::fit`]): stylized facts of the data and of a long run of the fitted
//! simulator (at least three days of it), each with the data's own moving-block
//! bootstrap band (Künsch 1989): 200 resamples of 60-bar blocks, 2.5–97.5 %;
//! tick facts (spread, trade rate, trade sizes) within 15 %.

use serde::{Deserialize, Serialize};

use super::facts::{stylized_facts, StylizedFacts};
use super::fit::RATE_WINDOW_S;
use super::fit::{simulated_rate, simulated_returns, FitInput};
use super::regime::RegimeSpec;
use super::size_facts::size_rows;
use super::trade_size::noise_trade_size;
use crate::edge::round6;
use crate::rng::{derive_seed, Rng};
use crate::stats::percentile;

const BOOTSTRAP_RESAMPLES: usize = 200;
const BOOTSTRAP_BLOCK: usize = 60;

/// One compared fact: the data's value, its bootstrap band, the fitted simulator's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactRow {
    pub fact: String,
    pub data: f64,
    pub fitted: f64,
    /// fitted − data.
    pub distance: f64,
    /// The data's 95 % bootstrap band (absent where none is computed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub band: Option<(f64, f64)>,
    /// Whether the fitted value lies inside the band (or within 15 % where no band).
    pub within: bool,
}

/// The fit's result: the regime's numbers and how well they reproduce the data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitReport {
    pub spec: RegimeSpec,
    pub interval_s: u32,
    pub returns: usize,
    pub jumps: usize,
    pub rows: Vec<FactRow>,
    /// What could not be estimated from this data and kept its `calm` value.
    pub defaults_kept: Vec<String>,
}

fn fact_values(f: &StylizedFacts) -> Vec<(String, f64)> {
    let mut v = vec![("std (bps)".to_string(), f.std_bps), ("excess kurtosis".to_string(), f.excess_kurtosis)];
    for lag in [1usize, 5, 10] {
        v.push((format!("acf(r) lag {lag}"), f.acf_returns[lag - 1]));
    }
    for lag in [1usize, 5, 10] {
        v.push((format!("acf(|r|) lag {lag}"), f.acf_abs_returns[lag - 1]));
    }
    v
}

/// The data's moving-block bootstrap: per fact, the 2.5 and 97.5 percentiles.
fn bootstrap_bands(r: &[f64], seed: u64) -> Vec<(f64, f64)> {
    let n = r.len();
    let block = BOOTSTRAP_BLOCK.min(n / 4).max(1);
    let mut rng = Rng::new(derive_seed(&[seed, 0x0000_626f_6f74]));
    let mut samples: Vec<Vec<f64>> = Vec::new();
    for _ in 0..BOOTSTRAP_RESAMPLES {
        let mut x = Vec::with_capacity(n);
        while x.len() < n {
            let start = (rng.uniform() * (n - block + 1) as f64) as usize;
            x.extend_from_slice(&r[start..(start + block).min(n)]);
        }
        x.truncate(n);
        let f = fact_values(&stylized_facts(&x));
        if samples.is_empty() {
            samples = vec![Vec::new(); f.len()];
        }
        for (k, (_, v)) in f.into_iter().enumerate() {
            samples[k].push(v);
        }
    }
    samples.iter().map(|s| (round6(percentile(s, 2.5)), round6(percentile(s, 97.5)))).collect()
}

pub(super) fn compare(input: &FitInput, spec: &RegimeSpec, seed: u64) -> Vec<FactRow> {
    let mut rows = Vec::new();
    let r = &input.returns_bps;
    if r.len() >= 30 {
        let data = fact_values(&stylized_facts(r));
        let sim = fact_values(&stylized_facts(&simulated_returns(spec, input.interval_s, r.len(), seed)));
        let bands = bootstrap_bands(r, seed);
        for (((name, d), (_, s)), band) in data.into_iter().zip(sim).zip(bands) {
            // The fitted value counts as inside when within the band, allowing the
            // band's own rounding.
            let within = s >= band.0 - 1e-9 && s <= band.1 + 1e-9;
            rows.push(FactRow { fact: name, data: d, fitted: s, distance: round6(s - d), band: Some(band), within });
        }
    }
    if let Some(t) = &input.ticks {
        let sim_rate = simulated_rate(spec, seed);
        for q in [25.0, 50.0, 75.0] {
            let (d, s) = (percentile(&t.spread_bps, q), spec.market_spread_bps);
            rows.push(row(format!("spread p{q} (bps)"), d, s));
        }
        for q in [25.0, 50.0, 75.0] {
            let (d, s) = (percentile(&t.trade_rate, q), percentile(&sim_rate, q));
            rows.push(row(format!("trade rate p{q} (/s, {RATE_WINDOW_S} s windows)"), d, s));
        }
        let median = percentile(&t.trade_qty, 50.0);
        if median > 0.0 {
            // The fitted noise trades' quantiles relative to their median, from the
            // size the simulator draws at probability q (exponential draw −ln(1−q)).
            let model = |q: f64| noise_trade_size(spec, 1.0, -libm::log1p(-q / 100.0));
            for q in [75.0, 90.0] {
                let d = percentile(&t.trade_qty, q) / median;
                rows.push(row(format!("trade size p{q} / p50"), d, model(q) / model(50.0)));
            }
        }
        rows.extend(size_rows(t, spec, seed));
    }
    rows
}

fn row(fact: String, data: f64, fitted: f64) -> FactRow {
    let within = (fitted - data).abs() <= 0.15 * data.abs().max(1e-9);
    FactRow { fact, data: round6(data), fitted: round6(fitted), distance: round6(fitted - data), band: None, within }
}

impl FitReport {
    /// The fit report as Markdown: the regime's numbers and the facts side by side.
    pub fn markdown(&self, title: &str) -> String {
        let mut s = format!("# Market fit: {title}\n\n");
        s.push_str(&format!(
            "{} returns at {} s, {} jumps found. Fitted regime:\n\n| parameter | value |\n|---|---:|\n",
            self.returns, self.interval_s, self.jumps
        ));
        let v = serde_json::to_value(self.spec).unwrap_or_default();
        if let Some(obj) = v.as_object() {
            for (k, x) in obj {
                s.push_str(&format!("| `{k}` | {x} |\n"));
            }
        }
        if !self.defaults_kept.is_empty() {
            s.push_str(&format!(
                "\nNot identifiable from this data (kept from `calm`): {}.\n",
                self.defaults_kept.join(", ")
            ));
        }
        s.push_str("\n| fact | data | fitted simulator | distance | data's 95 % band | within |\n|---|---:|---:|---:|---|:-:|\n");
        for r in &self.rows {
            let band = r.band.map_or_else(|| "±15 %".to_string(), |(a, b)| format!("[{a:.4}, {b:.4}]"));
            // `|` inside a cell is escaped, or Markdown shifts the columns.
            s.push_str(&format!(
                "| {} | {:.4} | {:.4} | {:+.4} | {} | {} |\n",
                r.fact.replace('|', "\\|"),
                r.data,
                r.fitted,
                r.distance,
                band,
                if r.within { "✓" } else { "✗" }
            ));
        }
        s
    }
}
