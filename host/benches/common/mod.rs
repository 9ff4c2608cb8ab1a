//! What the benches share: the wasm engine they measure, and how to vary it.

use mmsoak_host::{ModuleCache, WasmLimits, WasmRuntime, CORE_WASM};

/// The core under wasmtime as shipped; `MMSOAK_BENCH_WASM=path.wasm` measures another
/// build of the core (e.g. other codegen settings) without relinking the bench,
/// `MMSOAK_BENCH_PERFMAP=1` writes /tmp/perf-PID.map for `perf record`, and
/// `MMSOAK_BENCH_KNOBS` (comma-separated: `fixed_memory`, `eager_tables`,
/// `no_spectre`, `inline`, `speed_and_size`, `no_opt`,
/// `single_pass`, `no_alias_analysis`) tries wasmtime settings other than the shipped ones.
pub fn bench_wasm(cache: &ModuleCache) -> Box<WasmRuntime> {
    let bytes = std::env::var_os("MMSOAK_BENCH_WASM").map(|p| std::fs::read(&p).expect("MMSOAK_BENCH_WASM"));
    let wasm = bytes.as_deref().unwrap_or(CORE_WASM);
    let knobs = std::env::var("MMSOAK_BENCH_KNOBS").unwrap_or_default();
    let perfmap = std::env::var_os("MMSOAK_BENCH_PERFMAP").is_some();
    let rt = WasmRuntime::with_tuned_config(wasm, cache, WasmLimits::default(), |c| {
        if perfmap {
            c.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        for knob in knobs.split(',').filter(|k| !k.is_empty()) {
            match knob {
                "fixed_memory" => {
                    c.memory_may_move(false);
                }
                "moving_memory" => {
                    c.memory_may_move(true);
                }
                "inline" => {
                    c.compiler_inlining(wasmtime::Inlining::Yes);
                }
                "speed_and_size" => {
                    c.cranelift_opt_level(wasmtime::OptLevel::SpeedAndSize);
                }
                "no_opt" => {
                    c.cranelift_opt_level(wasmtime::OptLevel::None);
                }
                "single_pass" => {
                    c.cranelift_regalloc_algorithm(wasmtime::RegallocAlgorithm::SinglePass);
                }
                "no_alias_analysis" => unsafe {
                    c.cranelift_flag_set("enable_alias_analysis", "false");
                },
                "eager_tables" => {
                    c.table_lazy_init(false);
                }
                "lazy_tables" => {
                    c.table_lazy_init(true);
                }
                // SAFETY: a Cranelift setting by name; an unknown one fails Engine::new.
                "no_spectre" => unsafe {
                    c.cranelift_flag_set("enable_heap_access_spectre_mitigation", "false");
                    c.cranelift_flag_set("enable_table_access_spectre_mitigation", "false");
                },
                other => panic!("MMSOAK_BENCH_KNOBS: unknown knob {other:?}"),
            }
        }
    });
    Box::new(rt.expect("wasm"))
}
