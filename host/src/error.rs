use thiserror::Error;

/// Anything that can go wrong running a core call.
#[derive(Debug, Error)]
pub enum EngineError {
    /// The core rejected the request (bad input or ABI version mismatch).
    #[error("core rejected the {call} call ({kind}): {message}")]
    Abi { call: &'static str, kind: String, message: String },
    /// The wasm instance trapped or could not be set up.
    #[error("wasm engine failed during {context}: {message}")]
    Wasm { context: String, message: String },
    /// The core answered with bytes that are not the expected JSON.
    #[error("core returned malformed JSON for {call}: {message}")]
    Decode { call: &'static str, message: String },
}

impl EngineError {
    pub(crate) fn wasm(context: impl Into<String>, err: impl std::fmt::Display) -> Self {
        EngineError::Wasm { context: context.into(), message: format!("{err:#}") }
    }
}
