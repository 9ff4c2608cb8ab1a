//! `[params]` of a sweep file: parameter ranges sampled by a grid, uniformly at
//! random, or by Latin hypercube sampling (McKay, Beckman & Conover 1979: each
//! range cut into `samples` equal strata, each stratum used exactly once per
//! parameter). Random draws come from the core's seeded xoshiro256++ (`rng.rs`),
//! never a global RNG, so the points are a pure function of the file.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use mmsoak_core::edge::round6;
use mmsoak_core::rng::{derive_seed, Rng};
use serde::{Deserialize, Serialize};

use super::spec::{check_param_name, Sampling};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Grid,
    Random,
    Lhs,
}

/// One parameter's range: `values` (grid only), or `min`..`max` with `steps`
/// grid points (grid) or continuous sampling (random, lhs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<u32>,
}

/// Most points one sampled `[params]` may expand to.
const MAX_POINTS: usize = 100_000;

fn number(v: &toml::Value) -> Option<f64> {
    match v {
        toml::Value::Float(f) => Some(*f),
        toml::Value::Integer(n) => Some(*n as f64),
        _ => None,
    }
}

/// Reads `[params]`: `method`, `samples`, `seed`, and one table per parameter.
pub fn parse(table: &toml::Table, origin: &str) -> Result<Sampling> {
    let method = match table.get("method") {
        None => Method::Grid,
        Some(toml::Value::String(s)) => match s.as_str() {
            "grid" => Method::Grid,
            "random" => Method::Random,
            "lhs" => Method::Lhs,
            _ => bail!("{origin}: params.method = {s:?}: choose grid, random or lhs"),
        },
        Some(v) => bail!("{origin}: params.method = {v}: choose \"grid\", \"random\" or \"lhs\""),
    };
    let samples = match table.get("samples") {
        None if method == Method::Grid => 0,
        None => bail!("{origin}: params.samples: missing (random and lhs need how many points)"),
        Some(toml::Value::Integer(n)) if (1..=MAX_POINTS as i64).contains(n) && method != Method::Grid => *n as u32,
        Some(v) if method == Method::Grid => bail!("{origin}: params.samples = {v}: a grid has no sample count"),
        Some(v) => bail!("{origin}: params.samples = {v}: must be a whole number from 1 to {MAX_POINTS}"),
    };
    let seed = match table.get("seed") {
        None => 1,
        Some(toml::Value::Integer(n)) if *n >= 0 => *n as u64,
        Some(v) => bail!("{origin}: params.seed = {v}: must be a whole number ≥ 0"),
    };
    let mut ranges = BTreeMap::new();
    for (key, value) in table {
        if matches!(key.as_str(), "method" | "samples" | "seed") {
            continue;
        }
        let spec = check_param_name(key, origin)?;
        let toml::Value::Table(t) = value else {
            bail!("{origin}: params.{key} = {value}: expected a table {{ min, max, steps }} or {{ values = [...] }}")
        };
        let mut range = ParamRange { values: None, min: None, max: None, steps: None };
        for (k, v) in t {
            let at = format!("{origin}: params.{key}.{k} = {v}");
            match k.as_str() {
                "values" => {
                    let toml::Value::Array(list) = v else { bail!("{at}: expected a list of numbers") };
                    let xs = list.iter().map(number).collect::<Option<Vec<f64>>>();
                    let Some(xs) = xs.filter(|xs| !xs.is_empty()) else { bail!("{at}: expected a list of numbers") };
                    range.values = Some(xs);
                }
                "min" => range.min = Some(number(v).ok_or_else(|| anyhow::anyhow!("{at}: must be a number"))?),
                "max" => range.max = Some(number(v).ok_or_else(|| anyhow::anyhow!("{at}: must be a number"))?),
                "steps" => match v {
                    toml::Value::Integer(n) if (1..=1000).contains(n) => range.steps = Some(*n as u32),
                    _ => bail!("{at}: must be a whole number from 1 to 1000"),
                },
                _ => bail!("{origin}: params.{key}.{k}: unknown key (known: values, min, max, steps)"),
            }
        }
        let in_bounds = |x: f64| x.is_finite() && x >= spec.min && x <= spec.max;
        let whole = |x: f64| !spec.integer || x.fract() == 0.0;
        match (&range.values, range.min, range.max) {
            (Some(_), _, _) if method != Method::Grid => {
                bail!("{origin}: params.{key}.values: only a grid takes a list of values (give min and max)")
            }
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                bail!("{origin}: params.{key}: give either values or min/max, not both")
            }
            (Some(xs), None, None) => {
                for x in xs {
                    if !in_bounds(*x) || !whole(*x) {
                        bail!(
                            "{origin}: params.{key}.values: {x} is outside [{}, {}] or not allowed",
                            spec.min,
                            spec.max
                        );
                    }
                }
            }
            (None, Some(lo), Some(hi)) => {
                if !in_bounds(lo) {
                    bail!("{origin}: params.{key}.min = {lo}: outside the bounds [{}, {}]", spec.min, spec.max);
                }
                if !in_bounds(hi) || hi < lo {
                    bail!("{origin}: params.{key}.max = {hi}: must be within [{lo}, {}]", spec.max);
                }
                if method == Method::Grid && range.steps.is_none() {
                    bail!("{origin}: params.{key}.steps: missing (a grid needs how many points from min to max)");
                }
            }
            _ => bail!("{origin}: params.{key}: give min and max (or values for a grid)"),
        }
        ranges.insert(key.clone(), range);
    }
    if ranges.is_empty() {
        bail!("{origin}: params: no parameter ranges given");
    }
    let sampling = Sampling { method, samples, seed, ranges };
    let n = points(&sampling).len();
    if n > MAX_POINTS {
        bail!("{origin}: params: the grid has {n} points (at most {MAX_POINTS})");
    }
    Ok(sampling)
}

