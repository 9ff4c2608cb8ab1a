//! `mmsoak schema`: the checked-in JSON Schemas in docs/schemas/ are what the
//! core's types generate (CI fails when a type changes and they were not
//! regenerated), a stale copy is named, and the schemas carry what a bot author
//! needs: every parameter required, with the bounds the tuner enforces.

mod common;

use std::path::Path;

use common::{json, mmsoak, run_ok};

fn docs() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schemas")
}

#[test]
fn checked_in_schemas_match_the_types() {
    let out = run_ok(&["schema", "--check", docs().to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("match the types"));
}

#[test]
fn a_stale_schema_is_named_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    run_ok(&["schema", "--out", dir.path().to_str().unwrap()]);
    let file = dir.path().join("edge-report-v1.schema.json");
    let text = std::fs::read_to_string(&file).unwrap().replace("\"sequence\"", "\"seq\"");
    std::fs::write(&file, text).unwrap();
    let out = mmsoak().args(["schema", "--check", dir.path().to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("edge-report-v1.schema.json differs from the types"), "{err}");
    assert!(!err.contains("runtime-overrides"), "only the stale file is named: {err}");
    let out = mmsoak().args(["schema", "no-such"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no schema named \"no-such\"; there are: runtime-overrides"));
}

#[test]
fn overrides_schema_requires_every_parameter_a_run_writes_with_its_bounds() {
    let s = json(docs().join("runtime-overrides.schema.json"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("soak");
    run_ok(&["run", "--iterations", "2", "--out", out.to_str().unwrap()]);
    let written = json(out.join("runtime_overrides.json"));
    let mut keys: Vec<&String> = written.as_object().unwrap().keys().collect();
    let mut required: Vec<&str> = s["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    keys.sort();
    required.sort();
    assert_eq!(keys, required);
    assert_eq!(s["additionalProperties"], false, "unknown overrides are refused, so the schema says so");
    let spread = &s["properties"]["base_spread_bps"];
    assert_eq!((spread["minimum"].as_f64(), spread["maximum"].as_f64()), (Some(2.0), Some(40.0)));
    let interval = &s["properties"]["min_interval_ms"];
    assert_eq!(interval["type"], "integer");
    let v1 = json(docs().join("edge-report-v1.schema.json"));
    assert_eq!(v1["$defs"]["Params"]["properties"]["inventory_skew"]["maximum"].as_f64(), Some(1.0));
}
