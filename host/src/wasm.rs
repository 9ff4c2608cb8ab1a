//! The core's .wasm under wasmtime, configured for deterministic execution and
//! given no imports at all: nothing of the host (time, env, randomness) reaches it.

use std::collections::HashMap;

use mmsoak_core::abi::{ABI_VERSION, CALLS};
use mmsoak_core::report::EngineRecord;
use sha2::{Digest, Sha256};
use wasmtime::{Config, Engine, Instance, Memory, Store, StoreLimits, StoreLimitsBuilder, TypedFunc};

use crate::cache::{CacheOutcome, ModuleCache};
use crate::engine::CoreRuntime;
use crate::EngineError;

/// Version of the wasmtime crate this host links, as Cargo.lock pins it.
pub const WASMTIME_VERSION: &str = env!("MMSOAK_WASMTIME_VERSION");

/// Resource limits for one core instance.
#[derive(Debug, Clone, Copy)]
pub struct WasmLimits {
    pub max_memory_bytes: usize,
}

impl Default for WasmLimits {
    fn default() -> Self {
        WasmLimits { max_memory_bytes: 512 << 20 }
    }
}

struct StoreData {
    limits: StoreLimits,
}

pub struct WasmRuntime {
    store: Store<StoreData>,
    memory: Memory,
    alloc: TypedFunc<u32, u32>,
    dealloc: TypedFunc<(u32, u32), ()>,
    calls: HashMap<&'static str, TypedFunc<(u32, u32), u32>>,
    cache_outcome: CacheOutcome,
    sha256: String,
}

/// Wasmtime configured per its deterministic-execution guidance, NaN
/// canonicalization included: for wasm whose float code we have not audited
/// (policy plugins).
pub fn deterministic_config() -> Config {
    config(true)
}

/// Deterministic relaxed SIMD always; Cranelift's NaN canonicalization as asked.
fn config(nan_canonicalization: bool) -> Config {
    let mut config = Config::new();
    config.cranelift_nan_canonicalization(nan_canonicalization);
    config.relaxed_simd_deterministic(true);
    config
}

impl WasmRuntime {
    /// The shipped engine: no NaN canonicalization. The core never lets a NaN's
    /// sign or payload bits reach its output (docs/nan-determinism.md), so the bytes
    /// are the same either way, and canonicalizing after every float operation
    /// made the simulator about 3.5x slower.
    pub fn new(wasm: &[u8], cache: &ModuleCache, limits: WasmLimits) -> Result<Self, EngineError> {
        Self::with_nan_canonicalization(wasm, cache, limits, false)
    }

    /// As [`WasmRuntime::new`], with Cranelift's NaN canonicalization on or off
    /// (`host/tests/nan_canonicalization.rs` checks that both give the same bytes).
    /// The two compile to different modules, cached separately.
    pub fn with_nan_canonicalization(
        wasm: &[u8],
        cache: &ModuleCache,
        limits: WasmLimits,
        nan_canonicalization: bool,
    ) -> Result<Self, EngineError> {
        Self::with_config(wasm, cache, limits, config(nan_canonicalization))
    }

    /// The shipped engine with `tune` applied to its configuration, for the
    /// benches' experiments (a profiler, other Cranelift settings); never the product's.
    #[doc(hidden)]
    pub fn with_tuned_config(
        wasm: &[u8],
        cache: &ModuleCache,
        limits: WasmLimits,
        tune: impl FnOnce(&mut Config),
    ) -> Result<Self, EngineError> {
        let mut config = config(false);
        tune(&mut config);
        Self::with_config(wasm, cache, limits, config)
    }

