//! A user's tuning policy (`--policy FILE.wasm`) in a sandbox: its own wasmtime
//! engine with fuel metering, a memory cap, no imports, and a fresh instance after
//! any failure. The policy ABI is documented in `mmsoak_core::policy`.
//!
//! Every limit here is deterministic (fuel counts instructions, the cap counts
//! bytes), so a plugin that is stopped is stopped at the same point on every
//! machine and the run's artifacts stay byte-identical across platforms.

use std::path::Path;

use mmsoak_core::policy::{PolicyRequest, PolicyResponse, POLICY_ABI_VERSION};
use sha2::{Digest, Sha256};
use wasmtime::{Engine, Instance, Memory, Module, ResourceLimiter, Store, Trap, TypedFunc};

use crate::wasm::deterministic_config;

/// Sandbox limits for one policy call.
#[derive(Debug, Clone, Copy)]
pub struct PolicyLimits {
    /// Wasm instructions (roughly) one call may execute. The default stops an
    /// endless loop within a few tens of milliseconds; the example policy needs
    /// well under a tenth of it.
    pub fuel_per_call: u64,
    /// Largest linear memory the plugin may have.
    pub max_memory_bytes: usize,
    /// Largest response accepted.
    pub max_response_bytes: usize,
}

impl Default for PolicyLimits {
    fn default() -> Self {
        PolicyLimits { fuel_per_call: 20_000_000, max_memory_bytes: 64 << 20, max_response_bytes: 1 << 20 }
    }
}

/// The plugin could not be loaded: it is not one this host can run.
#[derive(Debug, thiserror::Error)]
#[error("policy plugin {path}: {message}")]
pub struct PolicyLoadError {
    pub path: String,
    pub message: String,
}

/// One call went wrong; the soak records it and carries on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct PolicyFailure {
    /// `out_of_fuel`, `memory_limit`, `trap` or `malformed_response`.
    pub kind: &'static str,
    pub message: String,
}

/// Refuses memory growth past the cap and remembers the attempt, so the failure
/// can say what was asked for rather than just "trap".
struct CapLimiter {
    max_memory_bytes: usize,
    refused: Option<usize>,
}

impl ResourceLimiter for CapLimiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.max_memory_bytes {
            self.refused = Some(desired);
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

struct Live {
    store: Store<CapLimiter>,
    memory: Memory,
    alloc: TypedFunc<u32, u32>,
    dealloc: TypedFunc<(u32, u32), ()>,
    propose: TypedFunc<(u32, u32), u32>,
}

pub struct PolicyPlugin {
    engine: Engine,
    module: Module,
    limits: PolicyLimits,
    live: Option<Live>,
    sha256: String,
    last_fuel_used: Option<u64>,
}

impl PolicyPlugin {
    /// Reads, compiles and checks a plugin: no imports, the policy exports, and
    /// the policy ABI version this host speaks.
    pub fn load(path: &Path, limits: PolicyLimits) -> Result<Self, PolicyLoadError> {
        let err = |message: String| PolicyLoadError { path: path.display().to_string(), message };
        let bytes = std::fs::read(path).map_err(|e| err(format!("cannot read it: {e}")))?;
        // wasmparser's messages can span lines; an error is one line.
        Self::from_bytes(&bytes, limits).map_err(|m| err(m.split_whitespace().collect::<Vec<_>>().join(" ")))
    }

    pub fn from_bytes(bytes: &[u8], limits: PolicyLimits) -> Result<Self, String> {
        let mut config = deterministic_config();
        config.consume_fuel(true);
        let engine = Engine::new(&config).map_err(|e| format!("configuring wasmtime: {e}"))?;
        let module = Module::new(&engine, bytes).map_err(|e| format!("not a valid wasm module: {e:#}"))?;
        let imports: Vec<String> = module.imports().map(|i| format!("{}::{}", i.module(), i.name())).collect();
        if !imports.is_empty() {
            return Err(format!(
                "imports {}; a policy must import nothing (no WASI, no host functions)",
                imports.join(", ")
            ));
        }
        let mut plugin = PolicyPlugin {
            engine,
            module,
            limits,
            live: None,
            sha256: hex::encode(Sha256::digest(bytes)),
            last_fuel_used: None,
        };
        let (live, version) = plugin.instantiate().map_err(|f| format!("cannot start it: {f}"))?;
        if version != POLICY_ABI_VERSION {
            return Err(format!(
                "speaks policy ABI v{version}, this mmsoak speaks v{POLICY_ABI_VERSION}; rebuild it against this version"
            ));
        }
        plugin.live = Some(live);
        Ok(plugin)
    }

    /// Hex sha256 of the plugin's bytes (recorded in the run's settings).
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Fuel the last successful call used: how close a policy is to its budget.
    pub fn last_fuel_used(&self) -> Option<u64> {
        self.last_fuel_used
    }

