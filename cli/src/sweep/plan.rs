//! A sweep's deterministic expansion: scenarios (profile × sampled point × market ×
//! replay window × guard variant × KPI set) × seeds, each a tuned soak followed by its untuned
//! twin (the same scenario and seed with auto-tune off). Run `k` belongs to shard
//! `k mod N`, so shards get an even mix of cheap and dear runs.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use mmsoak_core::kpi::KpiThresholds;
use mmsoak_core::params::Params;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::spec::{Market, Spec};
use super::window::Window;

/// One soak of the sweep: everything the engine needs, and the labels the merge groups by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    pub index: u32,
    /// Index of the scenario (everything but the seed and auto-tune).
    pub scenario: u32,
    pub label: String,
    pub profile: String,
    pub regime: String,
    /// Sampled `[params]` values laid over the profile (empty without `[params]`).
    pub point: BTreeMap<String, f64>,
    /// The replay window's name (absent: the simulated price path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    pub guards_off: Vec<String>,
    pub kpi: KpiThresholds,
    pub seed: u64,
    pub auto_tune: bool,
    /// Starting parameters: the profile with the point laid over it.
    pub params: Params,
    #[serde(skip)]
    pub market: Option<Market>,
}

/// Hex sha256 of the spec's canonical JSON: the sweep's identity in shard files.
pub fn hash(spec: &Spec) -> String {
    let json = serde_json::to_vec(spec).unwrap_or_default();
    hex::encode(Sha256::digest(&json))
}

/// Most soaks one sweep may plan.
pub const MAX_RUNS: usize = 1_000_000;

/// Every run of the sweep, in index order.
pub fn expand(spec: &Spec) -> Result<Vec<RunSpec>> {
    let points = match &spec.sampling {
        None => vec![BTreeMap::new()],
        Some(s) => super::sample::points(s),
    };
    let twins = if spec.baseline { 2 } else { 1 };
    let windows: Vec<Option<&Window>> =
        if spec.windows.is_empty() { vec![None] } else { spec.windows.iter().map(Some).collect() };
    let total = spec.profiles.len()
        * points.len()
        * spec.markets.len()
        * windows.len()
        * spec.guards_off.len()
        * spec.kpi.len()
        * spec.seeds.len()
        * twins;
    if total > MAX_RUNS {
        bail!("the sweep expands to {total} soaks (at most {MAX_RUNS}): vary less");
    }
    let mut runs = Vec::with_capacity(total);
    let mut scenario = 0u32;
    for profile in &spec.profiles {
        for point in &points {
            let mut params = profile.params.clone();
            for (name, value) in point {
                params.set_clamped(name, *value);
            }
            for market in &spec.markets {
                for window in &windows {
                    for guards in &spec.guards_off {
                        for kpi in &spec.kpi {
                            let mut label = label(spec, &profile.name, point, &market.name, guards, kpi);
                            if let Some(w) = window {
                                label = format!("{label} / {}", w.name);
                            }
                            for &seed in &spec.seeds {
                                for tuned in [true, false].into_iter().take(twins) {
                                    runs.push(RunSpec {
                                        index: runs.len() as u32,
                                        scenario,
                                        label: label.clone(),
                                        profile: profile.name.clone(),
                                        regime: market.name.clone(),
                                        point: point.clone(),
                                        window: window.map(|w| w.name.clone()),
                                        guards_off: guards.clone(),
                                        kpi: kpi.clone(),
                                        seed,
                                        auto_tune: tuned,
                                        params: params.clone(),
                                        market: Some(market.clone()),
                                    });
                                }
                            }
                            scenario += 1;
                        }
                    }
                }
            }
        }
    }
    Ok(runs)
}

/// A scenario's name: only the axes that vary, e.g. `aggressive / volatile`.
fn label(
    spec: &Spec,
    profile: &str,
    point: &BTreeMap<String, f64>,
    regime: &str,
    guards: &[String],
    kpi: &KpiThresholds,
) -> String {
    let mut parts = vec![profile.to_string()];
    parts.extend(point.iter().map(|(k, v)| format!("{k}={v}")));
    parts.push(regime.to_string());
    if spec.guards_off.len() > 1 {
        parts.push(if guards.is_empty() { "guards on".into() } else { format!("off:{}", guards.join("+")) });
    }
    for key in &spec.kpi_varied {
        let v = match key.as_str() {
            "warn_risk_ratio" => kpi.warn_risk_ratio,
            "warn_adverse_p95" => kpi.warn_adverse_p95,
            "fail_risk_ratio" => kpi.fail_risk_ratio,
            "fail_net_bps" => kpi.fail_net_bps,
            _ => kpi.min_fills as f64,
        };
        parts.push(format!("{key}={v}"));
    }
    parts.join(" / ")
}

