//! Named market regimes and the numbers that define them.

use serde::{Deserialize, Serialize};

use super::trade_size::SplicedSizes;
use crate::rng::derive_seed;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Regime {
    Calm,
    Volatile,
    FlashCrash,
    LiquidityGap,
    Trending,
    /// Switches between the other regimes every hour of soak time.
    Mixed,
    /// A market fitted to data (`mmsoak market fit`, run with `--regime FILE`): its
    /// numbers travel in [`super::MarketConfig::spec`].
    Fitted,
}

impl Regime {
    pub const ALL: [Regime; 6] =
        [Regime::Calm, Regime::Volatile, Regime::FlashCrash, Regime::LiquidityGap, Regime::Trending, Regime::Mixed];

    pub fn name(self) -> &'static str {
        match self {
            Regime::Calm => "calm",
            Regime::Volatile => "volatile",
            Regime::FlashCrash => "flash_crash",
            Regime::LiquidityGap => "liquidity_gap",
            Regime::Trending => "trending",
            Regime::Mixed => "mixed",
            Regime::Fitted => "fitted",
        }
    }

    pub fn parse(name: &str) -> Option<Regime> {
        Regime::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The concrete regime in force for `iteration` (only `mixed` varies).
    pub fn resolve(self, seed: u64, iteration: u32, iterations_per_hour: u32) -> Regime {
        if self != Regime::Mixed {
            return self;
        }
        const CHOICES: [Regime; 5] =
            [Regime::Calm, Regime::Volatile, Regime::FlashCrash, Regime::LiquidityGap, Regime::Trending];
        let hour = (iteration.saturating_sub(1) / iterations_per_hour.max(1)) as u64;
        let pick = derive_seed(&[seed, hour, 0x006D_6978_6564]) % CHOICES.len() as u64;
        CHOICES[pick as usize]
    }

    pub fn spec(self) -> RegimeSpec {
        let calm = RegimeSpec {
            vol_bps_per_sqrt_s: 0.3,
            vol_of_vol: 0.25,
            vol_reversion_s: 600.0,
            jump_rate_per_hour: 2.0,
            jump_scale_bps: 4.0,
            jump_vol_kick: 0.3,
            drift_bps_per_s: 0.0,
            market_spread_bps: 1.0,
            top_depth: 2.0,
            trade_rate_per_s: 2.0,
            hawkes_branching: 0.3,
            hawkes_decay_s: 2.0,
            informed_share: 0.15,
            flash_crash_prob: 0.0,
            gap_rate_per_hour: 0.0,
            trade_size_scale: DEFAULT_TRADE_SIZE_SCALE,
            trade_size_tail: DEFAULT_TRADE_SIZE_TAIL,
            trade_size_spliced: None,
        };
        match self {
            Regime::Calm | Regime::Mixed | Regime::Fitted => calm,
            Regime::Volatile => RegimeSpec {
                vol_bps_per_sqrt_s: 0.8,
                vol_of_vol: 0.22,
                vol_reversion_s: 900.0,
                jump_rate_per_hour: 8.0,
                jump_scale_bps: 6.0,
                jump_vol_kick: 0.3,
                market_spread_bps: 2.0,
                top_depth: 1.5,
                trade_rate_per_s: 3.0,
                hawkes_branching: 0.5,
                informed_share: 0.25,
                ..calm
            },
            Regime::FlashCrash => RegimeSpec {
                vol_bps_per_sqrt_s: 0.4,
                vol_of_vol: 0.4,
                jump_rate_per_hour: 6.0,
                jump_scale_bps: 8.0,
                informed_share: 0.25,
                flash_crash_prob: 0.5,
                ..calm
            },
            Regime::LiquidityGap => {
                RegimeSpec { vol_bps_per_sqrt_s: 0.4, top_depth: 1.5, gap_rate_per_hour: 8.0, ..calm }
            }
            Regime::Trending => {
                RegimeSpec { vol_bps_per_sqrt_s: 0.4, drift_bps_per_s: 0.08, informed_share: 0.3, ..calm }
            }
        }
    }
}

/// The parameters of one regime. Volatilities are in basis points of the mid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegimeSpec {
    /// Long-run diffusion volatility, bps per √second.
    pub vol_bps_per_sqrt_s: f64,
    /// Volatility of log-volatility, per √minute (clustering strength).
    pub vol_of_vol: f64,
    /// Mean-reversion time of log-volatility, seconds.
    pub vol_reversion_s: f64,
    pub jump_rate_per_hour: f64,
    /// Laplace scale of jump sizes, bps.
    pub jump_scale_bps: f64,
    /// How much a jump raises log-volatility (self-exciting volatility).
    pub jump_vol_kick: f64,
    /// Drift magnitude; its sign is drawn per iteration.
    pub drift_bps_per_s: f64,
    /// Market's own best-bid/best-ask spread, bps.
    pub market_spread_bps: f64,
    /// Depth at the best level, in order units.
    pub top_depth: f64,
    /// Baseline rate of market trades (Hawkes immigrant rate).
    pub trade_rate_per_s: f64,
    /// Mean number of trades each trade triggers (Hawkes branching ratio, < 1).
    pub hawkes_branching: f64,
    pub hawkes_decay_s: f64,
    /// Fraction of trades that know the next price move and take only the touch.
    pub informed_share: f64,
    /// Probability an iteration contains a flash crash.
    pub flash_crash_prob: f64,
    /// Rate at which liquidity gaps (thin book, wide spread) open.
    pub gap_rate_per_hour: f64,
    /// Noise-trade sizes are Pareto (type I): `size = scale·depth·U^(−1/tail)`, with
    /// `depth` the touch depth in force; this is `scale` (order units per unit of
    /// depth). Regime files written before it existed get the built-in value.
    #[serde(default = "default_trade_size_scale")]
    pub trade_size_scale: f64,
    /// The Pareto tail index of noise-trade sizes (smaller: heavier tail, more
    /// sweeps deep into the book).
    #[serde(default = "default_trade_size_tail")]
    pub trade_size_tail: f64,
    /// When present, noise-trade sizes follow this log-normal body with a Pareto
    /// tail instead (`trade_size_scale` and `trade_size_tail` are then unused):
    /// see [`super::trade_size`]. Absent (regime files before it, every built-in
    /// regime): the Pareto above, and the very same random stream and artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_size_spliced: Option<SplicedSizes>,
}

