//! mmsoak-host: the only crate that knows wasmtime. It embeds the core's .wasm
//! (built by build.rs), compiles it once per machine into an on-disk cache, and
//! offers [`Engine`], a typed API over either that wasm or the natively linked core.

mod cache;
mod engine;
mod error;
mod native;
mod policy;
mod wasm;

pub use cache::{CacheOutcome, ModuleCache};
pub use engine::{CoreRuntime, Engine};
pub use error::EngineError;
pub use native::NativeRuntime;
pub use policy::{PolicyFailure, PolicyLimits, PolicyLoadError, PolicyPlugin};
pub use wasm::{WasmLimits, WasmRuntime, WASMTIME_VERSION};

use sha2::{Digest, Sha256};

/// The core's wasm bytes, built from this source tree.
pub static CORE_WASM: &[u8] = include_bytes!(env!("MMSOAK_CORE_WASM"));

/// Hex sha256 of [`CORE_WASM`]: the identity recorded in every TUNING_REPORT.
pub fn core_wasm_sha256() -> String {
    hex::encode(Sha256::digest(CORE_WASM))
}

/// Which engine runs the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    Wasm,
    Native,
}

/// Builds an engine of the requested kind; `cache` is where compiled wasm is kept.
pub fn open_engine(kind: EngineKind, cache: &ModuleCache) -> Result<Engine, EngineError> {
    Ok(match kind {
        EngineKind::Native => Engine::new(Box::new(NativeRuntime)),
        EngineKind::Wasm => Engine::new(Box::new(WasmRuntime::new(CORE_WASM, cache, WasmLimits::default())?)),
    })
}
