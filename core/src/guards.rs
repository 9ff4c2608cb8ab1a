//! The guards between a tuning proposal and the parameters in force. Each is a
//! small pure function over the proposal and the tuning history; `soak::step`
//! composes them in the documented order (see ARCHITECTURE.md, "Guard order").

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::edge::round6;
use crate::params::{spec, Params};

/// Parameters the freeze guard holds still once the soak is stable.
pub const FREEZE_PARAMS: [&str; 2] = ["impact_cap_ratio", "max_delta_ratio"];
pub const FREEZE_AFTER_STABLE: u32 = 2;
pub const FREEZE_ITERATIONS: u32 = 4;
pub const STABLE_MAX_RISK: f64 = 0.35;
pub const STABLE_MIN_NET_BPS: f64 = 2.7;
/// Sum of |delta| / (max − min) above which the next iterations cool down.
pub const COOLDOWN_THRESHOLD: f64 = 0.15;
pub const COOLDOWN_ITERATIONS: u32 = 2;
pub const OSCILLATION_WINDOW: usize = 3;
pub const PANIC_FAIL_STREAK: u32 = 3;

/// One guard decision, kept in ITER_SUMMARY and TUNING_REPORT.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardEvent {
    pub iteration: u32,
    /// `state_validation`, `panic_revert`, `freeze`, `frozen`, `final_iteration`,
    /// `cooldown_active`, `cooldown_start`, `oscillation`, `velocity_exceeded`, `idempotent`,
    /// `overrides_write_failed` (the host could not put the change in force).
    pub guard: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    pub detail: String,
}

impl GuardEvent {
    pub fn new(iteration: u32, guard: &str, param: Option<&str>, detail: String) -> Self {
        GuardEvent { iteration, guard: guard.into(), param: param.map(Into::into), detail }
    }
}

/// A parameter change that was applied, remembered for the velocity guard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppliedChange {
    pub iteration: u32,
    pub param: String,
    pub delta: f64,
}

/// Clamps out-of-bounds parameters, reporting each with its name, value and bounds.
pub fn validate_state(iteration: u32, params: &mut Params) -> Vec<GuardEvent> {
    let mut events = Vec::new();
    for bad in params.out_of_bounds() {
        params.set_clamped(bad.name, bad.value);
        let now = params.get(bad.name).unwrap_or(f64::NAN);
        events.push(GuardEvent::new(iteration, "state_validation", Some(bad.name), format!("{bad}; clamped to {now}")));
    }
    events
}

/// Removes deltas on frozen parameters while `iteration <= frozen_until`.
pub fn apply_freeze(iteration: u32, frozen_until: u32, deltas: &mut BTreeMap<String, f64>) -> Vec<GuardEvent> {
    if iteration > frozen_until {
        return Vec::new();
    }
    let mut events = Vec::new();
    for name in FREEZE_PARAMS {
        if let Some(d) = deltas.remove(name) {
            events.push(GuardEvent::new(
                iteration,
                "frozen",
                Some(name),
                format!("delta {d} suppressed: frozen until iteration {frozen_until}"),
            ));
        }
    }
    events
}

/// A→B→A: holds a delta that would move a parameter back toward a value it had
/// in the last iterations (reaching it, stopping short or overshooting it) after
/// it moved away. `history` holds the parameters in force in the most recent
/// iterations, oldest first; `current` is in force now.
pub fn apply_oscillation(
    iteration: u32,
    history: &[Params],
    current: &Params,
    deltas: &mut BTreeMap<String, f64>,
) -> Vec<GuardEvent> {
    let mut events = Vec::new();
    let window = OSCILLATION_WINDOW - 1;
    let recent: Vec<&Params> = history.iter().rev().take(window).collect();
    deltas.retain(|name, delta| {
        let Some(now) = current.get(name) else { return true };
        let back_toward = recent.iter().find_map(|p| {
            let old = p.get(name)?;
            ((old - now).abs() > 1e-9 && (old - now) * *delta > 0.0).then_some(old)
        });
        if let Some(old) = back_toward {
            events.push(GuardEvent::new(
                iteration,
                "oscillation",
                Some(name),
                format!("{old} -> {now} -> {} would swing back (A->B->A); held", crate::edge::round6(now + *delta)),
            ));
        }
        back_toward.is_none()
    });
    events
}

