//! The sweep file (TOML): what varies across a sweep's soaks, read and checked
//! into a [`Spec`] — every name resolved (profiles to parameters, regime files to
//! their numbers) so that the spec alone determines every run, and its hash
//! identifies the sweep in every shard file.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use mmsoak_core::kpi::KpiThresholds;
use mmsoak_core::market::{Regime, RegimeSpec};
use mmsoak_core::params::{spec as param_spec, Params, APPLY_BOUNDS};
use mmsoak_core::soak::GuardSwitches;
use serde::{Deserialize, Serialize};

use super::sample::{Method, ParamRange};

/// Metrics a sweep can keep in its results table, in column order.
pub const METRICS: [&str; 9] = [
    "net_bps_mean",
    "net_bps_median",
    "risk_ratio_mean",
    "adverse_p95_mean",
    "slippage_p95_mean",
    "fills",
    "applied_count",
    "final_params",
    "series",
];
/// Kept when the file does not say (`series`, the per-iteration values, is long).
const DEFAULT_METRICS: [&str; 8] = [
    "net_bps_mean",
    "net_bps_median",
    "risk_ratio_mean",
    "adverse_p95_mean",
    "slippage_p95_mean",
    "fills",
    "applied_count",
    "final_params",
];
/// More seeds (or KPI threshold sets) than any sweep runs: a typo like `count = 1000000`
/// must be one clear error, not an hour of planning or an out-of-memory abort.
const MAX_SEEDS: usize = 10_000;
const MAX_KPI_SETS: usize = 1_000;
const KPI_KEYS: [&str; 5] = ["warn_risk_ratio", "warn_adverse_p95", "fail_risk_ratio", "fail_net_bps", "min_fills"];

/// The sweep file as written. Unknown keys are errors (a typo must not silently
/// shrink a sweep).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: String,
    iterations: u32,
    #[serde(default = "default_iteration_seconds")]
    iteration_seconds: u32,
    seeds: Seeds,
    regimes: Vec<String>,
    #[serde(default = "default_profiles")]
    profiles: Vec<String>,
    #[serde(default)]
    profile: BTreeMap<String, toml::Table>,
    #[serde(default = "yes")]
    baseline: bool,
    #[serde(default = "no_guards_off")]
    guards_off: Vec<Vec<String>>,
    #[serde(default)]
    kpi: toml::Table,
    #[serde(default)]
    params: Option<toml::Table>,
    #[serde(default)]
    judge: JudgeFile,
    #[serde(default)]
    metrics: Option<Vec<String>>,
    #[serde(default)]
    replay: Vec<super::window::ReplayFile>,
}

fn default_iteration_seconds() -> u32 {
    900
}
fn default_profiles() -> Vec<String> {
    vec!["steady_safe".into()]
}
fn yes() -> bool {
    true
}
fn no_guards_off() -> Vec<Vec<String>> {
    vec![Vec::new()]
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Seeds {
    List(Vec<u64>),
    Range { first: u64, count: u32 },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct JudgeFile {
    hold_iterations: Option<u32>,
    alpha: Option<f64>,
    bad_fail_share: Option<f64>,
}

/// How the merge judges rescue and harm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Judge {
    /// Rescue: the tuned run's last `hold_iterations` verdicts are all PASS or WARN.
    pub hold_iterations: u32,
    /// Harm: Mann-Whitney two-sided p-value below this, tuned worse than untuned.
    pub alpha: f64,
    /// A start is bad when its untuned twin FAILs in more than this share of iterations.
    pub bad_fail_share: f64,
}

/// A starting profile: its name as the sweep file gives it and its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub name: String,
    pub params: Params,
}

/// A market: a named regime (`spec` absent) or a fitted regime file's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Market {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<RegimeSpec>,
}

/// Parameter ranges to sample, laid over every profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    pub method: Method,
    /// Random and Latin hypercube: how many points.
    pub samples: u32,
    /// Seed of the sampler's own PRNG.
    pub seed: u64,
    pub ranges: BTreeMap<String, ParamRange>,
}

