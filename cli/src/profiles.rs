//! Named parameter profiles (`profiles/*.json`, built in) and profile files given
//! by path. A profile is a JSON object of parameters laid over the built-in defaults.

use std::path::Path;

use anyhow::{bail, Context, Result};
use mmsoak_core::params::{spec, Params, APPLY_BOUNDS};

/// The profile a panic or policy revert falls back to (a run's `safe_params`).
pub const SAFE: &str = "steady_safe";

pub const BUILT_IN: [(&str, &str); 3] = [
    ("steady_safe", include_str!("../../profiles/steady_safe.json")),
    ("ultra_safe", include_str!("../../profiles/ultra_safe.json")),
    ("aggressive", include_str!("../../profiles/aggressive.json")),
];

/// Resolves `--profile`: a built-in name, or a path to a `.json` file.
pub fn load(name_or_path: &str) -> Result<Params> {
    if let Some((_, text)) = BUILT_IN.iter().find(|(n, _)| *n == name_or_path) {
        return parse_overlay(&Params::default(), text, &format!("profiles/{name_or_path}.json"));
    }
    let looks_like_path = name_or_path.ends_with(".json") || name_or_path.contains('/') || name_or_path.contains('\\');
    if !looks_like_path {
        let names: Vec<&str> = BUILT_IN.iter().map(|(n, _)| *n).collect();
        bail!("unknown profile {name_or_path:?}: choose one of {} or give a path to a .json file", names.join(", "));
    }
    let path = Path::new(name_or_path);
    let bytes = std::fs::read(path).with_context(|| format!("cannot read profile file {}", path.display()))?;
    let mut params = Params::default();
    apply_json(&mut params, &bytes, &path.display().to_string(), "")?;
    Ok(params)
}

/// Lays the parameters in `text` (a JSON object) over `base`. Any unknown key,
/// non-number, non-integer for an integer parameter, or out-of-bounds value is an
/// error naming `origin`, the key and the value.
pub fn parse_overlay(base: &Params, text: &str, origin: &str) -> Result<Params> {
    let mut params = base.clone();
    apply_json(&mut params, text.as_bytes(), origin, "")?;
    Ok(params)
}

/// Parses `bytes` as a JSON object of parameters and applies it to `params`.
/// Returns the names it set. `prefix` is prepended to keys in errors (`params.`).
pub fn apply_json(params: &mut Params, bytes: &[u8], origin: &str, prefix: &str) -> Result<Vec<&'static str>> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).with_context(|| format!("{origin}: not valid JSON"))?;
    let serde_json::Value::Object(map) = value else {
        bail!("{origin}: expected a JSON object of parameters, found {}", kind(&value));
    };
    apply_map(params, &map, origin, prefix)
}

pub fn apply_map(
    params: &mut Params,
    map: &serde_json::Map<String, serde_json::Value>,
    origin: &str,
    prefix: &str,
) -> Result<Vec<&'static str>> {
    let mut set = Vec::new();
    for (key, v) in map {
        let Some(s) = spec(key) else {
            let known: Vec<&str> = APPLY_BOUNDS.iter().map(|s| s.name).collect();
            bail!("{origin}: unknown key {prefix}{key:?} (known: {})", known.join(", "));
        };
        let Some(x) = v.as_f64() else {
            bail!("{origin}: {prefix}{key} must be a number, found {v}");
        };
        if s.integer && x.fract() != 0.0 {
            bail!("{origin}: {prefix}{key} must be a whole number, found {v}");
        }
        if x < s.min || x > s.max {
            bail!("{origin}: {prefix}{key} = {v} is outside its bounds [{}, {}]", s.min, s.max);
        }
        params.set_clamped(key, x);
        set.push(s.name);
    }
    Ok(set)
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_profiles_load_and_steady_safe_throttles_at_75ms() {
        for (name, _) in BUILT_IN {
            load(name).unwrap();
        }
        assert_eq!(load("steady_safe").unwrap().min_interval_ms, 75);
    }

    #[test]
    fn errors_name_origin_key_and_value() {
        let base = Params::default();
        let e = parse_overlay(&base, r#"{"min_interval_ms": 5}"#, "x.json").unwrap_err().to_string();
        assert!(e.contains("x.json") && e.contains("min_interval_ms = 5") && e.contains("[20, 500]"), "{e}");
        let e = parse_overlay(&base, r#"{"spread": 5}"#, "x.json").unwrap_err().to_string();
        assert!(e.contains("unknown key \"spread\""), "{e}");
        let e = parse_overlay(&base, r#"{"tail_age_ms": 10.5}"#, "x.json").unwrap_err().to_string();
        assert!(e.contains("whole number"), "{e}");
        let e = parse_overlay(&base, r#"{"base_spread_bps": "8"}"#, "x.json").unwrap_err().to_string();
        assert!(e.contains("must be a number"), "{e}");
        let e = parse_overlay(&base, "{\"base_spread_bps\": 8", "x.json").unwrap_err();
        assert!(format!("{e:#}").contains("not valid JSON"));
        assert!(load("nope").unwrap_err().to_string().contains("unknown profile \"nope\""));
    }
}
