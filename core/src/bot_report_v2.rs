//! EDGE_REPORT.json schema v2: the short form a real bot can write. Only the KPIs
//! the gate and the tuner read are required; every other v1 field may be left out,
//! and fields this mmsoak does not know are accepted (forward compatibility) and
//! reported back as [`crate::edge::SourceNotes::unknown_fields`], never dropped
//! silently. A v1 report with `schema_version` set to 2 is a valid v2 report.
//!
//! The smallest valid v2 report:
//! ```json
//! {"schema_version": 2, "sequence": 12, "generated_at_ms": 1764300000000,
//!  "params": {...runtime_overrides.json...},
//!  "edge": {"net_bps": 3.1, "risk_ratio": 0.2, "adverse": {"p95": 4.0},
//!           "slippage": {"p95": 1.0}, "maker_fills": 120, "taker_fills": 8}}
//! ```
//! Left-out numbers are 0 in the iteration's EDGE_REPORT (as in a KPI recording,
//! [`crate::edge::KpiObservation`]); a left-out `regime` is `calm`.

use serde::{Deserialize, Serialize};

use crate::edge::{
    round6, BlockCounts, EdgeReport, InventoryStats, Quantiles, SourceNotes, EDGE_REPORT_SCHEMA_VERSION,
};
use crate::market::Regime;
use crate::params::Params;

/// The v2 wrapper: the same trust fields as v1 (the runner needs them to tell a
/// fresh report made with the parameters in force from a stale one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BotReportV2 {
    /// Always 2.
    pub schema_version: u32,
    /// Increases with every report the bot writes.
    pub sequence: u64,
    /// Unix time, milliseconds, when the bot wrote this report.
    pub generated_at_ms: u64,
    /// Parameters in force while the reported trading happened (runtime_overrides.json's shape).
    pub params: Params,
    pub edge: EdgeV2,
}

/// A distribution of a per-fill quantity in bps; only `p95` is required.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct QuantilesV2 {
    /// 95th percentile, bps.
    pub p95: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99: Option<f64>,
}

/// Quotes the strategy wanted but did not send, by reason (counts; a left-out one is 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BlocksV2 {
    /// Inventory at its limit blocked a quote on the side that would grow it.
    pub risk: u64,
    /// The refresh throttle (`min_interval_ms`) held a requote back.
    pub min_interval: u64,
    /// Too many live orders (`concurrency_limit`).
    pub concurrency: u64,
}

/// Inventory figures, base units; all optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct InventoryV2 {
    pub final_units: Option<f64>,
    pub max_abs_units: Option<f64>,
    /// Inventory at the end of each minute.
    pub path: Option<Vec<f64>>,
}

/// The edge of a v2 report. Required: `net_bps`, `adverse.p95`, `slippage.p95`,
/// `maker_fills`, `taker_fills`, and `risk_ratio` or `blocks` (or both: then
/// `risk_ratio` is used as given). Names, meanings and units are v1's
/// ([`EdgeReport`]). Give `blocks` when you can: the tuner widens the refresh
/// interval when concurrency blocks dominate, which it cannot see from a ratio.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EdgeV2 {
    /// spread capture + rebates − adverse selection − fees − hedging cost, bps of maker notional.
    pub net_bps: f64,
    /// Markout loss of each maker fill over the horizon, from its price, bps (positive = lost).
    pub adverse: QuantilesV2,
    /// Price paid beyond the touch by each taker (hedge) fill, bps.
    pub slippage: QuantilesV2,
    pub maker_fills: u64,
    pub taker_fills: u64,
    /// Risk blocks over all blocks, in [0, 1]; from `blocks` when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_ratio: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks: Option<BlocksV2>,
    /// Accepted from v1 bodies and ignored (the edge's own version is mmsoak's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iteration: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regime: Option<Regime>,
    /// Seconds of trading the report covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<u32>,
    /// Traded notional, quote currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notional: Option<f64>,
    /// Edge components, bps of maker notional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread_capture_bps: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebates_bps: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fees_bps: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adverse_cost_bps: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hedge_cost_bps: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market_trades: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub book_events: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quotes_placed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancels: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<InventoryV2>,
    /// Largest peak-to-trough fall of mark-to-market PnL, bps of the inventory limit's notional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_drawdown_bps: Option<f64>,
    /// Mid at the start and the end of the report's trading, quote currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mid_start: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mid_end: Option<f64>,
}

