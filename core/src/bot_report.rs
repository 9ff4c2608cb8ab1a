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
//!
//! Schema v2 (`crate::bot_report_v2`) needs only the KPIs; [`parse`] reads either,
//! switching explicitly on `schema_version`.

use serde::{Deserialize, Serialize};

use crate::edge::EdgeReport;
use crate::params::Params;

pub const BOT_REPORT_SCHEMA_VERSION: u32 = 1;
/// The short schema ([`crate::bot_report_v2::BotReportV2`]).
pub const BOT_REPORT_SCHEMA_V2: u32 = 2;

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

/// A report read from either schema: the trust fields, and the edge the runner uses.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedReport {
    /// 1 or 2, as the file said.
    pub schema_version: u32,
    pub sequence: u64,
    pub generated_at_ms: u64,
    pub params: Params,
    /// The full EDGE_REPORT (v2's left-out fields at 0); under v2, unknown fields
    /// are listed in its `source_notes`.
    pub edge: EdgeReport,
    /// v2: fields this mmsoak does not know, as JSON paths (`edge.pnl_usd`), sorted.
    pub unknown_fields: Vec<String>,
}

/// Why a report cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportError {
    /// Not JSON of the schema's shape; the text names the JSON path (`edge.net_bps: ...`).
    Malformed(String),
    /// The right shape but a bad value; the text names the field and the value.
    Invalid(String),
}

#[derive(Deserialize)]
struct VersionProbe {
    schema_version: u32,
}

/// Reads EDGE_REPORT.json bytes of schema v1 or v2 (the `schema_version` field
/// decides; any other version is an [`ReportError::Invalid`]). Freshness is not
/// checked here: it needs a clock.
pub fn parse(bytes: &[u8]) -> Result<ParsedReport, ReportError> {
    let probe: VersionProbe = decode(bytes, &mut |_| {})?;
    match probe.schema_version {
        BOT_REPORT_SCHEMA_VERSION => {
            let r: BotReport = decode(bytes, &mut |_| {})?;
            r.check().map_err(ReportError::Invalid)?;
            let BotReport { schema_version, sequence, generated_at_ms, params, edge } = r;
            Ok(ParsedReport { schema_version, sequence, generated_at_ms, params, edge, unknown_fields: Vec::new() })
        }
        BOT_REPORT_SCHEMA_V2 => {
            let mut unknown = Vec::new();
            let r: crate::bot_report_v2::BotReportV2 = decode(bytes, &mut |path| unknown.push(path))?;
            if let Some(bad) = r.params.out_of_bounds().first() {
                return Err(ReportError::Invalid(format!("params.{}: {} is outside its bounds", bad.name, bad.value)));
            }
            let edge = r.edge.into_report().map_err(|e| ReportError::Invalid(format!("edge.{e}")))?;
            unknown.sort();
            unknown.dedup();
            Ok(ParsedReport {
                schema_version: BOT_REPORT_SCHEMA_V2,
                sequence: r.sequence,
                generated_at_ms: r.generated_at_ms,
                params: r.params,
                edge: crate::edge::SourceNotes::attach(edge, unknown.clone()),
                unknown_fields: unknown,
            })
        }
        other => Err(ReportError::Invalid(format!(
            "schema_version: {other} (this mmsoak reads v{BOT_REPORT_SCHEMA_VERSION} and v{BOT_REPORT_SCHEMA_V2})"
        ))),
    }
}

/// Deserializes `bytes` as `T`, naming the JSON path of the first error, and
/// passing the path of every field `T` does not know to `ignored`.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    ignored: &mut dyn FnMut(String),
) -> Result<T, ReportError> {
    let mut json = serde_json::Deserializer::from_slice(bytes);
    let mut track = serde_path_to_error::Track::new();
    let tracked = serde_path_to_error::Deserializer::new(&mut json, &mut track);
    // serde_ignored marks a step into an `Option` with `?`: not part of the JSON path.
    let value = serde_ignored::deserialize(tracked, |path| ignored(path.to_string().replace(".?", "")));
    let value = match value {
        Ok(v) => json.end().map(|()| v),
        Err(e) => Err(e),
    };
    value.map_err(|e| {
        let at = track.path().to_string();
        let at = if at == "." || at.is_empty() { String::new() } else { format!("{at}: ") };
        ReportError::Malformed(format!("{at}{e}"))
    })
}

#[cfg(test)]
#[path = "bot_report_tests.rs"]
mod tests;
