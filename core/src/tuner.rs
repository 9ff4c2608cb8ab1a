//! The tuner: reads one iteration's KPIs and proposes bounded parameter deltas.
//! Zones by risk ratio decide how hard to push; the drivers (adverse selection,
//! slippage, the block-reason mix, edge) decide which knobs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::edge::{round6, EdgeReport};
use crate::params::{Params, APPLY_BOUNDS};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Zone {
    /// risk ≥ 0.60: cut risk hard.
    Aggressive,
    /// 0.40 ≤ risk < 0.60: cut risk gently.
    Moderate,
    /// 0.35 ≤ risk < 0.40: leave risk knobs alone.
    Hold,
    /// risk < 0.35: restore toward the profile's baseline to win back edge.
    Normalize,
}

pub fn zone(risk_ratio: f64) -> Zone {
    if risk_ratio >= 0.60 {
        Zone::Aggressive
    } else if risk_ratio >= 0.40 {
        Zone::Moderate
    } else if risk_ratio >= 0.35 {
        Zone::Hold
    } else {
        Zone::Normalize
    }
}

/// Driver thresholds the tuner reacts to.
pub const ADVERSE_P95_HIGH: f64 = 3.0;
pub const SLIPPAGE_P95_HIGH: f64 = 1.0;
pub const NET_BPS_LOW: f64 = 2.0;
pub const NET_BPS_HEALTHY: f64 = 2.7;

/// A proposal: deltas keyed by parameter name (sorted, hence canonical) and why.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    pub deltas: BTreeMap<String, f64>,
    pub reasons: Vec<String>,
}

impl Proposal {
    fn push(&mut self, name: &str, fraction_of_step: f64, reason: &str) {
        let Some(spec) = crate::params::spec(name) else {
            return;
        };
        let entry = self.deltas.entry(name.to_string()).or_insert(0.0);
        *entry = (*entry + fraction_of_step * spec.max_step).clamp(-spec.max_step, spec.max_step);
        if !self.reasons.iter().any(|r| r == reason) {
            self.reasons.push(reason.to_string());
        }
    }

    fn finish(mut self) -> Self {
        self.deltas.retain(|_, v| *v != 0.0);
        for v in self.deltas.values_mut() {
            *v = round6(*v);
        }
        self
    }
}