    /// A fresh instance, and the ABI version it reports.
    fn instantiate(&self) -> Result<(Live, u32), PolicyFailure> {
        let limiter = CapLimiter { max_memory_bytes: self.limits.max_memory_bytes, refused: None };
        let mut store = Store::new(&self.engine, limiter);
        store.limiter(|l| l as &mut dyn ResourceLimiter);
        // Fuel for the start function, then the per-call budget is set after
        // instantiation (set before, Windows and Linux stopped at different points).
        set_fuel(&mut store, self.limits.fuel_per_call)?;
        let instance = Instance::new(&mut store, &self.module, &[]).map_err(|e| classify(&store, e))?;
        let memory = instance.get_memory(&mut store, "memory").ok_or_else(|| malformed("no exported memory"))?;
        let version: TypedFunc<(), u32> = export(&instance, &mut store, "mmsoak_policy_abi_version")?;
        let live = Live {
            alloc: export(&instance, &mut store, "alloc")?,
            dealloc: export(&instance, &mut store, "dealloc")?,
            propose: export(&instance, &mut store, "mmsoak_policy_propose")?,
            memory,
            store,
        };
        let mut live = live;
        set_fuel(&mut live.store, self.limits.fuel_per_call)?;
        let found = version.call(&mut live.store, ()).map_err(|e| classify(&live.store, e))?;
        Ok((live, found))
    }

    /// Asks the policy for deltas. Any failure leaves the plugin ready for the
    /// next call on a fresh instance (a trapped instance may be corrupt).
    pub fn propose(&mut self, request: &PolicyRequest) -> Result<PolicyResponse, PolicyFailure> {
        let result = self.call(request);
        self.last_fuel_used = None;
        match &mut self.live {
            Some(live) if result.is_ok() => {
                self.last_fuel_used = live.store.get_fuel().ok().map(|left| self.limits.fuel_per_call - left);
            }
            _ => self.live = None,
        }
        result
    }

    fn call(&mut self, request: &PolicyRequest) -> Result<PolicyResponse, PolicyFailure> {
        if self.live.is_none() {
            self.live = Some(self.instantiate()?.0);
        }
        let max_response = self.limits.max_response_bytes;
        let fuel = self.limits.fuel_per_call;
        let live = self.live.as_mut().expect("instantiated above");
        let input = serde_json::to_vec(request).map_err(|e| malformed(format!("request not serializable: {e}")))?;
        let len = u32::try_from(input.len()).map_err(|_| malformed("request larger than 4 GiB"))?;
        set_fuel(&mut live.store, fuel)?;
        let ptr = live.alloc.call(&mut live.store, len).map_err(|e| classify(&live.store, e))?;
        live.memory
            .write(&mut live.store, ptr as usize, &input)
            .map_err(|_| malformed(format!("alloc returned {ptr}, outside its memory")))?;
        let out = live.propose.call(&mut live.store, (ptr, len)).map_err(|e| classify(&live.store, e))?;
        let mut len_bytes = [0u8; 4];
        live.memory
            .read(&live.store, out as usize, &mut len_bytes)
            .map_err(|_| malformed(format!("response pointer {out} is outside its memory")))?;
        let n = u32::from_le_bytes(len_bytes) as usize;
        if n > max_response {
            return Err(malformed(format!("response of {n} bytes exceeds the {max_response}-byte limit")));
        }
        let mut buf = vec![0u8; n];
        live.memory
            .read(&live.store, out as usize + 4, &mut buf)
            .map_err(|_| malformed(format!("response of {n} bytes at {out} runs past its memory")))?;
        live.dealloc.call(&mut live.store, (out, (n + 4) as u32)).map_err(|e| classify(&live.store, e))?;
        serde_json::from_slice(&buf).map_err(|e| {
            let shown: String = String::from_utf8_lossy(&buf).chars().take(60).collect();
            malformed(format!("not a policy response ({e}); it began {shown:?}"))
        })
    }
}

fn set_fuel(store: &mut Store<CapLimiter>, fuel: u64) -> Result<(), PolicyFailure> {
    store.set_fuel(fuel).map_err(|e| PolicyFailure { kind: "trap", message: format!("setting fuel: {e}") })
}

fn export<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
    instance: &Instance,
    store: &mut Store<CapLimiter>,
    name: &str,
) -> Result<TypedFunc<P, R>, PolicyFailure> {
    instance
        .get_typed_func::<P, R>(&mut *store, name)
        .map_err(|e| malformed(format!("export {name} missing or of the wrong type: {e}")))
}

fn malformed(message: impl Into<String>) -> PolicyFailure {
    PolicyFailure { kind: "malformed_response", message: message.into() }
}

/// Names what stopped the plugin. Only deterministic facts go in the message
/// (no backtraces, no timings): it ends up in byte-compared artifacts.
fn classify(store: &Store<CapLimiter>, error: wasmtime::Error) -> PolicyFailure {
    let cap = store.data().max_memory_bytes;
    if let Some(desired) = store.data().refused {
        return PolicyFailure {
            kind: "memory_limit",
            message: format!(
                "tried to grow its memory to {} MiB; the cap is {} MiB",
                desired.div_ceil(1 << 20),
                cap >> 20
            ),
        };
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => PolicyFailure {
            kind: "out_of_fuel",
            message: "stopped after its instruction budget (an endless loop, or far too much work for one call)".into(),
        },
        Some(trap) => PolicyFailure { kind: "trap", message: format!("wasm trap: {trap}") },
        None => PolicyFailure { kind: "trap", message: error.root_cause().to_string() },
    }
}
