//! Binance websocket capture (placeholder; being written).
use super::{Event, LineDecoder, TickSize};
use serde::{Deserialize, Serialize};

pub fn looks_like(_line: &str) -> bool {
    false
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BinanceDecoder {
    tick: TickSize,
}
impl BinanceDecoder {
    pub fn new(tick: TickSize) -> Self {
        BinanceDecoder { tick }
    }
}
impl LineDecoder for BinanceDecoder {
    fn decode(&mut self, _line: &str, _paired: Option<&str>, _out: &mut Vec<Event>) -> Result<(), String> {
        Err("Binance decoder not yet written".into())
    }
    fn finish(&mut self, _out: &mut Vec<Event>) -> Result<(), String> {
        Ok(())
    }
}
