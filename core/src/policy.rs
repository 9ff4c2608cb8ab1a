//! Tuning-policy plugins: the documented ABI a user's `.wasm` implements to replace
//! the built-in tuner, and the checks its answer must pass before the guards see it.
//!
//! A policy only *proposes* deltas. [`crate::soak::step`] still runs every guard
//! (bounds, step cap, freeze, cooldown, oscillation, velocity, idempotency, panic
//! revert) around the proposal, so a plugin cannot move parameters any way the
//! built-in tuner could not.
//!
//! Policy ABI v1 (all integers u32, all buffers in the plugin's exported `memory`):
//! - `mmsoak_policy_abi_version() -> u32` must return [`POLICY_ABI_VERSION`];
//! - `alloc(len) -> ptr` and `dealloc(ptr, len)` manage buffers;
//! - `mmsoak_policy_propose(ptr, len) -> out` reads a JSON [`PolicyRequest`] and
//!   returns a pointer to a 4-byte little-endian length followed by that many bytes
//!   of JSON [`PolicyResponse`]; the host frees it with `dealloc(out, len + 4)`.
//!
//! The plugin imports nothing (no WASI, no host functions): the host refuses any
//! module that does.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::edge::{round6, EdgeReport};
use crate::kpi::KpiVerdict;
use crate::params::{self, Params, APPLY_BOUNDS};
use crate::soak::SoakState;

/// Bump when [`PolicyRequest`] or [`PolicyResponse`] changes shape or meaning.
pub const POLICY_ABI_VERSION: u32 = 1;

/// This many policy failures in a row revert the parameters to the safe profile.
pub const POLICY_FAIL_REVERT: u32 = 3;

/// What a policy is told about the iteration just finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRequest {
    pub abi_version: u32,
    /// The iteration whose observation this is (1-based).
    pub iteration: u32,
    pub total_iterations: u32,
    pub kpi_verdict: KpiVerdict,
    /// Parameters that were in force during the iteration.
    pub params: Params,
    /// The profile's parameters.
    pub baseline: Params,
    pub stable_streak: u32,
    pub fail_streak: u32,
    pub edge: EdgeReport,
}

/// A policy's answer: deltas by parameter name, and why.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyResponse {
    pub deltas: BTreeMap<String, f64>,
    #[serde(default)]
    pub reasons: Vec<String>,
}

/// What the host got from the policy for one iteration, handed to `soak::step`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyOutcome {
    Proposal(PolicyResponse),
    /// The policy was stopped or answered nonsense; the reason says which.
    Failed(String),
}

/// Builds the request for the iteration whose observation is `edge`, from the
/// state before the step (what the shell holds when it consults the plugin).
pub fn request(state: &SoakState, edge: &EdgeReport) -> PolicyRequest {
    let verdict = crate::kpi::verdict(edge, &state.config.thresholds);
    PolicyRequest {
        abi_version: POLICY_ABI_VERSION,
        iteration: state.iteration + 1,
        total_iterations: state.config.total_iterations,
        kpi_verdict: verdict,
        params: state.overrides.clone(),
        baseline: state.baseline.clone(),
        stable_streak: state.tuning.stable_streak,
        fail_streak: state.tuning.fail_streak,
        edge: edge.clone(),
    }
}

/// (parameter, what was proposed and what it was capped at).
pub type CappedDelta = (String, String);

/// Checks a response and caps each delta at its parameter's largest single step.
/// Returns the capped deltas and a note per capped parameter; an unknown
/// parameter or a non-finite delta makes the whole response malformed.
pub fn check_response(response: &PolicyResponse) -> Result<(BTreeMap<String, f64>, Vec<CappedDelta>), String> {
    let mut deltas = BTreeMap::new();
    let mut capped = Vec::new();
    for (name, &delta) in &response.deltas {
        let Some(spec) = params::spec(name) else {
            let known: Vec<&str> = APPLY_BOUNDS.iter().map(|s| s.name).collect();
            return Err(format!("deltas.{name}: unknown parameter (known: {})", known.join(", ")));
        };
        if !delta.is_finite() {
            return Err(format!("deltas.{name}: {delta} is not a finite number"));
        }
        let limited = delta.clamp(-spec.max_step, spec.max_step);
        if limited != delta {
            capped.push((name.clone(), format!("proposed {delta}, capped at the largest step ±{}", spec.max_step)));
        }
        if limited != 0.0 {
            deltas.insert(name.clone(), round6(limited));
        }
    }
    Ok((deltas, capped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_parameters_and_non_finite_deltas_are_malformed() {
        let r = PolicyResponse { deltas: [("spread".to_string(), 1.0)].into(), reasons: vec![] };
        assert!(check_response(&r).unwrap_err().contains("deltas.spread: unknown parameter"));
        let r = PolicyResponse { deltas: [("base_spread_bps".to_string(), f64::NAN)].into(), reasons: vec![] };
        assert!(check_response(&r).unwrap_err().contains("not a finite number"));
    }

    #[test]
    fn oversized_deltas_are_capped_at_one_step() {
        let r = PolicyResponse {
            deltas: [("base_spread_bps".to_string(), -30.0), ("tail_age_ms".to_string(), 100.0)].into(),
            reasons: vec![],
        };
        let (deltas, capped) = check_response(&r).unwrap();
        assert_eq!(deltas["base_spread_bps"], -2.0);
        assert_eq!(deltas["tail_age_ms"], 100.0);
        assert_eq!(capped.len(), 1);
        assert_eq!(capped[0].0, "base_spread_bps");
    }
}