/// A checked, fully resolved sweep. Its canonical JSON is what [`super::plan::hash`] hashes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    pub name: String,
    pub iterations: u32,
    pub iteration_seconds: u32,
    pub seeds: Vec<u64>,
    pub markets: Vec<Market>,
    pub profiles: Vec<Profile>,
    pub baseline: bool,
    pub guards_off: Vec<Vec<String>>,
    /// KPI threshold sets; more than one when a `[kpi]` key lists values.
    pub kpi: Vec<KpiThresholds>,
    /// The `[kpi]` keys that vary (named in scenario labels).
    pub kpi_varied: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling: Option<Sampling>,
    pub judge: Judge,
    pub metrics: Vec<String>,
    /// `[[replay]]` windows of real bars; empty: every soak simulates its price path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<super::window::Window>,
}

/// Reads and checks a sweep file. Errors name the file, the key and the bad value.
pub fn load(path: &Path) -> Result<Spec> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read sweep file {}", path.display()))?;
    parse(&text, path)
}

pub fn parse(text: &str, path: &Path) -> Result<Spec> {
    let origin = path.display().to_string();
    let de = toml::Deserializer::new(text);
    let file: File = serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        let line = inner.span().and_then(|s| text.get(..s.start)).map(|t| t.matches('\n').count() + 1);
        let at = line.map_or(String::new(), |l| format!("line {l}: "));
        let mut msg = inner.message().trim().to_string();
        if msg.contains("untagged enum Seeds") {
            let found = inner.span().and_then(|s| text.get(s)).unwrap_or("?").trim().to_string();
            msg = format!("{found}: expected a list of seeds [1, 2, 3] or {{ first = 1, count = 10 }}");
        }
        anyhow::anyhow!("{origin}: {at}key {key}: {msg}")
    })?;
    let base = path.parent().unwrap_or(Path::new(""));
    let err = |key: &str, what: String| anyhow::anyhow!("{origin}: {key}: {what}");

    if file.name.trim().is_empty() || file.name.len() > 64 {
        return Err(err("name", format!("{:?} must be 1 to 64 characters", file.name)));
    }
    if !(1..=10_000).contains(&file.iterations) {
        return Err(err("iterations", format!("{} must be between 1 and 10000", file.iterations)));
    }
    if !(1..=86_400).contains(&file.iteration_seconds) {
        return Err(err("iteration_seconds", format!("{} must be between 1 and 86400", file.iteration_seconds)));
    }
    let seeds = match file.seeds {
        Seeds::List(list) if list.len() > MAX_SEEDS => {
            return Err(err("seeds", format!("{} seeds: at most {MAX_SEEDS}", list.len())));
        }
        Seeds::Range { count, .. } if count as usize > MAX_SEEDS => {
            return Err(err("seeds", format!("count = {count}: at most {MAX_SEEDS}")));
        }
        Seeds::List(list) => list,
        Seeds::Range { first, count } => (0..count as u64).map(|k| first.wrapping_add(k)).collect(),
    };
    if seeds.is_empty() {
        return Err(err("seeds", "no seeds: give a list or { first = 1, count = 10 }".into()));
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some(d) = seeds.iter().find(|s| !seen.insert(**s)) {
        return Err(err("seeds", format!("seed {d} is listed twice")));
    }
    if file.regimes.is_empty() {
        return Err(err("regimes", "no regimes given".into()));
    }
    let markets =
        file.regimes.iter().enumerate().map(|(i, r)| market(r, base, &origin, i)).collect::<Result<Vec<_>>>()?;
    if let Some(d) = first_duplicate(&file.regimes) {
        return Err(err("regimes", format!("{d:?} is listed twice")));
    }
    if file.profiles.is_empty() {
        return Err(err("profiles", "no profiles given".into()));
    }
    if let Some(d) = first_duplicate(&file.profiles) {
        return Err(err("profiles", format!("{d:?} is listed twice")));
    }
    let mut profiles = Vec::new();
    for (i, name) in file.profiles.iter().enumerate() {
        profiles.push(Profile { name: name.clone(), params: profile(name, &file.profile, base, &origin, i)? });
    }
    for name in file.profile.keys() {
        if !file.profiles.contains(name) {
            return Err(err(&format!("profile.{name}"), "defined but not listed in profiles".into()));
        }
    }
    if file.guards_off.is_empty() {
        return Err(err("guards_off", "give at least one variant ([] = all guards on)".into()));
    }
    for (i, variant) in file.guards_off.iter().enumerate() {
        let mut g = GuardSwitches::default();
        for name in variant {
            if !g.switch_off(name) {
                return Err(err(
                    &format!("guards_off[{i}]"),
                    format!("no guard called {name:?} (choose from {})", GuardSwitches::NAMES.join(", ")),
                ));
            }
        }
    }
    let (kpi, kpi_varied) = kpi_sets(&file.kpi, &origin)?;
    let sampling = match &file.params {
        None => None,
        Some(t) => Some(super::sample::parse(t, &origin)?),
    };
    let judge = Judge {
        // One hour of 15-minute iterations, or the whole soak if shorter.
        hold_iterations: file.judge.hold_iterations.unwrap_or(4.min(file.iterations)),
        alpha: file.judge.alpha.unwrap_or(0.05),
        bad_fail_share: file.judge.bad_fail_share.unwrap_or(0.5),
    };
    if judge.hold_iterations == 0 || judge.hold_iterations > file.iterations {
        return Err(err(
            "judge.hold_iterations",
            format!("{} must be between 1 and iterations ({})", judge.hold_iterations, file.iterations),
        ));
    }
    if !(judge.alpha > 0.0 && judge.alpha < 1.0) {
        return Err(err("judge.alpha", format!("{} must be between 0 and 1 (exclusive)", judge.alpha)));
    }
    if !(0.0..1.0).contains(&judge.bad_fail_share) {
        return Err(err("judge.bad_fail_share", format!("{} must be in [0, 1)", judge.bad_fail_share)));
    }
    let metrics = match file.metrics {
        None => DEFAULT_METRICS.iter().map(|s| s.to_string()).collect(),
        Some(list) => {
            for m in &list {
                if !METRICS.contains(&m.as_str()) {
                    return Err(err("metrics", format!("unknown metric {m:?} (choose from {})", METRICS.join(", "))));
                }
            }
            // Column order is the canonical one, whatever order the file lists.
            METRICS.iter().filter(|m| list.iter().any(|x| x == *m)).map(|s| s.to_string()).collect()
        }
    };
    let windows = super::window::parse(&file.replay, base, &origin, file.iterations, file.iteration_seconds)?;
    Ok(Spec {
        name: file.name,
        iterations: file.iterations,
        iteration_seconds: file.iteration_seconds,
        seeds,
        markets,
        profiles,
        baseline: file.baseline,
        guards_off: file.guards_off,
        kpi,
        kpi_varied,
        sampling,
        judge,
        metrics,
        windows,
    })
}

