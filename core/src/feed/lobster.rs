//! LOBSTER message + orderbook files (placeholder; being written).
use super::{Event, LineDecoder, TickSize};
use serde::{Deserialize, Serialize};

pub fn looks_like_message(_line: &str) -> bool {
    false
}
pub fn looks_like_orderbook(_line: &str) -> bool {
    false
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LobsterDecoder {
    tick: TickSize,
}
impl LobsterDecoder {
    pub fn new(tick: TickSize) -> Self {
        LobsterDecoder { tick }
    }
}
impl LineDecoder for LobsterDecoder {
    fn decode(&mut self, _line: &str, _paired: Option<&str>, _out: &mut Vec<Event>) -> Result<(), String> {
        Err("LOBSTER decoder not yet written".into())
    }
    fn finish(&mut self, _out: &mut Vec<Event>) -> Result<(), String> {
        Ok(())
    }
}
