//! EDGE_REPORT.json as a live bot writes it (schema v1): the same [`EdgeReport`] the
//! simulator produces, wrapped with what the runner needs to trust it — a sequence
//! number, when it was written, and the parameters the bot had in force.
//!
//! ```json
//! {"schema_version": 1, "sequence": 12, "generated_at_ms": 1764300000000,
//!  "params": {...runtime_overrides.json...}, "edge": {...EdgeReport...}}
//! ```
//! The runner takes a report only if its `sequence` is newer than the last one it
//! used, it was written after the runner began waiting for it, and `params` equal
//! the overrides in force: otherwise it describes some other parameters' trading.

use serde::{Deserialize, Serialize};

use crate::edge::EdgeReport;
use crate::params::Params;

pub const BOT_REPORT_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BotReport {
    pub schema_version: u32,
    /// Increases with every report the bot writes.
    pub sequence: u64,
    /// Unix time, milliseconds, when the bot wrote this report.
    pub generated_at_ms: u64,
    /// Parameters in force while the reported trading happened.
    pub params: Params,
    pub edge: EdgeReport,
}

impl BotReport {
    /// Everything but freshness (which needs a clock, so the shell checks it).
    pub fn check(&self) -> Result<(), String> {
        if self.schema_version != BOT_REPORT_SCHEMA_VERSION {
            return Err(format!(
                "schema_version: {} (this mmsoak reads v{BOT_REPORT_SCHEMA_VERSION})",
                self.schema_version
            ));
        }
        if let Some(bad) = self.params.out_of_bounds().first() {
            return Err(format!("params.{}: {} is outside its bounds", bad.name, bad.value));
        }
        self.edge.check().map_err(|e| format!("edge.{e}"))
    }
}