/// Clips each delta so a parameter's total |change| over the last hour of soak time
/// stays within its `max_per_hour`.
pub fn apply_velocity(
    iteration: u32,
    iterations_per_hour: u32,
    changes: &[AppliedChange],
    deltas: &mut BTreeMap<String, f64>,
) -> Vec<GuardEvent> {
    let mut events = Vec::new();
    let window_start = iteration.saturating_sub(iterations_per_hour.saturating_sub(1));
    deltas.retain(|name, delta| {
        let Some(s) = spec(name) else { return false };
        let used: f64 =
            changes.iter().filter(|c| &c.param == name && c.iteration >= window_start).map(|c| c.delta.abs()).sum();
        let budget = (s.max_per_hour - used).max(0.0);
        if delta.abs() <= budget + 1e-12 {
            return true;
        }
        let clipped = round6(delta.signum() * budget);
        events.push(GuardEvent::new(
            iteration,
            "velocity_exceeded",
            Some(name),
            format!("delta {delta} clipped to {clipped}: {used} of {} per hour already used", s.max_per_hour),
        ));
        *delta = clipped;
        clipped != 0.0
    });
    events
}

/// Sum of |delta| normalized by each parameter's range.
pub fn normalized_magnitude(deltas: &BTreeMap<String, f64>) -> f64 {
    deltas.iter().filter_map(|(n, d)| spec(n).map(|s| d.abs() / (s.max - s.min))).sum()
}

/// MD5 of the canonical decision: the iteration it was made for and its sorted deltas.
/// Re-delivering the same decision yields the same signature and is not applied twice.
pub fn signature(iteration: u32, deltas: &BTreeMap<String, f64>) -> String {
    use md5::{Digest, Md5};
    let mut canonical = format!("iteration={iteration}");
    for (k, v) in deltas {
        canonical.push_str(&format!(";{k}={v}"));
    }
    let digest = Md5::digest(canonical.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deltas(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn freeze_suppresses_only_frozen_params_and_only_while_frozen() {
        let mut d = deltas(&[("impact_cap_ratio", -0.02), ("base_spread_bps", 1.0)]);
        let ev = apply_freeze(5, 6, &mut d);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].guard, "frozen");
        assert!(d.contains_key("base_spread_bps") && !d.contains_key("impact_cap_ratio"));
        let mut d2 = deltas(&[("impact_cap_ratio", -0.02)]);
        assert!(apply_freeze(7, 6, &mut d2).is_empty());
        assert_eq!(d2.len(), 1);
    }

    #[test]
    fn oscillation_holds_a_return_to_a_recent_value() {
        let a = Params { min_interval_ms: 60, ..Params::default() };
        let b = Params { min_interval_ms: 75, ..Params::default() };
        let mut d = deltas(&[("min_interval_ms", -15.0), ("base_spread_bps", 1.0)]);
        let ev = apply_oscillation(3, std::slice::from_ref(&a), &b, &mut d);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].param.as_deref(), Some("min_interval_ms"));
        assert!(!d.contains_key("min_interval_ms"));
        // Stopping short of A is still swinging back.
        let mut d = deltas(&[("min_interval_ms", -5.0)]);
        assert_eq!(apply_oscillation(3, std::slice::from_ref(&a), &b, &mut d).len(), 1);
        // Moving further away is fine.
        let mut d = deltas(&[("min_interval_ms", 15.0)]);
        assert!(apply_oscillation(3, &[a], &b, &mut d).is_empty());
    }

    #[test]
    fn velocity_clips_to_the_hourly_budget() {
        let changes = vec![
            AppliedChange { iteration: 2, param: "min_interval_ms".into(), delta: 15.0 },
            AppliedChange { iteration: 3, param: "min_interval_ms".into(), delta: 10.0 },
        ];
        let mut d = deltas(&[("min_interval_ms", 15.0)]);
        let ev = apply_velocity(4, 4, &changes, &mut d);
        assert_eq!(ev.len(), 1);
        assert_eq!(d["min_interval_ms"], 5.0);
        // An hour later the budget is back.
        let mut d = deltas(&[("min_interval_ms", 15.0)]);
        assert!(apply_velocity(7, 4, &changes, &mut d).is_empty());
    }

    #[test]
    fn signature_is_canonical_and_iteration_scoped() {
        let a = deltas(&[("a", 1.0), ("b", 2.0)]);
        let b: BTreeMap<String, f64> = [("b".to_string(), 2.0), ("a".to_string(), 1.0)].into_iter().collect();
        assert_eq!(signature(3, &a), signature(3, &b));
        assert_ne!(signature(3, &a), signature(4, &a));
        assert_eq!(signature(3, &a).len(), 32);
    }

    #[test]
    fn validation_names_param_value_and_bounds() {
        let mut p = Params { min_interval_ms: 5, ..Params::default() };
        let ev = validate_state(1, &mut p);
        assert_eq!(p.min_interval_ms, 20);
        assert!(ev[0].detail.contains("min_interval_ms = 5 is outside its bounds [20, 500]"), "{}", ev[0].detail);
    }
}