    fn with_config(wasm: &[u8], cache: &ModuleCache, limits: WasmLimits, config: Config) -> Result<Self, EngineError> {
        let engine = Engine::new(&config).map_err(|e| EngineError::wasm("configuring wasmtime", e))?;
        let (module, cache_outcome) = cache.load_or_compile(&engine, wasm)?;
        if let Some(import) = module.imports().next() {
            return Err(EngineError::wasm(
                "loading the core",
                format!("the core must not import anything, but imports {}::{}", import.module(), import.name()),
            ));
        }
        let data =
            StoreData { limits: StoreLimitsBuilder::new().memory_size(limits.max_memory_bytes).instances(1).build() };
        let mut store = Store::new(&engine, data);
        store.limiter(|d| &mut d.limits);
        let instance =
            Instance::new(&mut store, &module, &[]).map_err(|e| EngineError::wasm("instantiating the core", e))?;
        let version: TypedFunc<(), u32> = typed(&instance, &mut store, "mmsoak_abi_version")?;
        let found = version.call(&mut store, ()).map_err(|e| EngineError::wasm("reading the ABI version", e))?;
        if found != ABI_VERSION {
            return Err(EngineError::wasm(
                "loading the core",
                format!("core speaks ABI v{found}, this host speaks v{ABI_VERSION}"),
            ));
        }
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or_else(|| EngineError::wasm("loading the core", "no exported memory"))?;
        let alloc = typed(&instance, &mut store, "alloc")?;
        let dealloc = typed(&instance, &mut store, "dealloc")?;
        let mut calls = HashMap::new();
        for name in CALLS {
            calls.insert(name, typed(&instance, &mut store, &format!("mmsoak_{name}"))?);
        }
        Ok(WasmRuntime {
            store,
            memory,
            alloc,
            dealloc,
            calls,
            cache_outcome,
            sha256: hex::encode(Sha256::digest(wasm)),
        })
    }

    /// Whether the compiled module came from the on-disk cache.
    pub fn cache_outcome(&self) -> CacheOutcome {
        self.cache_outcome
    }
}

fn typed<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
    instance: &Instance,
    store: &mut Store<StoreData>,
    name: &str,
) -> Result<TypedFunc<P, R>, EngineError> {
    instance
        .get_typed_func::<P, R>(&mut *store, name)
        .map_err(|e| EngineError::wasm(format!("binding export {name}"), e))
}

impl CoreRuntime for WasmRuntime {
    fn call_raw(&mut self, call: &'static str, request: &[u8]) -> Result<Vec<u8>, EngineError> {
        let func = self.calls.get(call).ok_or_else(|| EngineError::wasm(call, "no such export"))?.clone();
        let len = u32::try_from(request.len()).map_err(|_| EngineError::wasm(call, "request larger than 4 GiB"))?;
        let ptr = self.alloc.call(&mut self.store, len).map_err(|e| EngineError::wasm(format!("{call}: alloc"), e))?;
        if ptr == 0 {
            return Err(EngineError::wasm(call, "core could not allocate the request buffer"));
        }
        self.memory
            .write(&mut self.store, ptr as usize, request)
            .map_err(|e| EngineError::wasm(format!("{call}: writing the request"), e))?;
        let out = func.call(&mut self.store, (ptr, len));
        // The core never frees the request itself; do it whatever happened.
        let _ = self.dealloc.call(&mut self.store, (ptr, len));
        let out = out.map_err(|e| EngineError::wasm(call, e))?;
        if out == 0 {
            return Err(EngineError::wasm(call, "core could not allocate the response"));
        }
        let mut len_bytes = [0u8; 4];
        self.memory
            .read(&self.store, out as usize, &mut len_bytes)
            .map_err(|e| EngineError::wasm(format!("{call}: reading the response length"), e))?;
        let n = u32::from_le_bytes(len_bytes) as usize;
        let mut buf = vec![0u8; n];
        self.memory
            .read(&self.store, out as usize + 4, &mut buf)
            .map_err(|e| EngineError::wasm(format!("{call}: reading the response"), e))?;
        self.dealloc
            .call(&mut self.store, (out, (n + 4) as u32))
            .map_err(|e| EngineError::wasm(format!("{call}: freeing the response"), e))?;
        Ok(buf)
    }

    fn record(&self) -> EngineRecord {
        EngineRecord {
            kind: "wasm".into(),
            core_sha256: self.sha256.clone(),
            abi_version: ABI_VERSION,
            runtime: Some(format!("wasmtime {WASMTIME_VERSION}")),
        }
    }
}