fn first_duplicate<T: PartialEq + Clone>(xs: &[T]) -> Option<T> {
    xs.iter().enumerate().find(|(i, x)| xs[..*i].contains(x)).map(|(_, x)| x.clone())
}

/// `regimes[i]`: a named regime, or a regime file (relative to the sweep file) as
/// `mmsoak run --regime FILE` reads it.
fn market(value: &str, base: &Path, origin: &str, i: usize) -> Result<Market> {
    if Regime::parse(value).is_some() {
        return Ok(Market { name: value.to_string(), spec: None });
    }
    let looks_like_path = value.ends_with(".json") || value.contains('/') || value.contains('\\');
    if !looks_like_path {
        let names: Vec<&str> = Regime::ALL.iter().map(|r| r.name()).collect();
        bail!(
            "{origin}: regimes[{i}] = {value:?}: unknown regime (choose from {}, or a regime file .json from `mmsoak market fit`)",
            names.join(", ")
        );
    }
    let path = base.join(value);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{origin}: regimes[{i}] = {value:?}: cannot read {}", path.display()))?;
    let file = mmsoak_core::market::RegimeFile::parse(&text)
        .map_err(|e| anyhow::anyhow!("{origin}: regimes[{i}] = {value:?}: {e}"))?;
    Ok(Market { name: value.to_string(), spec: Some(file.spec) })
}

