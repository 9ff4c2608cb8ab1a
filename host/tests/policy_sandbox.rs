//! Hostile policy plugins, written in WAT: each is stopped with a clear error, and
//! the plugin stays usable for the next call.

use mmsoak_core::edge::KpiObservation;
use mmsoak_core::kpi::KpiVerdict;
use mmsoak_core::params::Params;
use mmsoak_core::policy::{PolicyRequest, POLICY_ABI_VERSION};
use mmsoak_host::{PolicyLimits, PolicyPlugin};

/// A policy module: the ABI's exports around the body of `mmsoak_policy_propose`.
/// `alloc` is a bump allocator from 1024; `dealloc` does nothing.
fn policy(version: u32, propose_body: &str, extra: &str) -> Vec<u8> {
    let text = format!(
        r#"(module
          (memory (export "memory") 2)
          (global $next (mut i32) (i32.const 1024))
          (func (export "mmsoak_policy_abi_version") (result i32) (i32.const {version}))
          (func (export "alloc") (param $len i32) (result i32)
            (local $p i32)
            (local.set $p (global.get $next))
            (global.set $next (i32.add (global.get $next) (local.get $len)))
            (local.get $p))
          (func (export "dealloc") (param i32 i32))
          (func (export "mmsoak_policy_propose") (param $ptr i32) (param $len i32) (result i32)
            {propose_body})
          {extra})"#
    );
    wat::parse_str(text).expect("valid WAT")
}

/// Answers with the length-prefixed bytes of `json`, stored at offset 16.
fn answering(json: &str) -> Vec<u8> {
    let escaped: String = json.bytes().map(|b| format!("\\{b:02x}")).collect();
    let len: String = (json.len() as u32).to_le_bytes().iter().map(|b| format!("\\{b:02x}")).collect();
    policy(POLICY_ABI_VERSION, "(i32.const 16)", &format!(r#"(data (i32.const 16) "{len}{escaped}")"#))
}

fn request() -> PolicyRequest {
    PolicyRequest {
        abi_version: POLICY_ABI_VERSION,
        iteration: 1,
        total_iterations: 10,
        kpi_verdict: KpiVerdict::Pass,
        params: Params::default(),
        baseline: Params::default(),
        stable_streak: 0,
        fail_streak: 0,
        edge: KpiObservation {
            net_bps: 3.0,
            risk_ratio: 0.1,
            adverse_p95: 1.0,
            slippage_p95: 0.0,
            fills: 50,
            blocks: None,
        }
        .into_report(1),
    }
}

fn load(bytes: &[u8]) -> PolicyPlugin {
    PolicyPlugin::from_bytes(bytes, PolicyLimits::default()).expect("plugin loads")
}

#[test]
fn a_well_behaved_plugin_answers() {
    let mut p = load(&answering(r#"{"deltas":{"base_spread_bps":0.5},"reasons":["wider"]}"#));
    let r = p.propose(&request()).unwrap();
    assert_eq!(r.deltas["base_spread_bps"], 0.5);
    assert_eq!(r.reasons, vec!["wider".to_string()]);
}

#[test]
fn an_endless_loop_runs_out_of_fuel_every_time() {
    let mut p = load(&policy(POLICY_ABI_VERSION, "(loop $l (br $l)) (i32.const 0)", ""));
    for _ in 0..3 {
        let f = p.propose(&request()).unwrap_err();
        assert_eq!(f.kind, "out_of_fuel", "{f}");
        assert!(f.message.contains("instruction budget"), "{f}");
    }
}

#[test]
fn growing_memory_to_4_gib_is_refused() {
    // memory.grow by 65534 pages (to 4 GiB); on refusal (-1) the plugin traps.
    let body = "(if (i32.eq (memory.grow (i32.const 65534)) (i32.const -1)) (then unreachable)) (i32.const 0)";
    let mut p = load(&policy(POLICY_ABI_VERSION, body, ""));
    let f = p.propose(&request()).unwrap_err();
    assert_eq!(f.kind, "memory_limit", "{f}");
    assert!(f.message.contains("4096 MiB") && f.message.contains("cap is 64 MiB"), "{f}");
}

#[test]
fn a_module_declaring_4_gib_of_memory_is_refused_at_load() {
    let text = r#"(module (memory (export "memory") 65536)
        (func (export "mmsoak_policy_abi_version") (result i32) (i32.const 1)))"#;
    let err = PolicyPlugin::from_bytes(&wat::parse_str(text).unwrap(), PolicyLimits::default()).err().unwrap();
    assert!(err.contains("memory_limit"), "{err}");
}

#[test]
fn a_trap_is_named() {
    let mut p = load(&policy(POLICY_ABI_VERSION, "unreachable", ""));
    let f = p.propose(&request()).unwrap_err();
    assert_eq!(f.kind, "trap");
    assert!(f.message.contains("unreachable"), "{f}");
    // A fresh instance after the trap: the next call fails the same clean way.
    assert_eq!(p.propose(&request()).unwrap_err(), f);
}

#[test]
fn garbage_and_wrong_shapes_are_malformed_responses() {
    for (json, expect) in [
        ("garbage!", "not a policy response"),
        (r#"{"deltas":{"base_spread_bps":"wide"}}"#, "not a policy response"),
        (r#"{"deltas":{},"extra":1}"#, "unknown field"),
    ] {
        let mut p = load(&answering(json));
        let f = p.propose(&request()).unwrap_err();
        assert_eq!(f.kind, "malformed_response", "{json}: {f}");
        assert!(f.message.contains(expect), "{json}: {f}");
    }
    // A response pointer outside the plugin's memory.
    let mut p = load(&policy(POLICY_ABI_VERSION, "(i32.const 0x7ffffff0)", ""));
    let f = p.propose(&request()).unwrap_err();
    assert_eq!(f.kind, "malformed_response");
    assert!(f.message.contains("outside its memory"), "{f}");
}

#[test]
fn a_plugin_for_another_abi_version_is_refused_at_load() {
    let err = PolicyPlugin::from_bytes(&policy(2, "(i32.const 0)", ""), PolicyLimits::default()).err().unwrap();
    assert!(err.contains("policy ABI v2") && err.contains("speaks v1"), "{err}");
}

#[test]
fn imports_are_refused_at_load() {
    let text = r#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1))"#;
    let err = PolicyPlugin::from_bytes(&wat::parse_str(text).unwrap(), PolicyLimits::default()).err().unwrap();
    assert!(err.contains("wasi_snapshot_preview1::fd_write") && err.contains("must import nothing"), "{err}");
    let err = PolicyPlugin::from_bytes(b"not wasm", PolicyLimits::default()).err().unwrap();
    assert!(err.contains("not a valid wasm module"), "{err}");
    let missing = r#"(module (memory (export "memory") 1) (func (export "mmsoak_policy_abi_version") (result i32) (i32.const 1)))"#;
    let err = PolicyPlugin::from_bytes(&wat::parse_str(missing).unwrap(), PolicyLimits::default()).err().unwrap();
    assert!(err.contains("export alloc missing"), "{err}");
}
