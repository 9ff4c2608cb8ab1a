//! Measures (prints, never asserts): book events per second natively and through
//! wasmtime, a 96-iteration volatile soak through wasmtime, and engine start-up
//! with and without the compiled-module cache.

use std::time::{Duration, Instant};

use mmsoak_core::abi::{InitRequest, SimulateRequest, StepRequest};
use mmsoak_core::kpi::KpiThresholds;
use mmsoak_core::market::{simulate_iteration, MarketConfig, Regime};
use mmsoak_core::params::Params;
use mmsoak_core::soak::SoakConfig;
use mmsoak_host::{Engine, ModuleCache, WasmLimits, WasmRuntime, CORE_WASM};

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs {
        let t = Instant::now();
        let v = f();
        best = best.min(t.elapsed());
        out = Some(v);
    }
    (best, out.expect("runs >= 1"))
}

fn main() {
    let market = MarketConfig::synthetic(Regime::Volatile);
    let params = Params::default();
    let iterations = 8u32;

    let (native_t, native_events) =
        best_of(5, || (1..=iterations).map(|i| simulate_iteration(&params, &market, 1, i).book_events).sum::<u64>());
    let cache_dir = tempfile::tempdir().expect("temp dir");
    let cache = ModuleCache::at(cache_dir.path());
    let mut engine = Engine::new(Box::new(WasmRuntime::new(CORE_WASM, &cache, WasmLimits::default()).expect("wasm")));
    let (wasm_t, wasm_events) = best_of(5, || {
        (1..=iterations)
            .map(|i| {
                engine
                    .simulate(&SimulateRequest {
                        params: params.clone(),
                        market: market.clone(),
                        seed: 1,
                        iteration: i,
                    })
                    .expect("simulate")
                    .book_events
            })
            .sum::<u64>()
    });
    assert_eq!(native_events, wasm_events);
    let native_rate = native_events as f64 / native_t.as_secs_f64();
    let wasm_rate = wasm_events as f64 / wasm_t.as_secs_f64();
    println!("book events per iteration: {}", native_events / iterations as u64);
    println!(
        "native:   {:>7.2} M book events/s ({:.1} ms per iteration)",
        native_rate / 1e6,
        native_t.as_secs_f64() * 1e3 / iterations as f64
    );
    println!(
        "wasmtime: {:>7.2} M book events/s ({:.1} ms per iteration)",
        wasm_rate / 1e6,
        wasm_t.as_secs_f64() * 1e3 / iterations as f64
    );
    println!("wasm time / native time: {:.2}x", wasm_t.as_secs_f64() / native_t.as_secs_f64());

    // A 24 h canary: 96 volatile iterations, simulate + tune, through wasmtime.
    let (soak_t, _) = best_of(3, || {
        let config = SoakConfig {
            total_iterations: 96,
            auto_tune: true,
            iterations_per_hour: 4,
            thresholds: KpiThresholds::default(),
            safe_params: Params::default(),
        };
        let mut state = engine.init(&InitRequest { config, baseline: params.clone() }).expect("init");
        for i in 1..=96 {
            let edge = engine
                .simulate(&SimulateRequest {
                    params: state.overrides.clone(),
                    market: market.clone(),
                    seed: 1,
                    iteration: i,
                })
                .expect("simulate");
            state = engine.step(&StepRequest { state, observation: edge }).expect("step").state;
        }
    });
    println!("96-iteration volatile soak through wasmtime (engine only): {:.3} s", soak_t.as_secs_f64());

    // Start-up: compile from scratch vs load the cached compiled module.
    let fresh = tempfile::tempdir().expect("temp dir");
    let t = Instant::now();
    let _cold = WasmRuntime::new(CORE_WASM, &ModuleCache::at(fresh.path()), WasmLimits::default()).expect("cold");
    let cold = t.elapsed();
    let (warm, _) = best_of(5, || {
        WasmRuntime::new(CORE_WASM, &ModuleCache::at(fresh.path()), WasmLimits::default()).expect("warm")
    });
    println!(
        "engine start-up: {:.1} ms compiling, {:.1} ms from the module cache",
        cold.as_secs_f64() * 1e3,
        warm.as_secs_f64() * 1e3
    );
}
