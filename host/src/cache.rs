//! On-disk cache of compiled wasm modules: compiling the core with Cranelift takes
//! a while; loading its serialized machine code takes milliseconds.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::{Engine, Module};

use crate::EngineError;

/// Where compiled modules live. `None` disables the cache.
#[derive(Debug, Clone)]
pub struct ModuleCache {
    dir: Option<PathBuf>,
}

/// Whether a load came from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    Hit,
    Miss,
    Disabled,
}

impl ModuleCache {
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        ModuleCache { dir: Some(dir.into()) }
    }

    pub fn disabled() -> Self {
        ModuleCache { dir: None }
    }

    /// `MMSOAK_CACHE_DIR`, else the platform cache directory
    /// (`$XDG_CACHE_HOME`, `~/.cache`, `%LOCALAPPDATA%`), else no cache.
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        if let Some(dir) = var("MMSOAK_CACHE_DIR") {
            return ModuleCache::at(dir);
        }
        let base =
            var("XDG_CACHE_HOME").or_else(|| var("LOCALAPPDATA")).or_else(|| var("HOME").map(|h| h.join(".cache")));
        ModuleCache { dir: base.map(|b| b.join("mmsoak").join("modules")) }
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    fn path_for(&self, engine: &Engine, wasm: &[u8]) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        let digest = hex::encode(Sha256::digest(wasm));
        Some(dir.join(format!("{}-{:016x}.cwasm", &digest[..32], h.finish())))
    }

    /// Loads the compiled module from the cache, or compiles and stores it. A corrupt
    /// or incompatible cache entry is recompiled and replaced, never fatal.
    pub fn load_or_compile(&self, engine: &Engine, wasm: &[u8]) -> Result<(Module, CacheOutcome), EngineError> {
        let Some(path) = self.path_for(engine, wasm) else {
            let module = Module::new(engine, wasm).map_err(|e| EngineError::wasm("compiling the core", e))?;
            return Ok((module, CacheOutcome::Disabled));
        };
        if path.exists() {
            // SAFETY: the file is one this cache wrote (atomically) for this engine's
            // compatibility hash and these exact wasm bytes; wasmtime checks its header.
            if let Ok(module) = unsafe { Module::deserialize_file(engine, &path) } {
                return Ok((module, CacheOutcome::Hit));
            }
        }
        let module = Module::new(engine, wasm).map_err(|e| EngineError::wasm("compiling the core", e))?;
        // The cache is an optimisation: failing to write it only costs the next start.
        if let Ok(bytes) = module.serialize() {
            let _ = write_atomic(&path, &bytes);
        }
        Ok((module, CacheOutcome::Miss))
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
