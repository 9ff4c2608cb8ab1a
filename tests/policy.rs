//! `--policy FILE.wasm`: a user's tuning policy in place of the built-in tuner,
//! wrapped by the same guards, sandboxed, and as deterministic as the rest.

mod common;

use std::path::{Path, PathBuf};

use common::{example_policy_wasm, json, mmsoak, read, run_ok, wat_plugin};
use mmsoak_core::params::{Params, APPLY_BOUNDS};
use serde_json::Value;

const ITERATIONS: usize = 24;

fn soak(out: &Path, extra: &[&str]) -> Vec<Value> {
    let n = ITERATIONS.to_string();
    let mut args = vec!["run", "--iterations", &n, "--auto-tune", "--profile", "aggressive", "--regime", "volatile"];
    args.extend_from_slice(&["--seed", "3", "--out", out.to_str().unwrap()]);
    args.extend_from_slice(extra);
    run_ok(&args);
    (1..=ITERATIONS).map(|i| json(out.join(format!("latest/ITER_SUMMARY_{i}.json")))).collect()
}

fn params(v: &Value) -> Params {
    serde_json::from_value(v.clone()).expect("overrides are parameters")
}

fn has_guard(s: &Value, name: &str) -> bool {
    s["tuning"]["guards"].as_array().unwrap().iter().any(|g| g["guard"] == name)
}

#[test]
fn the_example_policy_changes_outcomes_and_the_guards_still_hold() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = example_policy_wasm();
    let built_in = soak(&dir.path().join("built-in"), &[]);
    let with_policy = soak(&dir.path().join("policy"), &["--policy", wasm.to_str().unwrap()]);

    let path_of = |run: &[Value]| run.iter().map(|s| s["overrides"].clone()).collect::<Vec<_>>();
    assert_ne!(path_of(&built_in), path_of(&with_policy), "the policy tuned exactly like the built-in tuner");
    let net = |run: &[Value]| run.iter().map(|s| s["summary"]["net_bps"].as_f64().unwrap()).sum::<f64>();
    assert_ne!(net(&built_in), net(&with_policy));
    let hunting = with_policy.iter().filter(|s| s["tuning"]["reasons"].to_string().contains("policy:hunting_edge"));
    assert!(hunting.count() > 0, "the policy's own reasons are recorded");

    // The policy asks for three steps of spread when risk is high: capped at one.
    assert!(with_policy.iter().any(|s| has_guard(s, "step_cap")), "no step_cap event");
    let reverts = |s: &Value| has_guard(s, "panic_revert") || has_guard(s, "policy_revert");
    let mut per_iteration = Vec::new();
    for s in &with_policy {
        assert!(params(&s["overrides"]).out_of_bounds().is_empty(), "out of bounds at {}", s["iteration"]);
        let deltas = s["tuning"]["deltas"].as_object().unwrap().clone();
        if !reverts(s) {
            for spec in APPLY_BOUNDS.iter() {
                let d = deltas.get(spec.name).and_then(Value::as_f64).unwrap_or(0.0);
                assert!(d.abs() <= spec.max_step + 1e-9, "{} moved {d} at {}", spec.name, s["iteration"]);
            }
        }
        per_iteration.push(if reverts(s) { Default::default() } else { deltas });
    }
    assert!(per_iteration.last().unwrap().is_empty(), "changed on the final iteration");
    // Velocity: 4 iterations are one hour of soak time.
    for end in 0..per_iteration.len() {
        for spec in APPLY_BOUNDS.iter() {
            let used: f64 = per_iteration[end.saturating_sub(3)..=end]
                .iter()
                .filter_map(|d| d.get(spec.name).and_then(Value::as_f64))
                .map(f64::abs)
                .sum();
            assert!(used <= spec.max_per_hour + 1e-9, "{} moved {used} in the hour ending at {}", spec.name, end + 1);
        }
    }

    let report = json(dir.path().join("policy/latest/TUNING_REPORT.json"));
    let recorded = &report["settings"]["policy"];
    assert_eq!(recorded["abi_version"], 1);
    assert_eq!(recorded["sha256"].as_str().unwrap().len(), 64);
    assert!(json(dir.path().join("built-in/latest/TUNING_REPORT.json"))["settings"].get("policy").is_none());
}

#[test]
fn a_policy_run_is_byte_identical_natively_and_under_wasmtime() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = example_policy_wasm();
    let p = wasm.to_str().unwrap();
    soak(&dir.path().join("wasm"), &["--policy", p, "--engine", "wasm"]);
    soak(&dir.path().join("native"), &["--policy", p, "--engine", "native"]);
    for i in 1..=ITERATIONS {
        let f = format!("latest/ITER_SUMMARY_{i}.json");
        assert!(read(dir.path().join("wasm").join(&f)) == read(dir.path().join("native").join(&f)), "{f} differs");
    }
    for f in ["latest/TUNING_STATE.json", "runtime_overrides.json"] {
        assert!(read(dir.path().join("wasm").join(f)) == read(dir.path().join("native").join(f)), "{f} differs");
    }
}