/// The built-in noise-trade size scale, a fraction of the touch depth.
pub const DEFAULT_TRADE_SIZE_SCALE: f64 = 0.35;
/// The built-in Pareto tail index of noise-trade sizes: occasional large sweeps.
pub const DEFAULT_TRADE_SIZE_TAIL: f64 = 1.4;

fn default_trade_size_scale() -> f64 {
    DEFAULT_TRADE_SIZE_SCALE
}

fn default_trade_size_tail() -> f64 {
    DEFAULT_TRADE_SIZE_TAIL
}

/// Schema tag of a regime file.
pub const REGIME_FILE_SCHEMA: &str = "mmsoak.regime/1";

/// A market fitted to data (`mmsoak market fit`), as `--regime FILE` reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegimeFile {
    /// [`REGIME_FILE_SCHEMA`].
    pub schema: String,
    /// A label for reports.
    pub name: String,
    /// The data it was fitted to (file names), for the record.
    #[serde(default)]
    pub fitted_from: Vec<String>,
    pub spec: RegimeSpec,
}

impl RegimeFile {
    /// Parses and checks a regime file's JSON: the schema tag and every number's
    /// range. The error names the field and the bad value.
    pub fn parse(json: &str) -> Result<RegimeFile, String> {
        let f: RegimeFile = serde_json::from_str(json).map_err(|e| Self::explain(json, e))?;
        if f.schema != REGIME_FILE_SCHEMA {
            return Err(format!("schema {:?}: expected {REGIME_FILE_SCHEMA:?}", f.schema));
        }
        f.spec.validate()?;
        Ok(f)
    }

    /// serde's message for a number that is not one names neither the field nor the
    /// value (`invalid type: string "x", expected f64`): say which, when that is why.
    fn explain(json: &str, e: serde_json::Error) -> String {
        if !e.is_data() || e.to_string().starts_with("unknown field") {
            return e.to_string();
        }
        let value: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
        if let Some(schema) = value.get("schema").filter(|s| !s.is_string()) {
            return format!("schema = {schema}: expected {REGIME_FILE_SCHEMA:?}");
        }
        let spec = value.get("spec").and_then(|s| s.as_object());
        if let Some((key, v)) = spec.and_then(|m| m.iter().find(|(k, v)| !v.is_number() && *k != "trade_size_spliced"))
        {
            return format!("spec.{key} = {v}: expected a number");
        }
        // The one nested table: an object of numbers.
        match spec.and_then(|m| m.get("trade_size_spliced")) {
            Some(v) if !v.is_object() => format!("spec.trade_size_spliced = {v}: expected a table of numbers"),
            Some(v) => match v.as_object().and_then(|m| m.iter().find(|(_, x)| !x.is_number())) {
                Some((key, x)) => format!("spec.trade_size_spliced.{key} = {x}: expected a number"),
                None => e.to_string(),
            },
            None => e.to_string(),
        }
    }
}

impl RegimeSpec {
    /// Every number finite and in its range; the error names the field and value.
    pub fn validate(&self) -> Result<(), String> {
        let s = self;
        let checks: [(&str, f64, f64, f64); 17] = [
            ("vol_bps_per_sqrt_s", s.vol_bps_per_sqrt_s, 1e-9, 1e3),
            ("vol_of_vol", s.vol_of_vol, 0.0, 10.0),
            ("vol_reversion_s", s.vol_reversion_s, 1.0, 1e7),
            ("jump_rate_per_hour", s.jump_rate_per_hour, 0.0, 3600.0),
            ("jump_scale_bps", s.jump_scale_bps, 0.0, 1e4),
            ("jump_vol_kick", s.jump_vol_kick, 0.0, 10.0),
            ("drift_bps_per_s", s.drift_bps_per_s, 0.0, 100.0),
            ("market_spread_bps", s.market_spread_bps, 1e-6, 1e4),
            ("top_depth", s.top_depth, 1e-9, 1e12),
            ("trade_rate_per_s", s.trade_rate_per_s, 0.0, 1e4),
            ("hawkes_branching", s.hawkes_branching, 0.0, 0.99),
            ("hawkes_decay_s", s.hawkes_decay_s, 1e-3, 1e5),
            ("informed_share", s.informed_share, 0.0, 1.0),
            ("flash_crash_prob", s.flash_crash_prob, 0.0, 1.0),
            ("gap_rate_per_hour", s.gap_rate_per_hour, 0.0, 3600.0),
            ("trade_size_scale", s.trade_size_scale, 1e-6, 1e6),
            ("trade_size_tail", s.trade_size_tail, 1.01, 10.0),
        ];
        let spliced = s.trade_size_spliced.map(|m| m.ranges());
        for (name, v, lo, hi) in checks.into_iter().chain(spliced.into_iter().flatten()) {
            if !(v.is_finite() && v >= lo && v <= hi) {
                return Err(format!("spec.{name} = {v}: must be between {lo} and {hi}"));
            }
        }
        Ok(())
    }
}
