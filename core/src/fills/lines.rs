//! The fills log's lines: one JSON object per line, its `type` saying which.
//!
//! ```json
//! {"type":"fill","time_ms":1764300000123,"side":"buy","price":99.98,"quantity":0.5,"fee":-0.0075,"liquidity":"maker","mid":100.0}
//! {"type":"block","time_ms":1764300000200,"reason":"risk"}
//! {"type":"mid","time_ms":1764300000250,"mid":100.01,"bid":100.0,"ask":100.02}
//! ```
//! Fields this mmsoak does not know are accepted (forward compatibility) and
//! reported back by [`parse_line`], never dropped silently.

use serde::{Deserialize, Serialize};

use crate::bot_report::{decode, ReportError};
use crate::params::Params;

/// Which way a fill traded, from the bot's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Side {
    /// The bot bought (inventory grows).
    Buy,
    /// The bot sold (inventory shrinks).
    Sell,
}

impl Side {
    /// +1 for a buy, −1 for a sell.
    pub fn sign(self) -> f64 {
        match self {
            Side::Buy => 1.0,
            Side::Sell => -1.0,
        }
    }
}

/// Whether the fill rested on the book (maker) or crossed the spread (taker, e.g. a hedge).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Liquidity {
    Maker,
    Taker,
}

/// A trade of the bot's own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Fill {
    /// Unix time of the fill, milliseconds (the bot's clock).
    pub time_ms: u64,
    pub side: Side,
    /// Fill price, quote currency per base unit; > 0.
    pub price: f64,
    /// Filled quantity, base units; > 0.
    pub quantity: f64,
    /// Fee paid for this fill, quote currency; a rebate received is negative.
    pub fee: f64,
    pub liquidity: Liquidity,
    /// The mid just before the fill, quote currency; > 0.
    pub mid: f64,
    /// Best bid and ask just before the fill (optional): taker slippage is measured
    /// from them; without them, from the mid ± the last known half spread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bid: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ask: Option<f64>,
    /// The parameters the bot traded with (optional, runtime_overrides.json's
    /// shape). When given and not those in force, the fill is left out of the
    /// iteration's KPIs as stale (the bot had not applied the change yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Params>,
}

/// Why a quote the strategy wanted was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum BlockReason {
    /// Inventory at its limit.
    Risk,
    /// The refresh throttle (`min_interval_ms`).
    MinInterval,
    /// Too many live orders (`concurrency_limit`).
    Concurrency,
}

/// Quotes held back, `count` of them (1 when left out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BlockEvent {
    /// Unix time, milliseconds.
    pub time_ms: u64,
    pub reason: BlockReason,
    #[serde(default = "one")]
    pub count: u64,
}

fn one() -> u64 {
    1
}

/// The market's mid (and optionally its touch) at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MidSample {
    /// Unix time, milliseconds.
    pub time_ms: u64,
    /// Quote currency; > 0.
    pub mid: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bid: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ask: Option<f64>,
}

/// One line of the fills log, tagged by `type`: `fill`, `block` or `mid`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum FillsLine {
    Fill(Fill),
    Block(BlockEvent),
    Mid(MidSample),
}

#[derive(Deserialize)]
struct TypeProbe {
    #[serde(rename = "type")]
    kind: String,
}

/// Parses one line (without its newline). Returns the line and the fields it
/// carried that this mmsoak does not know; the error names the field and the bad
/// value (`price: must be a positive finite number, got -3`).
pub fn parse_line(text: &str) -> Result<(FillsLine, Vec<String>), String> {
    let text = text.strip_suffix('\r').unwrap_or(text);
    let bytes = text.as_bytes();
    let probe: TypeProbe = decode(bytes, &mut |_| {}).map_err(message)?;
    let mut unknown = Vec::new();
    let mut note = |path: String| {
        if path != "type" {
            unknown.push(path)
        }
    };
    let line = match probe.kind.as_str() {
        "fill" => FillsLine::Fill(decode(bytes, &mut note).map_err(message)?),
        "block" => FillsLine::Block(decode(bytes, &mut note).map_err(message)?),
        "mid" => FillsLine::Mid(decode(bytes, &mut note).map_err(message)?),
        other => return Err(format!("type: {other:?} is not a line type (fill, block or mid)")),
    };
    check(&line)?;
    unknown.sort();
    unknown.dedup();
    Ok((line, unknown))
}

fn message(e: ReportError) -> String {
    match e {
        ReportError::Malformed(m) | ReportError::Invalid(m) => m,
    }
}

fn positive(name: &str, v: f64) -> Result<(), String> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(format!("{name}: must be a positive finite number, got {v}"))
    }
}

fn touch(bid: Option<f64>, ask: Option<f64>) -> Result<(), String> {
    if let Some(b) = bid {
        positive("bid", b)?;
    }
    if let Some(a) = ask {
        positive("ask", a)?;
    }
    match (bid, ask) {
        (Some(b), Some(a)) if b > a => Err(format!("bid: {b} is above ask {a}")),
        _ => Ok(()),
    }
}

fn check(line: &FillsLine) -> Result<(), String> {
    match line {
        FillsLine::Fill(f) => {
            positive("price", f.price)?;
            positive("quantity", f.quantity)?;
            positive("mid", f.mid)?;
            if !f.fee.is_finite() {
                return Err(format!("fee: must be a finite number, got {}", f.fee));
            }
            touch(f.bid, f.ask)?;
            if let Some(bad) = f.params.as_ref().and_then(|p| p.out_of_bounds().into_iter().next()) {
                return Err(format!("params.{}: {} is outside its bounds", bad.name, bad.value));
            }
            Ok(())
        }
        FillsLine::Block(_) => Ok(()),
        FillsLine::Mid(m) => {
            positive("mid", m.mid)?;
            touch(m.bid, m.ask)
        }
    }
}
