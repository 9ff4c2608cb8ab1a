//! Runtime parameters of a market-making bot — the knobs the tuner turns — and
//! APPLY_BOUNDS, the one table of their limits.

use serde::{Deserialize, Serialize};

/// Parameters in force for one iteration (the contents of `runtime_overrides.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Params {
    /// Full quoted spread around the mid, in basis points.
    pub base_spread_bps: f64,
    /// Minimum time between two quote refreshes.
    pub min_interval_ms: u32,
    /// Order size as a fraction of the top-of-book depth.
    pub impact_cap_ratio: f64,
    /// Inventory, as a fraction of the limit, beyond which only the reducing side is quoted.
    pub max_delta_ratio: f64,
    /// Maximum number of live orders (pending cancels included).
    pub concurrency_limit: u32,
    /// Quotes older than this are cancelled and re-placed.
    pub tail_age_ms: u32,
    /// Fraction of the half-spread the quotes shift against inventory at the soft limit.
    pub inventory_skew: f64,
}

/// How a parameter may move: hard bounds, the largest single tuning step and the
/// largest total change per hour of soak time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamSpec {
    pub name: &'static str,
    pub min: f64,
    pub max: f64,
    /// Largest |delta| one tuning step may propose.
    pub max_step: f64,
    /// Largest total |change| within one hour of soak time (velocity guard).
    pub max_per_hour: f64,
    /// Integer-valued parameters are rounded when a delta is applied.
    pub integer: bool,
}

/// APPLY_BOUNDS: every parameter, in canonical order.
pub const APPLY_BOUNDS: [ParamSpec; 7] = [
    ParamSpec { name: "base_spread_bps", min: 2.0, max: 40.0, max_step: 2.0, max_per_hour: 6.0, integer: false },
    ParamSpec { name: "min_interval_ms", min: 20.0, max: 500.0, max_step: 15.0, max_per_hour: 30.0, integer: true },
    ParamSpec { name: "impact_cap_ratio", min: 0.02, max: 0.50, max_step: 0.02, max_per_hour: 0.04, integer: false },
    ParamSpec { name: "max_delta_ratio", min: 0.05, max: 0.60, max_step: 0.05, max_per_hour: 0.10, integer: false },
    ParamSpec { name: "concurrency_limit", min: 2.0, max: 8.0, max_step: 1.0, max_per_hour: 2.0, integer: true },
    ParamSpec { name: "tail_age_ms", min: 200.0, max: 5000.0, max_step: 250.0, max_per_hour: 1000.0, integer: true },
    ParamSpec { name: "inventory_skew", min: 0.0, max: 1.0, max_step: 0.25, max_per_hour: 0.5, integer: false },
];

pub fn spec(name: &str) -> Option<&'static ParamSpec> {
    APPLY_BOUNDS.iter().find(|s| s.name == name)
}

/// A parameter value outside its bounds, named precisely enough to act on.
#[derive(Debug, Clone, PartialEq)]
pub struct OutOfBounds {
    pub name: &'static str,
    pub value: f64,
    pub min: f64,
    pub max: f64,
}

impl core::fmt::Display for OutOfBounds {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} = {} is outside its bounds [{}, {}]", self.name, self.value, self.min, self.max)
    }
}

impl Params {
    pub fn get(&self, name: &str) -> Option<f64> {
        Some(match name {
            "base_spread_bps" => self.base_spread_bps,
            "min_interval_ms" => self.min_interval_ms as f64,
            "impact_cap_ratio" => self.impact_cap_ratio,
            "max_delta_ratio" => self.max_delta_ratio,
            "concurrency_limit" => self.concurrency_limit as f64,
            "tail_age_ms" => self.tail_age_ms as f64,
            "inventory_skew" => self.inventory_skew,
            _ => return None,
        })
    }

    /// Sets a parameter, clamped into its bounds and rounded if integer-valued.
    /// Returns false for an unknown name.
    pub fn set_clamped(&mut self, name: &str, value: f64) -> bool {
        let Some(spec) = spec(name) else { return false };
        let mut v = if value.is_nan() { spec.min } else { value.clamp(spec.min, spec.max) };
        // Integers round to whole units; others to 6 decimals so repeated deltas
        // do not accumulate float noise (0.1 + 0.1 + 0.1 stays 0.3 in artifacts).
        v = if spec.integer { libm::round(v) } else { crate::edge::round6(v) };
        match name {
            "base_spread_bps" => self.base_spread_bps = v,
            "min_interval_ms" => self.min_interval_ms = v as u32,
            "impact_cap_ratio" => self.impact_cap_ratio = v,
            "max_delta_ratio" => self.max_delta_ratio = v,
            "concurrency_limit" => self.concurrency_limit = v as u32,
            "tail_age_ms" => self.tail_age_ms = v as u32,
            "inventory_skew" => self.inventory_skew = v,
            _ => return false,
        }
        true
    }

    /// Every parameter outside APPLY_BOUNDS (or not finite), in canonical order.
    pub fn out_of_bounds(&self) -> Vec<OutOfBounds> {
        APPLY_BOUNDS
            .iter()
            .filter_map(|s| {
                let v = self.get(s.name)?;
                (!v.is_finite() || v < s.min || v > s.max).then_some(OutOfBounds {
                    name: s.name,
                    value: v,
                    min: s.min,
                    max: s.max,
                })
            })
            .collect()
    }

    /// Values as (name, value) in canonical order.
    pub fn entries(&self) -> Vec<(&'static str, f64)> {
        APPLY_BOUNDS.iter().map(|s| (s.name, self.get(s.name).unwrap_or(f64::NAN))).collect()
    }
}

impl Default for Params {
    /// The built-in defaults: the `steady_safe` profile.
    fn default() -> Self {
        Params {
            base_spread_bps: 8.0,
            min_interval_ms: 75,
            impact_cap_ratio: 0.10,
            max_delta_ratio: 0.30,
            concurrency_limit: 4,
            tail_age_ms: 1500,
            inventory_skew: 0.5,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_within_bounds_and_are_the_steady_safe_profile() {
        assert!(Params::default().out_of_bounds().is_empty());
        let steady: Params = serde_json::from_str(include_str!("../../profiles/steady_safe.json")).unwrap();
        assert_eq!(steady, Params::default());
    }

    #[test]
    fn set_clamped_clamps_and_rounds() {
        let mut p = Params::default();
        assert!(p.set_clamped("min_interval_ms", 10_000.4));
        assert_eq!(p.min_interval_ms, 500);
        assert!(p.set_clamped("impact_cap_ratio", -1.0));
        assert_eq!(p.impact_cap_ratio, 0.02);
        assert!(p.set_clamped("tail_age_ms", 1234.6));
        assert_eq!(p.tail_age_ms, 1235);
        assert!(!p.set_clamped("no_such_param", 1.0));
    }

    #[test]
    fn out_of_bounds_names_param_value_and_bounds() {
        let p = Params { impact_cap_ratio: 0.9, ..Params::default() };
        let errs = p.out_of_bounds();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].to_string(), "impact_cap_ratio = 0.9 is outside its bounds [0.02, 0.5]");
    }
}
