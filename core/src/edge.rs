//! EDGE_REPORT: what one iteration of trading earned and risked. The simulator
//! produces it; an external bot writes the same schema (`EDGE_REPORT.json`).

use serde::{Deserialize, Serialize};

use crate::market::Regime;

pub const EDGE_REPORT_SCHEMA_VERSION: u32 = 1;

/// Why quotes that the strategy wanted were not sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BlockCounts {
    /// Inventory at its limit blocked a quote on the side that would grow it.
    pub risk: u64,
    /// The refresh throttle (`min_interval_ms`) held a requote back.
    pub min_interval: u64,
    /// Too many live orders (`concurrency_limit`).
    pub concurrency: u64,
}

impl BlockCounts {
    pub fn total(&self) -> u64 {
        self.risk + self.min_interval + self.concurrency
    }

    /// Risk blocks over all blocks; 0 when nothing was blocked.
    pub fn risk_ratio(&self) -> f64 {
        crate::stats::ratio(self.risk as f64, self.total() as f64)
    }
}

/// Distribution summary of a per-fill quantity, in bps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Quantiles {
    pub mean: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct InventoryStats {
    pub final_units: f64,
    pub max_abs_units: f64,
    /// Inventory at the end of each simulated minute.
    pub path: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EdgeReport {
    pub schema_version: u32,
    pub iteration: u32,
    /// Regime in force (the concrete one, also under `mixed`).
    pub regime: Regime,
    pub duration_s: u32,
    pub maker_fills: u64,
    pub taker_fills: u64,
    /// Traded notional, quote currency.
    pub notional: f64,
    /// Edge components in bps of maker notional.
    pub spread_capture_bps: f64,
    pub rebates_bps: f64,
    pub fees_bps: f64,
    pub adverse_cost_bps: f64,
    pub hedge_cost_bps: f64,
    /// spread capture + rebates − adverse selection − fees − hedging cost.
    pub net_bps: f64,
    /// Move of the mid against each maker fill over the markout horizon, measured
    /// from the fill price (the fill's markout loss), bps. Positive = lost money.
    pub adverse: Quantiles,
    /// Price paid beyond the touch by each hedge (taker) order, bps.
    pub slippage: Quantiles,
    pub blocks: BlockCounts,
    pub risk_ratio: f64,
    /// Trades by other market participants during the iteration.
    pub market_trades: u64,
    /// Book updates processed (one per simulator step) plus market trades.
    pub book_events: u64,
    pub quotes_placed: u64,
    pub cancels: u64,
    pub inventory: InventoryStats,
    /// Largest peak-to-trough fall of mark-to-market PnL, bps of the inventory limit's notional.
    pub max_drawdown_bps: f64,
    pub mid_start: f64,
    pub mid_end: f64,
    /// Tick replays only: the real data behind this iteration and how clean it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_quality: Option<DataQuality>,
    /// Bar replays only: the bars behind this iteration, and the time without any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bar_window: Option<BarWindow>,
    /// Live sources only (`--source external` v2, `--source fills`): what mmsoak
    /// accepted from the bot's output without using it, or could not use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_notes: Option<SourceNotes>,
}

/// What a live bot sent that did not go into the KPIs, kept with the iteration so
/// nothing is dropped silently.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SourceNotes {
    /// Fields this mmsoak does not know, as JSON paths (`edge.pnl_usd`, or
    /// `line 7: venue` in a fills log), sorted, each once. Accepted for forward
    /// compatibility (EDGE_REPORT v2, fills-log lines), not used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown_fields: Vec<String>,
    /// `--source fills`: what this iteration read from the fills log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fills_log: Option<crate::fills::FillsLogNotes>,
}

/// Per-iteration facts of replayed bars (`--source replay`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BarWindow {
    /// The iteration's market time, Unix seconds `[start, end)` (on a looped pass,
    /// the data's times shifted by whole data spans).
    pub start: i64,
    pub end: i64,
    pub bar_seconds: u32,
    /// Bars overlapping the window.
    pub bars: u32,
    /// Market seconds of the window no bar covers: time without trading.
    pub gap_seconds: u32,
    /// Bars without volume (no market trades in them).
    pub zero_volume_bars: u32,
    /// Base volume traded in the window (bars straddling its edges pro rata).
    pub volume: f64,
    /// 0 on the data's first pass; 1 and more when `--loop-data` wrapped it.
    pub pass: u32,
}

/// Per-iteration facts of replayed tick data (`--source ticks`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DataQuality {
    /// The iteration's market-time window, exchange time in ns (LOBSTER: after midnight).
    pub window_start_ns: i64,
    pub window_end_ns: i64,
    /// Normalized events replayed (book changes, quotes, trades, L3 orders).
    pub events: u64,
    /// Market trades printed, and their total quantity.
    pub trades: u64,
    pub traded_volume: f64,
    /// Traded quantity of prints whose price reached one of our live quotes.
    pub volume_reaching_quotes: f64,
    /// Our passive (maker) filled quantity; never above `volume_reaching_quotes`.
    pub maker_volume: f64,
    /// Times the book became crossed or locked (best bid >= best ask).
    pub crossed_or_locked: u64,
    /// Sequence numbers skipped (depth-diff chain breaks and trade-id jumps).
    pub sequence_gaps: u64,
    /// Book rebuilt from a snapshot after a chain break.
    pub resyncs: u64,
    /// Cancels and executions of orders the data never showed arriving.
    pub unknown_order_ids: u64,
    /// Timestamps that stepped back (within the tolerance).
    pub out_of_order: u64,
    /// Trading halts.
    pub halts: u64,
}

