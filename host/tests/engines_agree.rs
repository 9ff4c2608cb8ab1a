//! The wasm core under wasmtime and the natively linked core are the same engine:
//! identical response bytes for identical requests.

use mmsoak_core::abi::{encode_request, InitRequest, SimulateRequest, StepRequest};
use mmsoak_core::kpi::KpiThresholds;
use mmsoak_core::market::{MarketConfig, Regime};
use mmsoak_core::params::Params;
use mmsoak_core::soak::SoakConfig;
use mmsoak_host::{CacheOutcome, CoreRuntime, Engine, ModuleCache, NativeRuntime, WasmLimits, WasmRuntime, CORE_WASM};

fn wasm(cache: &ModuleCache) -> WasmRuntime {
    WasmRuntime::new(CORE_WASM, cache, WasmLimits::default()).expect("core wasm loads")
}

fn soak_config(auto_tune: bool) -> SoakConfig {
    SoakConfig {
        total_iterations: 6,
        auto_tune,
        iterations_per_hour: 4,
        thresholds: KpiThresholds::default(),
        safe_params: Params::default(),
        guards: Default::default(),
    }
}

#[test]
fn simulate_is_byte_identical_natively_and_under_wasmtime() {
    let mut w = wasm(&ModuleCache::disabled());
    let mut n = NativeRuntime;
    let aggressive = Params { base_spread_bps: 3.0, min_interval_ms: 25, impact_cap_ratio: 0.4, ..Params::default() };
    for regime in Regime::ALL {
        for (seed, params) in [(1u64, Params::default()), (99, aggressive.clone())] {
            let req = encode_request(&SimulateRequest {
                params,
                market: MarketConfig::synthetic(regime),
                seed,
                iteration: 3,
            });
            let a = w.call_raw("simulate", &req).unwrap();
            let b = n.call_raw("simulate", &req).unwrap();
            assert!(String::from_utf8_lossy(&a).starts_with("{\"ok\""), "{}", String::from_utf8_lossy(&a));
            assert_eq!(a, b, "regime {} seed {seed}", regime.name());
        }
    }
}

#[test]
fn a_tuned_soak_makes_identical_decisions_in_both_engines() {
    let mut engines = [Engine::new(Box::new(wasm(&ModuleCache::disabled()))), Engine::new(Box::new(NativeRuntime))];
    let mut outputs: Vec<Vec<String>> = Vec::new();
    let baseline = Params { base_spread_bps: 3.0, impact_cap_ratio: 0.4, min_interval_ms: 25, ..Params::default() };
    for engine in engines.iter_mut() {
        let mut state = engine.init(&InitRequest { config: soak_config(true), baseline: baseline.clone() }).unwrap();
        let mut out = Vec::new();
        for i in 1..=6 {
            let market = MarketConfig::synthetic(Regime::Volatile);
            let edge = engine
                .simulate(&SimulateRequest { params: state.overrides.clone(), market, seed: 4, iteration: i })
                .unwrap();
            let resp =
                engine.step(&StepRequest { state, observation: edge, policy: None, apply_blocked: None }).unwrap();
            out.push(serde_json::to_string(&resp).unwrap());
            state = resp.state;
        }
        outputs.push(out);
    }
    assert_eq!(outputs[0], outputs[1]);
}

#[test]
fn compiled_module_cache_is_reused_on_the_second_start() {
    let dir = tempfile::tempdir().unwrap();
    let cache = ModuleCache::at(dir.path());
    assert_eq!(wasm(&cache).cache_outcome(), CacheOutcome::Miss);
    assert_eq!(wasm(&cache).cache_outcome(), CacheOutcome::Hit);
    // A corrupt entry is recompiled, not fatal.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        std::fs::write(entry.unwrap().path(), b"garbage").unwrap();
    }
    assert_eq!(wasm(&cache).cache_outcome(), CacheOutcome::Miss);
    assert_eq!(wasm(&cache).cache_outcome(), CacheOutcome::Hit);
}

#[test]
fn foreign_abi_version_and_garbage_get_clear_errors_from_the_wasm_core() {
    let mut w = wasm(&ModuleCache::disabled());
    let out = w.call_raw("init", br#"{"abi_version": 7, "request": {}}"#).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("abi_version") && text.contains("v7"), "{text}");
    let out = w.call_raw("step", b"\x00\x01garbage").unwrap();
    assert!(String::from_utf8(out).unwrap().contains("bad_request"));
    // The instance is still healthy afterwards.
    let req = encode_request(&SimulateRequest {
        params: Params::default(),
        market: MarketConfig::synthetic(Regime::Calm),
        seed: 1,
        iteration: 1,
    });
    assert!(w.call_raw("simulate", &req).is_ok());
}

#[test]
fn engine_records_name_the_core_bytes() {
    let w = wasm(&ModuleCache::disabled());
    let rec = w.record();
    assert_eq!(rec.kind, "wasm");
    assert_eq!(rec.core_sha256.len(), 64);
    assert_eq!(rec.core_sha256, NativeRuntime.record().core_sha256);
    assert!(rec.runtime.unwrap().starts_with("wasmtime 48"));
}

mod decisions {
    use super::*;
    use mmsoak_core::abi::encode_request;
    use mmsoak_core::edge::KpiObservation;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

        /// For any KPI sequence, the wasm core and the native core decide identically.
        #[test]
        fn native_and_wasm_make_the_same_decisions(
            obs in prop::collection::vec(
                (-5.0f64..10.0, 0.0f64..1.0, -3.0f64..12.0, 0.0f64..4.0, 0u64..300),
                1..24,
            )
        ) {
            // Cached compilation keeps each case cheap.
            let mut w = wasm(&ModuleCache::at(std::env::temp_dir().join("mmsoak-host-tests")));
            let mut n = NativeRuntime;
            let init = encode_request(&InitRequest { config: soak_config(true), baseline: Params::default() });
            let a = w.call_raw("init", &init).unwrap();
            prop_assert_eq!(&a, &n.call_raw("init", &init).unwrap());
            let mut state: mmsoak_core::soak::SoakState =
                match serde_json::from_slice::<mmsoak_core::abi::Response<_>>(&a).unwrap() {
                    mmsoak_core::abi::Response::Ok(s) => s,
                    mmsoak_core::abi::Response::Error(e) => panic!("{e:?}"),
                };
            for (k, (net, risk, adv, slip, fills)) in obs.into_iter().enumerate() {
                let o = KpiObservation { net_bps: net, risk_ratio: risk, adverse_p95: adv, slippage_p95: slip, fills, blocks: None };
                let req = encode_request(&StepRequest { state: state.clone(), observation: o.into_report(k as u32 + 1), policy: None, apply_blocked: None });
                let a = w.call_raw("step", &req).unwrap();
                prop_assert_eq!(&a, &n.call_raw("step", &req).unwrap());
                let resp: mmsoak_core::abi::Response<mmsoak_core::abi::StepResponse> = serde_json::from_slice(&a).unwrap();
                match resp {
                    mmsoak_core::abi::Response::Ok(r) => state = r.state,
                    mmsoak_core::abi::Response::Error(e) => panic!("{e:?}"),
                }
            }
        }
    }
}
