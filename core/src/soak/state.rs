//! What a soak carries from one iteration to the next (TUNING_STATE.json) and
//! what each iteration writes (ITER_SUMMARY_<i>.json): the types of the step in
//! [`super`], all serialized, so a resumed run continues exactly.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::edge::EdgeReport;
use crate::guards::{AppliedChange, GuardEvent};
use crate::kpi::{KpiThresholds, KpiVerdict};
use crate::params::Params;
use crate::tuner::Zone;

/// Settings fixed for the whole soak.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoakConfig {
    pub total_iterations: u32,
    pub auto_tune: bool,
    pub iterations_per_hour: u32,
    pub thresholds: KpiThresholds,
    /// Parameters the panic revert falls back to (the `steady_safe` profile).
    pub safe_params: Params,
    /// Guards switched off for a what-if (all on unless asked; absent from the
    /// state file then, so ordinary runs' artifacts do not mention it).
    #[serde(default, skip_serializing_if = "GuardSwitches::all_on")]
    pub guards: GuardSwitches,
}

/// The guards a what-if may switch off to see what they are worth. Validation,
/// bounds, the step cap, the final-iteration hold and idempotency (crash safety)
/// always apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GuardSwitches {
    pub panic_revert: bool,
    pub freeze: bool,
    pub cooldown: bool,
    pub oscillation: bool,
    pub velocity: bool,
}

impl Default for GuardSwitches {
    fn default() -> Self {
        GuardSwitches { panic_revert: true, freeze: true, cooldown: true, oscillation: true, velocity: true }
    }
}

impl GuardSwitches {
    pub const NAMES: [&'static str; 5] = ["panic_revert", "freeze", "cooldown", "oscillation", "velocity"];

    pub fn all_on(&self) -> bool {
        *self == GuardSwitches::default()
    }

    fn slot(&mut self, name: &str) -> Option<&mut bool> {
        Some(match name {
            "panic_revert" => &mut self.panic_revert,
            "freeze" => &mut self.freeze,
            "cooldown" => &mut self.cooldown,
            "oscillation" => &mut self.oscillation,
            "velocity" => &mut self.velocity,
            _ => return None,
        })
    }

    /// Switches the guard called `name` on or off; false if there is no such guard.
    pub fn set(&mut self, name: &str, on: bool) -> bool {
        self.slot(name).map(|s| *s = on).is_some()
    }

    /// Switches off the guard called `name`; false if there is no such guard.
    pub fn switch_off(&mut self, name: &str) -> bool {
        self.set(name, false)
    }

    /// Whether the guard called `name` is on (unknown names: on).
    pub fn is_on(&self, name: &str) -> bool {
        let mut copy = *self;
        copy.slot(name).is_none_or(|s| *s)
    }
}

/// Tuning bookkeeping: TUNING_STATE.json holds the whole [`SoakState`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TuningState {
    pub last_applied_signature: Option<String>,
    pub applied_count: u32,
    /// impact_cap_ratio and max_delta_ratio hold still while iteration ≤ this.
    pub frozen_until_iter: u32,
    /// No deltas are applied while iteration ≤ this.
    pub cooldown_until_iter: u32,
    pub stable_streak: u32,
    pub fail_streak: u32,
    /// Parameters in force in the most recent iterations, oldest first (oscillation guard).
    pub recent_params: Vec<Params>,
    /// Changes applied within the last hour of soak time (velocity guard).
    pub recent_changes: Vec<AppliedChange>,
    /// Parameters in force the last time the soak was in trouble (AGGRESSIVE or
    /// MODERATE zone, or a WARN or FAIL verdict); NORMALIZE keeps one full step
    /// away from them.
    pub risk_memory: Option<Params>,
    /// Consecutive iterations a `--policy` plugin failed (absent without a plugin).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub policy_fail_streak: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoakState {
    pub schema_version: u32,
    pub config: SoakConfig,
    /// Last completed iteration (0 before the first).
    pub iteration: u32,
    /// The profile's parameters: what NORMALIZE restores toward.
    pub baseline: Params,
    /// Parameters in force for the next iteration.
    pub overrides: Params,
    pub tuning: TuningState,
}

pub const STATE_SCHEMA_VERSION: u32 = 1;

/// The headline numbers of an iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IterKpis {
    pub net_bps: f64,
    pub risk_ratio: f64,
    pub adverse_p95: f64,
    pub slippage_p95: f64,
    pub kpi_verdict: KpiVerdict,
    pub fills: u64,
}

/// What the tuner proposed and what happened to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TuningDecision {
    pub zone: Option<Zone>,
    pub applied: bool,
    /// Why nothing (or not everything) was applied; `None` when all proposed deltas went in.
    pub skipped_reason: Option<String>,
    /// Proposed by the tuner, before the guards.
    pub proposed: BTreeMap<String, f64>,
    /// Actually applied (after guards and bounds).
    pub deltas: BTreeMap<String, f64>,
    pub signature: Option<String>,
    pub reasons: Vec<String>,
    pub guards: Vec<GuardEvent>,
}

/// ITER_SUMMARY_<i>.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IterSummary {
    pub schema_version: u32,
    pub iteration: u32,
    pub summary: IterKpis,
    /// Parameters in force during this iteration.
    pub overrides: Params,
    pub tuning: TuningDecision,
    pub edge: EdgeReport,
}