/// The built-in policy. Pure: same KPIs and parameters → same proposal.
/// `settled` says the soak has been stable long enough to give edge back
/// (NORMALIZE only restores toward the baseline then, so one calm iteration
/// does not undo the risk cuts that made it calm).
/// `risk_memory` holds the parameters in force when risk last put the soak in the
/// AGGRESSIVE or MODERATE zone.
pub fn propose(
    edge: &EdgeReport,
    current: &Params,
    baseline: &Params,
    settled: bool,
    risk_memory: Option<&Params>,
) -> (Zone, Proposal) {
    let z = zone(edge.risk_ratio);
    let mut p = Proposal::default();
    let push_risk = match z {
        Zone::Aggressive => 1.0,
        Zone::Moderate => 0.5,
        Zone::Hold | Zone::Normalize => 0.0,
    };
    if push_risk > 0.0 {
        // Inventory hits its limit: quote smaller and wider so it builds up slower.
        p.push("impact_cap_ratio", -push_risk, "risk_zone");
        p.push("base_spread_bps", push_risk, "risk_zone");
        p.push("inventory_skew", push_risk, "risk_zone");
        // Refreshing less eagerly stops chasing fills that push inventory to its limit.
        p.push("min_interval_ms", push_risk, "risk_zone");
    }
    if edge.adverse.p95 > ADVERSE_P95_HIGH {
        // Picked off by informed flow: quote wider, refresh less eagerly; harder
        // the further past the threshold.
        let push = if edge.adverse.p95 > 2.0 * ADVERSE_P95_HIGH { 1.0 } else { 0.5 };
        p.push("base_spread_bps", push, "adverse_p95_high");
        p.push("min_interval_ms", 0.5, "adverse_p95_high");
    }
    if edge.slippage.p95 > SLIPPAGE_P95_HIGH {
        p.push("impact_cap_ratio", -0.5, "slippage_p95_high");
    }
    if edge.blocks.concurrency > edge.blocks.total() / 2 && edge.blocks.concurrency > 0 {
        p.push("concurrency_limit", 1.0, "concurrency_blocks");
    }
    if edge.net_bps < NET_BPS_LOW && edge.maker_fills > 0 && !p.deltas.contains_key("base_spread_bps") {
        p.push("base_spread_bps", 1.0, "net_bps_low");
    }
    let healthy = edge.net_bps >= NET_BPS_HEALTHY && edge.adverse.p95 <= ADVERSE_P95_HIGH;
    if z == Zone::Normalize && healthy && settled {
        // Skew is a risk control that costs almost no edge: giving it back buys
        // little and brings inventory excursions back, so NORMALIZE leaves it.
        for spec in APPLY_BOUNDS.iter().filter(|s| s.name != "inventory_skew") {
            let (Some(cur), Some(base)) = (current.get(spec.name), baseline.get(spec.name)) else {
                continue;
            };
            let mut target = base;
            // Keep a full step of margin from where trouble last broke out: the
            // baseline may be exactly what was too risky.
            if let Some(risky) = risk_memory.and_then(|m| m.get(spec.name)) {
                let toward_risky = (risky - cur) * (base - cur) > 0.0;
                if toward_risky {
                    // Move toward the baseline by at most the room left before the floor,
                    // and never past the baseline itself.
                    let floor = risky + (cur - risky).signum() * spec.max_step;
                    let toward = (base - cur).signum();
                    let room = ((floor - cur) * toward).clamp(0.0, (base - cur).abs());
                    target = cur + toward * room;
                }
            }
            let gap = target - cur;
            if gap.abs() > 1e-9 {
                let frac = (gap / spec.max_step).clamp(-0.25, 0.25);
                p.push(spec.name, frac, "normalize");
            }
        }
    }
    (z, p.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edge::KpiObservation;

    fn calm() -> EdgeReport {
        KpiObservation { net_bps: 3.0, risk_ratio: 0.1, adverse_p95: 1.0, slippage_p95: 0.0, fills: 100, blocks: None }
            .into_report(1)
    }

    #[test]
    fn normalize_stops_at_the_baseline_even_when_the_trouble_floor_lies_beyond_it() {
        // Spread 10, baseline 9, trouble at 5 (floor 7): NORMALIZE may go down to 9, not toward 7.
        let current = Params { base_spread_bps: 10.0, ..Params::default() };
        let baseline = Params { base_spread_bps: 9.0, ..Params::default() };
        let risky = Params { base_spread_bps: 5.0, ..Params::default() };
        let near = Params { base_spread_bps: 9.2, ..Params::default() };
        let (_, p) = propose(&calm(), &near, &baseline, true, Some(&risky));
        assert_eq!(p.deltas.get("base_spread_bps"), Some(&-0.2));
        let (_, p) = propose(&calm(), &current, &baseline, true, Some(&risky));
        assert_eq!(p.deltas.get("base_spread_bps"), Some(&-0.5));
    }

    #[test]
    fn normalize_keeps_a_full_step_from_the_trouble_point() {
        // Spread 11, baseline 3, trouble at 8 (floor 10): one step of room, 0.5 per iteration.
        let current = Params { base_spread_bps: 11.0, ..Params::default() };
        let baseline = Params { base_spread_bps: 3.0, ..Params::default() };
        let risky = Params { base_spread_bps: 8.0, ..Params::default() };
        let (_, p) = propose(&calm(), &current, &baseline, true, Some(&risky));
        assert_eq!(p.deltas.get("base_spread_bps"), Some(&-0.5));
        let at_floor = Params { base_spread_bps: 10.0, ..Params::default() };
        let (_, p) = propose(&calm(), &at_floor, &baseline, true, Some(&risky));
        assert_eq!(p.deltas.get("base_spread_bps"), None);
    }
}