fn quantiles(q: &QuantilesV2) -> Quantiles {
    let z = |x: Option<f64>| x.unwrap_or(0.0);
    Quantiles { mean: z(q.mean), p50: z(q.p50), p95: q.p95, p99: z(q.p99) }
}

impl EdgeV2 {
    /// The full EDGE_REPORT this v2 edge stands for, checked like a v1 edge. The
    /// error names the field (`risk_ratio`, `adverse.p95`, ...) and the bad value.
    pub fn into_report(self) -> Result<EdgeReport, String> {
        let blocks = self.blocks.unwrap_or_default();
        let blocks =
            BlockCounts { risk: blocks.risk, min_interval: blocks.min_interval, concurrency: blocks.concurrency };
        let risk_ratio = match (self.risk_ratio, self.blocks) {
            (Some(r), _) => r,
            (None, Some(_)) => round6(blocks.risk_ratio()),
            (None, None) => return Err("risk_ratio or blocks: one is required, neither was given".into()),
        };
        let z = |x: Option<f64>| x.unwrap_or(0.0);
        let inv = self.inventory.unwrap_or_default();
        let report = EdgeReport {
            schema_version: EDGE_REPORT_SCHEMA_VERSION,
            iteration: self.iteration.unwrap_or(0),
            regime: self.regime.unwrap_or(Regime::Calm),
            duration_s: self.duration_s.unwrap_or(0),
            maker_fills: self.maker_fills,
            taker_fills: self.taker_fills,
            notional: z(self.notional),
            spread_capture_bps: z(self.spread_capture_bps),
            rebates_bps: z(self.rebates_bps),
            fees_bps: z(self.fees_bps),
            adverse_cost_bps: z(self.adverse_cost_bps),
            hedge_cost_bps: z(self.hedge_cost_bps),
            net_bps: self.net_bps,
            adverse: quantiles(&self.adverse),
            slippage: quantiles(&self.slippage),
            blocks,
            risk_ratio,
            market_trades: self.market_trades.unwrap_or(0),
            book_events: self.book_events.unwrap_or(0),
            quotes_placed: self.quotes_placed.unwrap_or(0),
            cancels: self.cancels.unwrap_or(0),
            inventory: InventoryStats {
                final_units: z(inv.final_units),
                max_abs_units: z(inv.max_abs_units),
                path: inv.path.unwrap_or_default(),
            },
            max_drawdown_bps: z(self.max_drawdown_bps),
            mid_start: z(self.mid_start),
            mid_end: z(self.mid_end),
            data_quality: None,
            bar_window: None,
            source_notes: None,
        };
        report.check()?;
        if let Some(bad) = report.inventory.path.iter().find(|x| !x.is_finite()) {
            return Err(format!("inventory.path: must hold finite numbers, got {bad}"));
        }
        for (name, v) in [("inventory.final_units", inv.final_units), ("inventory.max_abs_units", inv.max_abs_units)] {
            if v.is_some_and(|v| !v.is_finite()) {
                return Err(format!("{name}: must be a finite number, got {}", v.unwrap_or(0.0)));
            }
        }
        Ok(SourceNotes::attach(report, Vec::new()))
    }
}

impl SourceNotes {
    /// `report` with `unknown` recorded (no notes at all when there is nothing to say).
    pub fn attach(mut report: EdgeReport, mut unknown: Vec<String>) -> EdgeReport {
        unknown.sort();
        unknown.dedup();
        if !unknown.is_empty() {
            report.source_notes.get_or_insert_with(SourceNotes::default).unknown_fields = unknown;
        }
        report
    }
}
