//! The core linked natively, behind the same ABI: the reference the wasm engine
//! is checked against.

use mmsoak_core::abi::{dispatch, ABI_VERSION};
use mmsoak_core::report::EngineRecord;

use crate::engine::CoreRuntime;
use crate::{core_wasm_sha256, EngineError};

#[derive(Debug, Default)]
pub struct NativeRuntime;

impl CoreRuntime for NativeRuntime {
    fn call_raw(&mut self, call: &'static str, request: &[u8]) -> Result<Vec<u8>, EngineError> {
        Ok(dispatch(call, request))
    }

    fn record(&self) -> EngineRecord {
        EngineRecord { kind: "native".into(), core_sha256: core_wasm_sha256(), abi_version: ABI_VERSION, runtime: None }
    }
}
