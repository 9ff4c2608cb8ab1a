//! Tardis.dev CSV (placeholder; being written).
use super::{Event, LineDecoder, TickSize};
use serde::{Deserialize, Serialize};

pub fn looks_like(_line: &str) -> bool {
    false
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TardisDecoder {
    tick: TickSize,
}
impl TardisDecoder {
    pub fn new(tick: TickSize) -> Self {
        TardisDecoder { tick }
    }
}
impl LineDecoder for TardisDecoder {
    fn decode(&mut self, _line: &str, _paired: Option<&str>, _out: &mut Vec<Event>) -> Result<(), String> {
        Err("Tardis decoder not yet written".into())
    }
    fn finish(&mut self, _out: &mut Vec<Event>) -> Result<(), String> {
        Ok(())
    }
}
