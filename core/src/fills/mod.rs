//! `--source fills`: a bot appends JSON lines (its fills, its blocked quotes, mid
//! samples) and mmsoak computes each iteration's KPIs itself. [`lines`] is the
//! line format and its parser, [`kpis`] the maths; following the file across
//! iterations (offsets, half-written lines, truncation, rotation) is the shell's
//! (`cli/src/fills_source.rs`).

use serde::{Deserialize, Serialize};

pub mod kpis;
pub mod lines;

#[cfg(test)]
mod tests;

pub use kpis::{edge_from_lines, WindowInputs, WindowOutcome, MARKOUT_HORIZON_MS};
pub use lines::{parse_line, BlockEvent, BlockReason, Fill, FillsLine, Liquidity, MidSample, Side};

/// What one iteration read from the fills log, kept in its EDGE_REPORT
/// (`source_notes.fills_log`) and so in its ITER_SUMMARY.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FillsLogNotes {
    /// Complete lines read and used this iteration (fills, blocks, mid samples).
    pub lines: u64,
    /// Fill lines among them (stale ones included).
    pub fills: u64,
    /// Block lines among them.
    pub blocks: u64,
    /// Mid-sample lines among them.
    pub mids: u64,
    /// Lines that could not be used (not JSON, an unknown `type`, a missing or bad
    /// field): left out of the KPIs, the run goes on.
    #[serde(default)]
    pub bad_lines: u64,
    /// The first of those lines' errors (at most [`MAX_ERRORS`]), each
    /// `FILE line N: field: why`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// Fills whose `params` were not those in force (the bot had not applied the
    /// change yet): left out of the KPIs.
    #[serde(default)]
    pub stale_fills: u64,
    /// Maker fills whose markout horizon reached past the last mid sample read
    /// this iteration: measured at that sample.
    #[serde(default)]
    pub short_markouts: u64,
    /// Set when the bot truncated or replaced the log since the last iteration:
    /// reading restarted at the new file's start. Says which and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restarted: Option<String>,
}

/// How many bad lines' errors an iteration keeps (the count has them all).
pub const MAX_ERRORS: usize = 5;