impl EdgeReport {
    pub fn fills(&self) -> u64 {
        self.maker_fills + self.taker_fills
    }

    /// The all-zero report recorded for an iteration without a usable observation.
    pub fn empty(iteration: u32) -> Self {
        KpiObservation { net_bps: 0.0, risk_ratio: 0.0, adverse_p95: 0.0, slippage_p95: 0.0, fills: 0, blocks: None }
            .into_report(iteration)
    }

    /// Checks what a bot's report must satisfy beyond its shape: finite numbers,
    /// ratios in range, nothing negative that counts or measures a size. The error
    /// names the field and the bad value.
    pub fn check(&self) -> Result<(), String> {
        if self.schema_version != EDGE_REPORT_SCHEMA_VERSION {
            return Err(format!(
                "schema_version: {} (this mmsoak reads v{EDGE_REPORT_SCHEMA_VERSION})",
                self.schema_version
            ));
        }
        let q = |name: &'static str, q: &Quantiles| {
            [(name, "mean", q.mean), (name, "p50", q.p50), (name, "p95", q.p95), (name, "p99", q.p99)]
        };
        let mut fields: Vec<(&str, &str, f64)> = vec![
            ("", "notional", self.notional),
            ("", "spread_capture_bps", self.spread_capture_bps),
            ("", "rebates_bps", self.rebates_bps),
            ("", "fees_bps", self.fees_bps),
            ("", "adverse_cost_bps", self.adverse_cost_bps),
            ("", "hedge_cost_bps", self.hedge_cost_bps),
            ("", "net_bps", self.net_bps),
            ("", "risk_ratio", self.risk_ratio),
            ("", "max_drawdown_bps", self.max_drawdown_bps),
            ("", "mid_start", self.mid_start),
            ("", "mid_end", self.mid_end),
        ];
        fields.extend(q("adverse.", &self.adverse));
        fields.extend(q("slippage.", &self.slippage));
        for (prefix, name, v) in fields {
            if !v.is_finite() {
                return Err(format!("{prefix}{name}: must be a finite number, got {v}"));
            }
        }
        if !(0.0..=1.0).contains(&self.risk_ratio) {
            return Err(format!("risk_ratio: must be between 0 and 1, got {}", self.risk_ratio));
        }
        for (name, v) in [("notional", self.notional), ("mid_start", self.mid_start), ("mid_end", self.mid_end)] {
            if v < 0.0 {
                return Err(format!("{name}: must not be negative, got {v}"));
            }
        }
        Ok(())
    }
}

/// Rounds to 6 decimals so artifacts stay readable. Exact IEEE operations only,
/// so every platform rounds identically.
pub fn round6(x: f64) -> f64 {
    if !x.is_finite() {
        return 0.0;
    }
    libm::round(x * 1e6) / 1e6
}

/// The short form of an observation: just the KPIs the tuner and gate read. Lets
/// recorded KPIs (from a bot, a spreadsheet, a past run) drive the tuner directly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct KpiObservation {
    pub net_bps: f64,
    pub risk_ratio: f64,
    pub adverse_p95: f64,
    #[serde(default)]
    pub slippage_p95: f64,
    /// Maker fills; below the gate's minimum the iteration is INCONCLUSIVE.
    #[serde(default = "default_fills")]
    pub fills: u64,
    #[serde(default)]
    pub blocks: Option<BlockCounts>,
}

fn default_fills() -> u64 {
    100
}

impl KpiObservation {
    /// Checks every field; the error names the field and the bad value.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("net_bps", self.net_bps),
            ("risk_ratio", self.risk_ratio),
            ("adverse_p95", self.adverse_p95),
            ("slippage_p95", self.slippage_p95),
        ] {
            if !v.is_finite() {
                return Err(format!("{name} must be a finite number, got {v}"));
            }
        }
        if !(0.0..=1.0).contains(&self.risk_ratio) {
            return Err(format!("risk_ratio must be between 0 and 1, got {}", self.risk_ratio));
        }
        if self.slippage_p95 < 0.0 {
            return Err(format!("slippage_p95 must not be negative, got {}", self.slippage_p95));
        }
        Ok(())
    }

    /// An EDGE_REPORT carrying these KPIs (fields the KPIs do not determine are zero).
    pub fn into_report(self, iteration: u32) -> EdgeReport {
        let q = |p95: f64| Quantiles { mean: 0.0, p50: 0.0, p95: round6(p95), p99: 0.0 };
        EdgeReport {
            schema_version: EDGE_REPORT_SCHEMA_VERSION,
            iteration,
            regime: Regime::Calm,
            duration_s: 0,
            maker_fills: self.fills,
            taker_fills: 0,
            notional: 0.0,
            spread_capture_bps: 0.0,
            rebates_bps: 0.0,
            fees_bps: 0.0,
            adverse_cost_bps: 0.0,
            hedge_cost_bps: 0.0,
            net_bps: round6(self.net_bps),
            adverse: q(self.adverse_p95),
            slippage: q(self.slippage_p95),
            blocks: self.blocks.unwrap_or_default(),
            risk_ratio: round6(self.risk_ratio),
            market_trades: 0,
            book_events: 0,
            quotes_placed: 0,
            cancels: 0,
            inventory: InventoryStats::default(),
            max_drawdown_bps: 0.0,
            mid_start: 0.0,
            mid_end: 0.0,
            data_quality: None,
            bar_window: None,
            source_notes: None,
        }
    }
}