/// A policy whose `mmsoak_policy_propose` runs `body` (alloc is a bump allocator).
fn hostile(dir: &Path, name: &str, version: u32, body: &str) -> PathBuf {
    let text = format!(
        r#"(module (memory (export "memory") 2)
            (global $next (mut i32) (i32.const 4096))
            (func (export "mmsoak_policy_abi_version") (result i32) (i32.const {version}))
            (func (export "alloc") (param $len i32) (result i32) (local $p i32)
              (local.set $p (global.get $next))
              (global.set $next (i32.add (global.get $next) (local.get $len)))
              (local.get $p))
            (func (export "dealloc") (param i32 i32))
            (func (export "mmsoak_policy_propose") (param i32 i32) (result i32) {body})
            (data (i32.const 16) "\09\00\00\00not json!"))"#
    );
    wat_plugin(dir, name, &text)
}

#[test]
fn hostile_policies_skip_iterations_then_revert_to_steady_safe() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("endless_loop", "(loop $l (br $l)) (i32.const 0)", "out_of_fuel"),
        (
            "memory_hog",
            "(drop (memory.grow (i32.const 65534))) (i32.store (i32.const 0x7fff0000) (i32.const 1)) (i32.const 0)",
            "memory_limit: tried to grow its memory to 4096 MiB",
        ),
        ("trap", "unreachable", "trap: wasm trap"),
        ("garbage", "(i32.const 16)", "malformed_response: not a policy response"),
    ];
    let kpis = dir.path().join("healthy.jsonl");
    std::fs::write(
        &kpis,
        r#"{"net_bps": 3.0, "risk_ratio": 0.30, "adverse_p95": 1.0}"#.repeat(4).replace("}{", "}\n{"),
    )
    .unwrap();
    let steady_safe = json(Path::new(env!("CARGO_MANIFEST_DIR")).join("../profiles/steady_safe.json"));
    for (name, body, expected) in cases {
        let plugin = hostile(dir.path(), &format!("{name}.wasm"), 1, body);
        let out = dir.path().join(name);
        // Recorded healthy KPIs: no KPI panic revert gets in the way of the policy's own.
        let o = run_ok(&[
            "run",
            "--source",
            "kpis",
            "--data",
            kpis.to_str().unwrap(),
            "--iterations",
            "4",
            "--auto-tune",
            "--profile",
            "aggressive",
            "--policy",
            plugin.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains("policy plugin failed"), "{name}: failures not reported:\n{stderr}");
        for i in 1..=4 {
            let s = json(out.join(format!("latest/ITER_SUMMARY_{i}.json")));
            let error = s["tuning"]["guards"].as_array().unwrap().iter().find(|g| g["guard"] == "policy_error");
            let detail = error.unwrap_or_else(|| panic!("{name}: iteration {i} has no policy_error"))["detail"]
                .as_str()
                .unwrap()
                .to_string();
            assert!(detail.contains(expected), "{name}: {detail}");
            let reason = s["tuning"]["skipped_reason"].as_str().unwrap();
            assert_eq!(reason, if i == 3 { "policy_revert" } else { "policy_error" }, "{name} at {i}");
        }
        // After the third failure the parameters are steady_safe, and stay there.
        assert_eq!(json(out.join("latest/ITER_SUMMARY_4.json"))["overrides"], steady_safe, "{name}");
        assert_eq!(json(out.join("runtime_overrides.json")), steady_safe, "{name}");
        assert!(out.join("latest/TUNING_REPORT.json").exists(), "{name}: report missing");
    }
}

#[test]
fn a_plugin_the_host_cannot_run_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let wrong_abi = hostile(dir.path(), "v7.wasm", 7, "(i32.const 0)");
    let wasi = wat_plugin(
        dir.path(),
        "wasi.wasm",
        r#"(module (import "wasi_snapshot_preview1" "random_get" (func (param i32 i32) (result i32))))"#,
    );
    let not_wasm = dir.path().join("not.wasm");
    std::fs::write(&not_wasm, "#!/bin/sh\necho hi\n").unwrap();
    for (plugin, expected) in [
        (wrong_abi, "speaks policy ABI v7, this mmsoak speaks v1"),
        (wasi, "imports wasi_snapshot_preview1::random_get"),
        (not_wasm.clone(), "not a valid wasm module"),
        (dir.path().join("missing.wasm"), "cannot read it"),
    ] {
        let out = dir.path().join("out");
        let o = mmsoak()
            .args(["run", "--iterations", "2", "--auto-tune", "--policy", plugin.to_str().unwrap()])
            .args(["--out", out.to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(&plugin.display().to_string()) && stderr.contains(expected), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "one clear line: {stderr}");
        assert!(!out.exists(), "{} written despite a bad plugin", out.display());
    }
    let o = mmsoak().args(["run", "--iterations", "2", "--policy", not_wasm.to_str().unwrap()]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--auto-tune"));
}

#[test]
fn resume_refuses_a_plugin_whose_bytes_changed() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("policy.wasm");
    std::fs::copy(example_policy_wasm(), &plugin).unwrap();
    let out = dir.path().join("out");
    let out_s = out.to_str().unwrap();
    run_ok(&["run", "--iterations", "3", "--auto-tune", "--policy", plugin.to_str().unwrap(), "--out", out_s]);
    run_ok(&["run", "--resume", "--out", out_s]);
    hostile(dir.path(), "policy.wasm", 1, "unreachable");
    let before = common::tree(&out);
    let o = mmsoak().args(["run", "--resume", "--out", out_s]).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("its bytes changed since the run started"), "{stderr}");
    assert!(common::tree(&out) == before, "artifacts changed");
}