/// Rounds a sampled value as the parameter stores it (integers whole, others to 6 decimals).
fn store(name: &str, x: f64) -> f64 {
    match mmsoak_core::params::spec(name) {
        Some(s) if s.integer => x.round(),
        _ => round6(x),
    }
}

/// The sampled points, each a map parameter → value, in a deterministic order
/// (a grid varies the last parameter fastest, names in sorted order).
pub fn points(s: &Sampling) -> Vec<BTreeMap<String, f64>> {
    match s.method {
        Method::Grid => {
            let mut out = vec![BTreeMap::new()];
            for (name, r) in &s.ranges {
                let levels: Vec<f64> = match (&r.values, r.min, r.max) {
                    (Some(xs), _, _) => xs.clone(),
                    (None, Some(lo), Some(hi)) => {
                        let n = r.steps.unwrap_or(1).max(1);
                        if n == 1 {
                            vec![lo]
                        } else {
                            (0..n).map(|k| lo + (hi - lo) * k as f64 / (n - 1) as f64).collect()
                        }
                    }
                    _ => Vec::new(),
                };
                if out.len().saturating_mul(levels.len()) > MAX_POINTS + 1 {
                    return vec![BTreeMap::new(); MAX_POINTS + 1]; // parse() reports the size
                }
                out = out
                    .into_iter()
                    .flat_map(|p| {
                        levels.iter().map(move |&x| {
                            let mut q = p.clone();
                            q.insert(name.clone(), store(name, x));
                            q
                        })
                    })
                    .collect();
            }
            out
        }
        Method::Random => {
            let mut rng = Rng::new(derive_seed(&[s.seed, 0x0053_5745_4550]));
            (0..s.samples)
                .map(|_| {
                    s.ranges
                        .iter()
                        .map(|(name, r)| {
                            let (lo, hi) = (r.min.unwrap_or(0.0), r.max.unwrap_or(0.0));
                            (name.clone(), store(name, lo + (hi - lo) * rng.uniform()))
                        })
                        .collect()
                })
                .collect()
        }
        Method::Lhs => {
            let n = s.samples as usize;
            let mut out = vec![BTreeMap::new(); n];
            for (d, (name, r)) in s.ranges.iter().enumerate() {
                let mut rng = Rng::new(derive_seed(&[s.seed, 0x004C_4853, d as u64]));
                // Fisher–Yates permutation of the strata.
                let mut perm: Vec<usize> = (0..n).collect();
                for k in (1..n).rev() {
                    let j = (rng.next_u64() % (k as u64 + 1)) as usize;
                    perm.swap(k, j);
                }
                let (lo, hi) = (r.min.unwrap_or(0.0), r.max.unwrap_or(0.0));
                for (k, point) in out.iter_mut().enumerate() {
                    let u = (perm[k] as f64 + rng.uniform()) / n as f64;
                    point.insert(name.clone(), store(name, lo + (hi - lo) * u));
                }
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sampling(text: &str) -> Sampling {
        parse(&text.parse::<toml::Table>().unwrap(), "t.toml").unwrap()
    }

    #[test]
    fn grid_is_the_product_last_name_fastest() {
        let s =
            sampling("base_spread_bps = { min = 4.0, max = 8.0, steps = 3 }\nmin_interval_ms = { values = [50, 100] }");
        let p = points(&s);
        assert_eq!(p.len(), 6);
        assert_eq!(p[0]["base_spread_bps"], 4.0);
        assert_eq!(p[1]["min_interval_ms"], 100.0);
        assert_eq!(p[2]["base_spread_bps"], 6.0);
    }

    #[test]
    fn lhs_uses_every_stratum_once_and_is_seeded() {
        let s = sampling("method = \"lhs\"\nsamples = 10\nseed = 3\ninventory_skew = { min = 0.0, max = 1.0 }");
        let p = points(&s);
        let mut strata: Vec<usize> = p.iter().map(|q| (q["inventory_skew"] * 10.0) as usize).collect();
        strata.sort();
        assert_eq!(strata, (0..10).collect::<Vec<_>>());
        assert_eq!(p, points(&s));
        let other = sampling("method = \"lhs\"\nsamples = 10\nseed = 4\ninventory_skew = { min = 0.0, max = 1.0 }");
        assert_ne!(p, points(&other));
    }

    #[test]
    fn random_stays_in_range_and_integers_are_whole() {
        let s = sampling("method = \"random\"\nsamples = 50\ntail_age_ms = { min = 300, max = 900 }");
        for q in points(&s) {
            let x = q["tail_age_ms"];
            assert!((300.0..=900.0).contains(&x) && x.fract() == 0.0, "{x}");
        }
    }

    #[test]
    fn errors_name_the_key_and_value() {
        let bad = |t: &str| parse(&t.parse::<toml::Table>().unwrap(), "t.toml").unwrap_err().to_string();
        assert!(bad("spread = { min = 1, max = 2, steps = 2 }").contains("params.spread"));
        assert!(bad("base_spread_bps = { min = 1.0, max = 8.0, steps = 2 }").contains("params.base_spread_bps.min = 1"));
        assert!(bad("method = \"sobol\"\nx = 1").contains("params.method = \"sobol\""));
        assert!(bad("method = \"lhs\"\nbase_spread_bps = { min = 4.0, max = 8.0 }").contains("params.samples"));
    }
}