/// The shard a run belongs to.
pub fn shard_of(index: u32, shards: u32) -> u32 {
    index % shards
}

/// `--shard I/N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Checks `index < count` and `count ≥ 1`; `origin` names where they came from.
    pub fn new(index: u32, count: u32, origin: &str) -> Result<Shard> {
        if count == 0 {
            bail!("{origin}: the shard count must be at least 1, got 0");
        }
        if index >= count {
            bail!("{origin}: shard index {index} is out of range for {count} shards (0 to {})", count - 1);
        }
        Ok(Shard { index, count })
    }

    pub fn parse(text: &str) -> Result<Shard> {
        let origin = format!("--shard {text}");
        let Some((i, n)) = text.split_once('/') else { bail!("{origin}: expected I/N, e.g. 0/8") };
        let (Ok(i), Ok(n)) = (i.trim().parse::<u32>(), n.trim().parse::<u32>()) else {
            bail!("{origin}: expected whole numbers I/N, e.g. 0/8")
        };
        Shard::new(i, n, &origin)
    }

    /// File name of this shard's results: `shard-0003-of-0008.json`.
    pub fn file_name(&self) -> String {
        format!("shard-{:04}-of-{:04}.json", self.index, self.count)
    }

    pub fn runs<'a>(&self, all: &'a [RunSpec]) -> Vec<&'a RunSpec> {
        all.iter().filter(|r| shard_of(r.index, self.count) == self.index).collect()
    }
}

/// The env a scheduler sets: Slurm arrays, Kubernetes Indexed Jobs (with a count
/// from `--shards` or `MMSOAK_SHARD_COUNT`), or a CI matrix's `MMSOAK_SHARD_*`.
pub fn shard_from_env(get: impl Fn(&str) -> Option<String>, shards_flag: Option<u32>) -> Result<Shard> {
    let num = |name: &str| -> Result<Option<u32>> {
        match get(name) {
            None => Ok(None),
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) => Ok(Some(n)),
                Err(_) => bail!("--shard-from-env: {name}={v:?} is not a whole number"),
            },
        }
    };
    let count_from = |what: &str| -> Result<u32> {
        match (shards_flag, num("MMSOAK_SHARD_COUNT")?) {
            (Some(n), _) => Ok(n),
            (None, Some(n)) => Ok(n),
            (None, None) => {
                bail!("--shard-from-env: {what} is set but not the shard count (give --shards N or MMSOAK_SHARD_COUNT)")
            }
        }
    };
    if let Some(i) = num("SLURM_ARRAY_TASK_ID")? {
        let n = match num("SLURM_ARRAY_TASK_COUNT")? {
            Some(n) => n,
            None => count_from("SLURM_ARRAY_TASK_ID")?,
        };
        return Shard::new(i, n, "--shard-from-env (SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT)");
    }
    if let Some(i) = num("JOB_COMPLETION_INDEX")? {
        return Shard::new(i, count_from("JOB_COMPLETION_INDEX")?, "--shard-from-env (JOB_COMPLETION_INDEX)");
    }
    if let Some(i) = num("MMSOAK_SHARD_INDEX")? {
        return Shard::new(i, count_from("MMSOAK_SHARD_INDEX")?, "--shard-from-env (MMSOAK_SHARD_INDEX)");
    }
    bail!("--shard-from-env: none of SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX or MMSOAK_SHARD_INDEX is set")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_sources_in_order_and_range_checked() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        let s = shard_from_env(env(&[("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_COUNT", "8")]), None).unwrap();
        assert_eq!(s, Shard { index: 3, count: 8 });
        let s = shard_from_env(env(&[("JOB_COMPLETION_INDEX", "1")]), Some(4)).unwrap();
        assert_eq!(s, Shard { index: 1, count: 4 });
        let s = shard_from_env(env(&[("MMSOAK_SHARD_INDEX", "0"), ("MMSOAK_SHARD_COUNT", "2")]), None).unwrap();
        assert_eq!(s, Shard { index: 0, count: 2 });
        let e = shard_from_env(env(&[("SLURM_ARRAY_TASK_ID", "8"), ("SLURM_ARRAY_TASK_COUNT", "8")]), None);
        assert!(e.unwrap_err().to_string().contains("out of range"));
        assert!(shard_from_env(env(&[("JOB_COMPLETION_INDEX", "1")]), None).is_err());
        assert!(shard_from_env(env(&[]), None).is_err());
        assert!(Shard::parse("2/2").is_err() && Shard::parse("x").is_err() && Shard::parse("1/0").is_err());
    }
}