/// `profiles[i]`: an inline `[profile.NAME]`, a built-in profile, or a .json file
/// (relative to the sweep file).
fn profile(name: &str, inline: &BTreeMap<String, toml::Table>, base: &Path, origin: &str, i: usize) -> Result<Params> {
    if let Some(table) = inline.get(name) {
        let json = serde_json::to_value(table).context("profile table")?;
        let serde_json::Value::Object(map) = json else { bail!("{origin}: profile.{name}: expected a table") };
        let mut params = Params::default();
        crate::profiles::apply_map(&mut params, &map, origin, &format!("profile.{name}."))?;
        return Ok(params);
    }
    if crate::profiles::BUILT_IN.iter().any(|(n, _)| *n == name) {
        return crate::profiles::load(name);
    }
    let looks_like_path = name.ends_with(".json") || name.contains('/') || name.contains('\\');
    if !looks_like_path {
        let names: Vec<&str> = crate::profiles::BUILT_IN.iter().map(|(n, _)| *n).collect();
        bail!(
            "{origin}: profiles[{i}] = {name:?}: unknown profile (choose from {}, a .json file, or define [profile.{name}])",
            names.join(", ")
        );
    }
    let path = base.join(name);
    crate::profiles::load(&path.display().to_string()).with_context(|| format!("{origin}: profiles[{i}] = {name:?}"))
}

/// `[kpi]`: thresholds over the defaults. A key given a list varies: the sets are
/// the Cartesian product, in key order then list order.
fn kpi_sets(table: &toml::Table, origin: &str) -> Result<(Vec<KpiThresholds>, Vec<String>)> {
    let mut sets = vec![KpiThresholds::default()];
    let mut varied = Vec::new();
    for (key, value) in table {
        if !KPI_KEYS.contains(&key.as_str()) {
            bail!("{origin}: kpi.{key}: unknown key (known: {})", KPI_KEYS.join(", "));
        }
        let values: Vec<&toml::Value> = match value {
            toml::Value::Array(list) if list.is_empty() => bail!("{origin}: kpi.{key}: an empty list"),
            toml::Value::Array(list) => {
                varied.push(key.clone());
                list.iter().collect()
            }
            v => vec![v],
        };
        let mut next = Vec::new();
        for set in &sets {
            for v in &values {
                let mut s = set.clone();
                let x = match v {
                    toml::Value::Float(f) => *f,
                    toml::Value::Integer(n) => *n as f64,
                    other => bail!("{origin}: kpi.{key} = {other}: must be a number"),
                };
                let bad = || anyhow::anyhow!("{origin}: kpi.{key} = {v}: out of range");
                match key.as_str() {
                    "min_fills" => {
                        if x.fract() != 0.0 || !(0.0..=1e9).contains(&x) {
                            return Err(bad());
                        }
                        s.min_fills = x as u64;
                    }
                    "fail_net_bps" if !(-1e4..=1e4).contains(&x) => return Err(bad()),
                    "fail_net_bps" => s.fail_net_bps = x,
                    "warn_adverse_p95" if !(0.0..=1e4).contains(&x) => return Err(bad()),
                    "warn_adverse_p95" => s.warn_adverse_p95 = x,
                    _ if !(0.0..=1.0).contains(&x) => {
                        bail!("{origin}: kpi.{key} = {v}: a ratio must be between 0 and 1")
                    }
                    "warn_risk_ratio" => s.warn_risk_ratio = x,
                    _ => s.fail_risk_ratio = x,
                }
                next.push(s);
            }
        }
        sets = next;
        if sets.len() > MAX_KPI_SETS {
            bail!("{origin}: kpi: the lists make {} threshold sets: at most {MAX_KPI_SETS}", sets.len());
        }
    }
    Ok((sets, varied))
}

/// The parameters a sweep may sample: every APPLY_BOUNDS entry.
pub fn check_param_name(name: &str, origin: &str) -> Result<&'static mmsoak_core::params::ParamSpec> {
    param_spec(name).with_context(|| {
        let known: Vec<&str> = APPLY_BOUNDS.iter().map(|s| s.name).collect();
        format!("{origin}: params.{name}: unknown parameter (known: {})", known.join(", "))
    })
}
