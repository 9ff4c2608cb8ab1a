//! One source of truth: every effective setting and where it came from.
//!
//! Parameters, highest first: `--profile` > `MM_RUNTIME_OVERRIDES_JSON` (JSON in the
//! environment) > `<out>/runtime_overrides.json` > `mmsoak.toml [params]` > built-in
//! defaults. Soak settings: flags > `mmsoak.toml [soak]` > defaults.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use mmsoak_core::kpi::KpiThresholds;
use mmsoak_core::params::{Params, APPLY_BOUNDS};
use serde::Deserialize;

use crate::args::ConfigPlace;
use crate::profiles;

mod explain;
mod ticks;

pub use explain::explain;
use ticks::check_ticks;
pub use ticks::TicksSection;

pub const ENV_OVERRIDES: &str = "MM_RUNTIME_OVERRIDES_JSON";
pub const DEFAULT_OUT: &str = "artifacts/soak";
pub const DEFAULT_CONFIG: &str = "mmsoak.toml";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    soak: SoakSection,
    #[serde(default)]
    params: toml::Table,
    #[serde(default)]
    kpi: KpiSection,
    #[serde(default)]
    retention: RetentionSection,
    #[serde(default)]
    ticks: TicksSection,
    /// `[thresholds]`: `metric = "expr"` or lists/tables (see thresholds.rs).
    #[serde(default)]
    thresholds: toml::Table,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SoakSection {
    iterations: Option<u32>,
    seed: Option<u64>,
    regime: Option<String>,
    auto_tune: Option<bool>,
    profile: Option<String>,
    iteration_seconds: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct KpiSection {
    warn_risk_ratio: Option<f64>,
    warn_adverse_p95: Option<f64>,
    fail_risk_ratio: Option<f64>,
    fail_net_bps: Option<f64>,
    min_fills: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RetentionSection {
    keep_summaries: Option<usize>,
    compress_after_days: Option<u64>,
    warn_total_mb: Option<u64>,
    rotate_after_run: Option<bool>,
}

/// Artifact retention limits (`[retention]` in mmsoak.toml).
#[derive(Debug, Clone, PartialEq)]
pub struct Retention {
    pub keep_summaries: usize,
    pub compress_after_days: u64,
    pub warn_total_mb: u64,
    pub rotate_after_run: bool,
}

/// A value and the place it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Sourced<T> {
    pub value: T,
    pub origin: String,
}

fn pick<T>(flag: Option<T>, flag_name: &str, file: Option<T>, file_origin: &str, default: T) -> Sourced<T> {
    match (flag, file) {
        (Some(v), _) => Sourced { value: v, origin: format!("flag --{flag_name}") },
        (None, Some(v)) => Sourced { value: v, origin: file_origin.to_string() },
        (None, None) => Sourced { value: default, origin: "default".into() },
    }
}

/// Flags the user typed (None = not given).
#[derive(Debug, Default, Clone)]
pub struct Flags {
    pub iterations: Option<u32>,
    pub seed: Option<u64>,
    pub regime: Option<String>,
    pub auto_tune: Option<bool>,
    pub profile: Option<String>,
    pub iteration_seconds: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct Effective {
    pub config_file: Option<PathBuf>,
    pub out: Sourced<PathBuf>,
    pub iterations: Sourced<u32>,
    pub seed: Sourced<u64>,
    pub regime: Sourced<String>,
    pub auto_tune: Sourced<bool>,
    pub iteration_seconds: Sourced<u32>,
    /// `[ticks]` as the file has it (flags are laid over it by the tick planner).
    pub ticks: TicksSection,
    /// The profile named by the flag or mmsoak.toml, if any.
    pub profile: Option<Sourced<String>>,
    pub params: Params,
    /// Origin of each parameter, in APPLY_BOUNDS order.
    pub param_origins: Vec<(&'static str, String)>,
    pub thresholds: KpiThresholds,
    pub threshold_origins: Vec<(&'static str, String)>,
    /// `[thresholds]`, checked (unknown metric or aggregate is an error here).
    pub gate: Vec<crate::thresholds::ThresholdSpec>,
    pub retention: Retention,
}

/// Reads and layers every configuration source. Any bad value is one error naming
/// the file (or variable), the key path and the value.
pub fn resolve(place: &ConfigPlace, flags: &Flags) -> Result<Effective> {
    let (config_file, file) = load_file(place.config.as_deref())?;
    resolve_file(config_file, file, place, flags, true)
}

/// [`resolve`] for `run --resume`, which keeps a `[ticks]` value that is not
/// valid rather than refusing it: the resumed run uses the settings it recorded,
/// not the file's, so a bad one is warned about (`resume_flags`), not an error.
pub fn resolve_for_resume(place: &ConfigPlace, flags: &Flags) -> Result<Effective> {
    let (config_file, file) = load_file(place.config.as_deref())?;
    resolve_file(config_file, file, place, flags, false)
}

/// The bytes of an mmsoak.toml named `path`, checked as [`resolve`] checks it (with
/// no flags, the out directory `place.out`): one error naming the file, key and value.
pub fn parse(bytes: &[u8], path: &Path, place: &ConfigPlace) -> Result<Effective> {
    let file = parse_file(bytes, &path.display().to_string())?;
    resolve_file(Some(path.to_path_buf()), file, place, &Flags::default(), true)
}

fn resolve_file(
    config_file: Option<PathBuf>,
    file: FileConfig,
    place: &ConfigPlace,
    flags: &Flags,
    refuse_bad_ticks: bool,
) -> Result<Effective> {
    let file_label = config_file.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
    let out = match &place.out {
        Some(p) => Sourced { value: p.clone(), origin: "flag --out".into() },
        None => Sourced { value: PathBuf::from(DEFAULT_OUT), origin: "default".into() },
    };

    let mut params = Params::default();
    let mut origins: Vec<(&'static str, String)> =
        APPLY_BOUNDS.iter().map(|s| (s.name, "default".to_string())).collect();
    let mut mark = |set: Vec<&'static str>, origin: &str| {
        for name in set {
            if let Some(o) = origins.iter_mut().find(|(n, _)| *n == name) {
                o.1 = origin.to_string();
            }
        }
    };
    if !file.params.is_empty() {
        let map = toml_to_json(&file.params, &file_label, "params.")?;
        mark(profiles::apply_map(&mut params, &map, &file_label, "params.")?, &format!("{file_label} [params]"));
    }
    let overrides_path = out.value.join("runtime_overrides.json");
    if overrides_path.exists() {
        let label = overrides_path.display().to_string();
        let bytes = std::fs::read(&overrides_path).with_context(|| format!("cannot read {label}"))?;
        mark(profiles::apply_json(&mut params, &bytes, &label, "")?, &label);
    }
    if let Ok(env) = std::env::var(ENV_OVERRIDES) {
        let label = format!("env {ENV_OVERRIDES}");
        mark(profiles::apply_json(&mut params, env.as_bytes(), &label, "")?, &label);
    }
    let profile = match (&flags.profile, &file.soak.profile) {
        (Some(p), _) => Some(Sourced { value: p.clone(), origin: "flag --profile".into() }),
        (None, Some(p)) => Some(Sourced { value: p.clone(), origin: format!("{file_label} [soak]") }),
        (None, None) => None,
    };
    if let Some(p) = &profile {
        // An error names where the bad name was given, as every flag's and field's does.
        let given_by = match &flags.profile {
            Some(_) => "--profile".to_string(),
            None => format!("{file_label} [soak] profile"),
        };
        // A profile is a complete parameter set: it replaces every lower layer.
        params = profiles::load(&p.value).context(given_by)?;
        mark(APPLY_BOUNDS.iter().map(|s| s.name).collect(), &format!("profile {} ({})", p.value, p.origin));
    }

    let soak_origin = format!("{file_label} [soak]");
    let iterations = pick(flags.iterations, "iterations", file.soak.iterations, &soak_origin, 24);
    let seed = pick(flags.seed, "seed", file.soak.seed, &soak_origin, 1);
    let regime = pick(flags.regime.clone(), "regime", file.soak.regime.clone(), &soak_origin, "calm".to_string());
    let auto_tune = pick(flags.auto_tune.filter(|v| *v), "auto-tune", file.soak.auto_tune, &soak_origin, false);
    let iteration_seconds = pick(
        flags.iteration_seconds,
        "iteration-seconds",
        file.soak.iteration_seconds,
        &soak_origin,
        mmsoak_core::market::ITERATION_SECONDS,
    );
    // The flags' own parsers hold them to the same ranges; this catches mmsoak.toml's
    // values, for `run` and `config validate` alike, every bad one at once.
    let (lo, hi) = crate::args::ITERATION_SECONDS;
    let mut bad = Vec::new();
    if (iterations.value as u64) < crate::args::RUN_ITERATIONS.0 {
        bad.push(format!(
            "{} iterations = {}: must be at least {}",
            iterations.origin,
            iterations.value,
            crate::args::RUN_ITERATIONS.0
        ));
    }
    if !(lo..=hi).contains(&(iteration_seconds.value as u64)) {
        bad.push(format!(
            "{} iteration_seconds = {}: must be between {lo} and {hi}",
            iteration_seconds.origin, iteration_seconds.value
        ));
    }
    if !bad.is_empty() {
        bail!("{}", bad.join("; "));
    }

    let (thresholds, threshold_origins) = thresholds(&file.kpi, &format!("{file_label} [kpi]"))?;
    let gate = crate::thresholds::from_toml(&file.thresholds, &format!("{file_label} [thresholds]"))?;
    for spec in &gate {
        crate::thresholds::parse(spec)?;
    }
    let r = &file.retention;
    let retention = Retention {
        keep_summaries: r.keep_summaries.unwrap_or(100),
        compress_after_days: r.compress_after_days.unwrap_or(7),
        warn_total_mb: r.warn_total_mb.unwrap_or(500),
        rotate_after_run: r.rotate_after_run.unwrap_or(true),
    };
    if retention.keep_summaries == 0 {
        bail!("{file_label}: retention.keep_summaries = 0 must be at least 1");
    }
    if refuse_bad_ticks {
        check_ticks(&file.ticks, &format!("{file_label} [ticks]"))?;
    }
    Ok(Effective {
        config_file,
        out,
        iterations,
        seed,
        regime,
        auto_tune,
        iteration_seconds,
        ticks: file.ticks.clone(),
        profile,
        params,
        param_origins: origins,
        thresholds,
        threshold_origins,
        gate,
        retention,
    })
}

fn load_file(explicit: Option<&Path>) -> Result<(Option<PathBuf>, FileConfig)> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None if Path::new(DEFAULT_CONFIG).exists() => PathBuf::from(DEFAULT_CONFIG),
        None => return Ok((None, FileConfig::default())),
    };
    let label = path.display().to_string();
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read config file {label}"))?;
    Ok((Some(path), parse_file(&bytes, &label)?))
}

fn parse_file(bytes: &[u8], label: &str) -> Result<FileConfig> {
    let text = std::str::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{label}: not UTF-8 text"))?;
    toml::from_str(text).map_err(|e| anyhow::anyhow!("{label}: {}", toml_error_line(text, &e)))
}

/// A TOML error in one line, as every other bad input is told: the line and
/// column, that line's text (the key and the bad value), and what was wrong.
/// (`toml`'s own rendering is five lines with a caret under the value.) Control
/// characters are escaped and a long line is cut, so a file cannot garble the
/// terminal or flood the log; a byte-order mark does not count as a column.
fn toml_error_line(text: &str, e: &toml::de::Error) -> String {
    // Some messages are two lines ("invalid table header" / "expected `.`, `]`").
    let message = e.message().lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(": ");
    let message = if message.is_empty() { "a value is missing at the end of the file".to_string() } else { message };
    let message = printable(&message, 200);
    let Some(span) = e.span() else { return message };
    let at = (0..=span.start.min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    let line = text[..at].matches('\n').count() + 1;
    let column = text[line_start..at].trim_start_matches('\u{feff}').chars().count() + 1;
    let source = printable(text[line_start..line_end].trim_start_matches('\u{feff}').trim(), 80);
    if source.is_empty() {
        format!("line {line}, column {column}: {message}")
    } else {
        format!("line {line}, column {column} ({source}): {message}")
    }
}

/// `s` with control characters escaped (`\r`, `\u{1b}`) and cut after `max`
/// characters with "…".
fn printable(s: &str, max: usize) -> String {
    let mut out = String::new();
    for c in s.chars().take(max) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if s.chars().count() > max {
        out.push('…');
    }
    out
}

fn toml_to_json(table: &toml::Table, origin: &str, prefix: &str) -> Result<serde_json::Map<String, serde_json::Value>> {
    let mut map = serde_json::Map::new();
    for (k, v) in table {
        let json = match v {
            toml::Value::Integer(i) => serde_json::Value::from(*i),
            toml::Value::Float(f) if f.is_finite() => serde_json::Value::from(*f),
            toml::Value::Float(f) => bail!("{origin}: {prefix}{k} = {f} is not a finite number"),
            other => bail!("{origin}: {prefix}{k} must be a number, found {other}"),
        };
        map.insert(k.clone(), json);
    }
    Ok(map)
}

fn thresholds(k: &KpiSection, origin: &str) -> Result<(KpiThresholds, Vec<(&'static str, String)>)> {
    let d = KpiThresholds::default();
    let mut origins = Vec::new();
    let mut f = |name: &'static str, v: Option<f64>, default: f64, lo: f64, hi: f64| -> Result<f64> {
        match v {
            None => {
                origins.push((name, "default".to_string()));
                Ok(default)
            }
            Some(x) if !x.is_finite() || x < lo || x > hi => {
                bail!("{origin}: kpi.{name} = {x} must be a finite number in [{lo}, {hi}]")
            }
            Some(x) => {
                origins.push((name, origin.to_string()));
                Ok(x)
            }
        }
    };
    let t = KpiThresholds {
        warn_risk_ratio: f("warn_risk_ratio", k.warn_risk_ratio, d.warn_risk_ratio, 0.0, 1.0)?,
        warn_adverse_p95: f("warn_adverse_p95", k.warn_adverse_p95, d.warn_adverse_p95, -1e6, 1e6)?,
        fail_risk_ratio: f("fail_risk_ratio", k.fail_risk_ratio, d.fail_risk_ratio, 0.0, 1.0)?,
        fail_net_bps: f("fail_net_bps", k.fail_net_bps, d.fail_net_bps, -1e6, 1e6)?,
        min_fills: k.min_fills.unwrap_or(d.min_fills),
    };
    origins.push(("min_fills", if k.min_fills.is_some() { origin.to_string() } else { "default".into() }));
    Ok((t, origins))
}

#[cfg(test)]
mod tests {
    use super::parse_file;

    /// A value of the wrong type, an unknown key and broken syntax are each one
    /// line naming the file, the line and column, the line's text and the fault.
    #[test]
    fn a_bad_toml_value_is_one_line_naming_the_line_and_the_value() {
        let error = |body: &str| format!("{:#}", parse_file(body.as_bytes(), "m.toml").unwrap_err());
        for (body, said) in [
            (
                "[soak]\niterations = 3\n[ticks]\nmaker_fee_bps = \"abc\"\n",
                "m.toml: line 4, column 17 (maker_fee_bps = \"abc\"): invalid type: string \"abc\", expected f64",
            ),
            ("[ticks]\nqueue_model = 3\n", "m.toml: line 2, column 15 (queue_model = 3): invalid type: integer `3`"),
            ("[soak]\nbogus = 1\n", "m.toml: line 2, column 1 (bogus = 1): unknown field `bogus`"),
            ("[soak\n", "m.toml: line 1, column 6 ([soak): invalid table header: expected"),
            ("[soak]\nseed =", "m.toml: line 2, column 7 (seed =): a value is missing at the end of the file"),
            ("\u{feff}[soak\n", "m.toml: line 1, column 6 ([soak): invalid table header"),
            ("[soak]\rseed = \"x\"\n", "m.toml: line 1, column "),
        ] {
            let e = error(body);
            assert!(e.starts_with(said), "{body:?}: {e}");
            assert!(!e.contains('\n') && !e.contains('\r'), "{body:?}: more than one line: {e}");
        }
        // A control character is escaped, a long line cut.
        assert!(error("[soak]\rseed = \"x\"\n").contains("[soak]\\rseed"));
        let long = error(&format!("[soak]\nseed = \"{}\"\n", "x".repeat(5000)));
        assert!(long.len() < 400, "{} bytes: {long}", long.len());
    }
}
