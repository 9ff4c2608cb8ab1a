//! Measures (prints, never asserts): book events per second natively and through
//! wasmtime, a 96-iteration volatile soak through wasmtime, and engine start-up
//! with and without the compiled-module cache, and how long the policy sandbox
//! takes to stop a plugin stuck in an endless loop. `THROUGHPUT_PAIRS=n` adds
//! `n` paired rounds (wasm engine, then native engine) and their median ratio.

use std::time::{Duration, Instant};

use mmsoak_core::abi::{InitRequest, SimulateRequest, StepRequest};
use mmsoak_core::kpi::KpiThresholds;
use mmsoak_core::market::{simulate_iteration, MarketConfig, Regime};
use mmsoak_core::params::Params;
use mmsoak_core::soak::SoakConfig;
mod common;

use common::bench_wasm;
use mmsoak_host::{Engine, ModuleCache, NativeRuntime, PolicyLimits, PolicyPlugin, WasmLimits, WasmRuntime, CORE_WASM};

/// Runs `f` `runs` times (at least `BENCH_RUNS` times if set, for a loaded machine).
fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let runs = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).map_or(runs, |r: usize| r.max(runs));
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
    // MMSOAK_BENCH_CACHE=dir keeps the compiled module (an ELF file) for `objdump`
    // beside a `perf record` with MMSOAK_BENCH_PERFMAP=1; THROUGHPUT_ONLY=simulator
    // stops after the simulator's figures, so a profile holds nothing else.
    let cache_dir = tempfile::tempdir().expect("temp dir");
    let kept = std::env::var_os("MMSOAK_BENCH_CACHE").map(std::path::PathBuf::from);
    let cache = ModuleCache::at(kept.as_deref().unwrap_or(cache_dir.path()));
    let mut engine = Engine::new(bench_wasm(&cache));
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
    // The product's native engine: the same JSON ABI as the wasm engine, so this
    // pair differs only in who executes the core (the ratio the product ships).
    let mut native_engine = Engine::new(Box::new(NativeRuntime));
    let (native_engine_t, native_engine_events) = best_of(5, || {
        (1..=iterations)
            .map(|i| {
                native_engine
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
    assert_eq!(native_events, native_engine_events);
    let native_rate = native_events as f64 / native_t.as_secs_f64();
    let wasm_rate = wasm_events as f64 / wasm_t.as_secs_f64();
    println!("book events per iteration: {}", native_events / iterations as u64);
    println!(
        "native:   {:>7.2} M book events/s ({:.2} ms per iteration)",
        native_rate / 1e6,
        native_t.as_secs_f64() * 1e3 / iterations as f64
    );
    println!(
        "wasmtime: {:>7.2} M book events/s ({:.2} ms per iteration)",
        wasm_rate / 1e6,
        wasm_t.as_secs_f64() * 1e3 / iterations as f64
    );
    println!(
        "native engine (JSON ABI): {:.2} ms per iteration",
        native_engine_t.as_secs_f64() * 1e3 / iterations as f64
    );
    println!("wasm time / native time: {:.2}x", wasm_t.as_secs_f64() / native_t.as_secs_f64());
    println!(
        "wasm engine / native engine (both through the ABI): {:.2}x",
        wasm_t.as_secs_f64() / native_engine_t.as_secs_f64()
    );
    // Paired rounds, for A/B work on a box whose speed drifts: each round times
    // the wasm engine and then the native engine over the same iterations, so a
    // slow spell hits both sides of a ratio instead of one engine's whole block.
    let pairs = std::env::var("THROUGHPUT_PAIRS").ok().map(|p| match p.trim().parse::<usize>() {
        Ok(n) if n > 0 => n,
        _ => {
            eprintln!("THROUGHPUT_PAIRS: {p:?} is not a number of rounds (a whole number from 1)");
            std::process::exit(2)
        }
    });
    if let Some(pairs) = pairs {
        let run = |engine: &mut Engine| {
            let t = Instant::now();
            for i in 1..=iterations {
                let request = SimulateRequest { params: params.clone(), market: market.clone(), seed: 1, iteration: i };
                engine.simulate(&request).expect("simulate");
            }
            t.elapsed().as_secs_f64()
        };
        let rounds: Vec<(f64, f64)> = (0..pairs).map(|_| (run(&mut engine), run(&mut native_engine))).collect();
        // Median and quartiles by linear interpolation between order statistics
        // (Hyndman & Fan type 7, numpy's default): an even count averages the middle two.
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            let at = |q: f64| {
                let h = (v.len() - 1) as f64 * q;
                let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
                v[lo] + (v[hi] - v[lo]) * (h - lo as f64)
            };
            (at(0.5), at(0.25), at(0.75))
        };
        let ms = |t: f64| t * 1e3 / iterations as f64;
        let (ratio, low, high) = median(rounds.iter().map(|(w, n)| w / n).collect());
        println!(
            "paired rounds ({}): wasm {:.3} ms, native {:.3} ms per iteration (medians); wasm engine / native engine median {:.3}x (quartiles {:.3}–{:.3})",
            rounds.len(),
            ms(median(rounds.iter().map(|r| r.0).collect()).0),
            ms(median(rounds.iter().map(|r| r.1).collect()).0),
            ratio,
            low,
            high
        );
    }
    if std::env::var("THROUGHPUT_ONLY").is_ok_and(|o| o == "simulator") {
        return;
    }

    // A 24 h canary: 96 volatile iterations, simulate + tune, through wasmtime.
    let (soak_t, _) = best_of(3, || {
        let config = SoakConfig {
            total_iterations: 96,
            auto_tune: true,
            iterations_per_hour: 4,
            thresholds: KpiThresholds::default(),
            safe_params: Params::default(),
            guards: Default::default(),
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
            state = engine
                .step(&StepRequest { state, observation: edge, policy: None, apply_blocked: None })
                .expect("step")
                .state;
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

    // The policy sandbox: wall time until fuel stops an endless loop.
    let endless = wat::parse_str(
        r#"(module (memory (export "memory") 1)
            (func (export "mmsoak_policy_abi_version") (result i32) (i32.const 1))
            (func (export "alloc") (param i32) (result i32) (i32.const 1024))
            (func (export "dealloc") (param i32 i32))
            (func (export "mmsoak_policy_propose") (param i32 i32) (result i32) (loop $l (br $l)) (i32.const 0)))"#,
    )
    .expect("valid WAT");
    let mut plugin = PolicyPlugin::from_bytes(&endless, PolicyLimits::default()).expect("plugin");
    let edge = simulate_iteration(&params, &market, 1, 1);
    let state = mmsoak_core::soak::init(
        SoakConfig {
            total_iterations: 2,
            auto_tune: true,
            iterations_per_hour: 4,
            thresholds: KpiThresholds::default(),
            safe_params: Params::default(),
            guards: Default::default(),
        },
        params.clone(),
    );
    let request = mmsoak_core::policy::request(&state, &edge);
    let (stop_t, failure) = best_of(5, || plugin.propose(&request).expect_err("an endless loop must be stopped"));
    let (worst_t, _) = (0..5).fold((Duration::ZERO, ()), |(w, _), _| {
        let t = Instant::now();
        let _ = plugin.propose(&request);
        (w.max(t.elapsed()), ())
    });
    println!(
        "policy sandbox: endless loop stopped ({}) after {:.1} ms (worst of 5: {:.1} ms), fuel budget {}",
        failure.kind,
        stop_t.as_secs_f64() * 1e3,
        worst_t.as_secs_f64() * 1e3,
        PolicyLimits::default().fuel_per_call
    );

    // The example policy, if built: how much of the budget a real policy uses.
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/wasm32-unknown-unknown/release/mmsoak_policy_edge_hunter.wasm");
    match PolicyPlugin::load(&example, PolicyLimits::default()) {
        Ok(mut plugin) => {
            let (t, _) = best_of(5, || plugin.propose(&request).expect("example policy answers"));
            println!(
                "example policy: {:.2} ms and {} fuel per call",
                t.as_secs_f64() * 1e3,
                plugin.last_fuel_used().unwrap_or(0)
            );
        }
        Err(e) => println!("example policy not measured ({e}); build it with `cargo build --release --target wasm32-unknown-unknown -p mmsoak-policy-edge-hunter`"),
    }
}
