//! The soak step, a pure transition `(state, observation) -> (state', decision)`.
//! The shell runs the loop; this decides what each iteration's KPIs mean and what,
//! after the guards, changes.

mod state;
pub use state::*;

use std::collections::BTreeMap;

use crate::edge::{round6, EdgeReport};
use crate::guards::{self, AppliedChange, GuardEvent};
use crate::kpi::{self, KpiVerdict};
use crate::params::Params;
use crate::policy::{self, PolicyOutcome, POLICY_FAIL_REVERT};
use crate::tuner::{self, Proposal, Zone};

pub fn init(config: SoakConfig, baseline: Params) -> SoakState {
    SoakState {
        schema_version: STATE_SCHEMA_VERSION,
        config,
        iteration: 0,
        overrides: baseline.clone(),
        baseline,
        tuning: TuningState::default(),
    }
}

/// Validates the parameters about to be used for the next iteration (guard 0).
/// Out-of-bounds values are clamped and reported, never silently used.
pub fn validate(state: &mut SoakState) -> Vec<GuardEvent> {
    guards::validate_state(state.iteration + 1, &mut state.overrides)
}

/// Consumes one iteration's observation; returns the next state and the iteration's summary.
///
/// Guard order: validation → KPI verdict → panic revert → stability/freeze →
/// auto-tune off → proposal → final iteration → cooldown → freeze → oscillation →
/// velocity → idempotency → apply (bounds) → cooldown start.
pub fn step(state: SoakState, edge: &EdgeReport) -> (SoakState, IterSummary) {
    step_with_policy(state, edge, None)
}

/// [`step`], with the proposal coming from a policy plugin instead of the built-in
/// tuner when `policy` is given. The guards are the same either way; a failed
/// policy skips the iteration, and [`POLICY_FAIL_REVERT`] failures in a row revert
/// to the safe profile.
pub fn step_with_policy(
    state: SoakState,
    edge: &EdgeReport,
    policy: Option<&PolicyOutcome>,
) -> (SoakState, IterSummary) {
    step_guarded(state, edge, policy, None)
}

/// Guard event and skip reason when the host could not write runtime_overrides.json.
pub const OVERRIDES_WRITE_FAILED: &str = "overrides_write_failed";

/// [`step_with_policy`] with one more guard last in line: when `apply_blocked` names
/// why the host could not put a change in force (runtime_overrides.json could not be
/// replaced), the decision is made and recorded exactly as without it, but nothing is
/// applied: the parameters, `applied_count`, the idempotency signature, cooldown and
/// the panic-revert streak stay as if the change had not been proposed, so the next
/// iteration decides again. The host calls this after [`step_with_policy`]'s change
/// failed to reach the bot, with the same state and observation.
pub fn step_guarded(
    mut state: SoakState,
    edge: &EdgeReport,
    policy: Option<&PolicyOutcome>,
    apply_blocked: Option<&str>,
) -> (SoakState, IterSummary) {
    let i = state.iteration + 1;
    let mut events = validate(&mut state);
    let in_force = state.overrides.clone();
    let cfg = state.config.clone();
    let verdict = kpi::verdict(edge, &cfg.thresholds);
    let t = &mut state.tuning;

    t.fail_streak = if verdict == KpiVerdict::Fail {
        t.fail_streak + 1
    } else if verdict == KpiVerdict::Inconclusive {
        t.fail_streak
    } else {
        0
    };
    let stable = verdict != KpiVerdict::Inconclusive
        && edge.risk_ratio <= guards::STABLE_MAX_RISK
        && edge.net_bps >= guards::STABLE_MIN_NET_BPS;
    t.stable_streak = if stable { t.stable_streak + 1 } else { 0 };

    let mut decision = TuningDecision {
        zone: None,
        applied: false,
        skipped_reason: None,
        proposed: BTreeMap::new(),
        deltas: BTreeMap::new(),
        signature: None,
        reasons: Vec::new(),
        guards: Vec::new(),
    };

    let mut next = in_force.clone();
    let on = cfg.guards;
    let blocked = |events: &mut Vec<GuardEvent>, what: &str, why: &str| {
        events.push(GuardEvent::new(
            i,
            OVERRIDES_WRITE_FAILED,
            None,
            format!("{what} not applied: {why}; the next iteration decides again"),
        ));
    };
    let panic = cfg.auto_tune && on.panic_revert && t.fail_streak >= guards::PANIC_FAIL_STREAK;
    if let Some(why) = apply_blocked.filter(|_| panic) {
        // The streak stays, so the next FAIL reverts again.
        blocked(&mut events, "panic revert to the safe profile", why);
        decision.skipped_reason = Some(OVERRIDES_WRITE_FAILED.into());
    } else if panic {
        events.push(GuardEvent::new(
            i,
            "panic_revert",
            None,
            format!("{} consecutive FAIL verdicts: reverted to the safe profile", t.fail_streak),
        ));
        t.fail_streak = 0;
        t.stable_streak = 0;
        t.policy_fail_streak = 0;
        next = revert_to_safe(&mut decision, &in_force, &cfg.safe_params, "panic_revert");
    } else if !cfg.auto_tune {
        decision.skipped_reason = Some("auto_tune_off".into());
    } else {
        if on.freeze && t.stable_streak >= guards::FREEZE_AFTER_STABLE && i > t.frozen_until_iter {
            t.frozen_until_iter = i + guards::FREEZE_ITERATIONS;
            events.push(GuardEvent::new(
                i,
                "freeze",
                None,
                format!(
                    "{} stable iterations: impact_cap_ratio and max_delta_ratio frozen until iteration {}",
                    t.stable_streak, t.frozen_until_iter
                ),
            ));
        }
        let proposed = match policy {
            None => Ok(tuner::propose(
                edge,
                &in_force,
                &state.baseline,
                t.stable_streak >= guards::FREEZE_AFTER_STABLE,
                t.risk_memory.as_ref(),
            )
            .1),
            Some(outcome) => policy_proposal(i, outcome, &mut events),
        };
        let zone = tuner::zone(edge.risk_ratio);
        decision.zone = Some(zone);
        if matches!(zone, Zone::Aggressive | Zone::Moderate) || matches!(verdict, KpiVerdict::Warn | KpiVerdict::Fail) {
            t.risk_memory = Some(in_force.clone());
        }
        match proposed {
            Err(reason) => {
                t.policy_fail_streak += 1;
                events.push(GuardEvent::new(i, "policy_error", None, reason));
                let revert = t.policy_fail_streak >= POLICY_FAIL_REVERT;
                if let Some(why) = apply_blocked.filter(|_| revert) {
                    blocked(&mut events, "policy revert to the safe profile", why);
                    decision.skipped_reason = Some(OVERRIDES_WRITE_FAILED.into());
                } else if revert {
                    events.push(GuardEvent::new(
                        i,
                        "policy_revert",
                        None,
                        format!("{} policy failures in a row: reverted to the safe profile", t.policy_fail_streak),
                    ));
                    t.policy_fail_streak = 0;
                    next = revert_to_safe(&mut decision, &in_force, &cfg.safe_params, "policy_revert");
                } else {
                    decision.skipped_reason = Some("policy_error".into());
                }
            }
            Ok(proposal) => {
                t.policy_fail_streak = 0;
                decision.proposed = proposal.deltas.clone();
                decision.reasons = proposal.reasons;
                let mut deltas = proposal.deltas;
                let mut skipped: Vec<String> = Vec::new();
                if deltas.is_empty() {
                    skipped.push("no_change_needed".into());
                } else if i >= cfg.total_iterations {
                    events.push(GuardEvent::new(i, "final_iteration", None, "no deltas on the final iteration".into()));
                    skipped.push("final_iteration".into());
                    deltas.clear();
                } else if on.cooldown && i <= t.cooldown_until_iter {
                    events.push(GuardEvent::new(
                        i,
                        "cooldown_active",
                        None,
                        format!("cooling down until iteration {}", t.cooldown_until_iter),
                    ));
                    skipped.push("cooldown_active".into());
                    deltas.clear();
                } else {
                    let frozen =
                        if on.freeze { guards::apply_freeze(i, t.frozen_until_iter, &mut deltas) } else { Vec::new() };
                    let oscillating = if on.oscillation {
                        guards::apply_oscillation(i, &t.recent_params, &in_force, &mut deltas)
                    } else {
                        Vec::new()
                    };
                    let too_fast = if on.velocity {
                        guards::apply_velocity(i, cfg.iterations_per_hour, &t.recent_changes, &mut deltas)
                    } else {
                        Vec::new()
                    };
                    for (ev_list, reason) in
                        [(frozen, "frozen"), (oscillating, "oscillation"), (too_fast, "velocity_exceeded")]
                    {
                        if !ev_list.is_empty() {
                            skipped.push(reason.into());
                            events.extend(ev_list);
                        }
                    }
                    if let Some(why) = apply_blocked.filter(|_| !deltas.is_empty()) {
                        blocked(&mut events, "decision", why);
                        skipped.push(OVERRIDES_WRITE_FAILED.into());
                        deltas.clear();
                    }
                    if !deltas.is_empty() {
                        let sig = guards::signature(i, &deltas);
                        if t.last_applied_signature.as_deref() == Some(sig.as_str()) {
                            events.push(GuardEvent::new(
                                i,
                                "idempotent",
                                None,
                                format!("decision {sig} already applied"),
                            ));
                            skipped.push("idempotent".into());
                            deltas.clear();
                        } else {
                            for (name, d) in &deltas {
                                let now = next.get(name).unwrap_or(0.0);
                                next.set_clamped(name, now + d);
                            }
                            decision.deltas = diff(&in_force, &next);
                            decision.signature = Some(sig.clone());
                            decision.applied = !decision.deltas.is_empty();
                            if decision.applied {
                                t.last_applied_signature = Some(sig);
                                t.applied_count += 1;
                                let magnitude = guards::normalized_magnitude(&decision.deltas);
                                if on.cooldown && magnitude > guards::COOLDOWN_THRESHOLD {
                                    t.cooldown_until_iter = i + guards::COOLDOWN_ITERATIONS;
                                    events.push(GuardEvent::new(
                                        i,
                                        "cooldown_start",
                                        None,
                                        format!(
                                            "normalized delta {} > {}: cooling down until iteration {}",
                                            round6(magnitude),
                                            guards::COOLDOWN_THRESHOLD,
                                            t.cooldown_until_iter
                                        ),
                                    ));
                                }
                            }
                        }
                    }
                }
                if !skipped.is_empty() {
                    decision.skipped_reason = Some(skipped.join(","));
                }
            }
        }
    }

    remember_iteration(t, i, cfg.iterations_per_hour, &in_force, &decision.deltas);

    decision.guards = events;
    state.overrides = next;
    state.iteration = i;
    let summary = IterSummary {
        schema_version: STATE_SCHEMA_VERSION,
        iteration: i,
        summary: IterKpis {
            net_bps: edge.net_bps,
            risk_ratio: edge.risk_ratio,
            adverse_p95: edge.adverse.p95,
            slippage_p95: edge.slippage.p95,
            kpi_verdict: verdict,
            fills: edge.fills(),
        },
        overrides: in_force,
        tuning: decision,
        edge: edge.clone(),
    };
    (state, summary)
}

/// Records an iteration that produced no usable observation (a live bot's report
/// missing, stale or malformed): INCONCLUSIVE, nothing tuned, the reason kept as an
/// `observation_unusable` event. The soak goes on.
pub fn skip_unusable(mut state: SoakState, reason: &str) -> (SoakState, IterSummary) {
    let i = state.iteration + 1;
    let mut events = validate(&mut state);
    events.push(GuardEvent::new(i, "observation_unusable", None, reason.to_string()));
    let in_force = state.overrides.clone();
    let per_hour = state.config.iterations_per_hour;
    let t = &mut state.tuning;
    t.stable_streak = 0;
    remember_iteration(t, i, per_hour, &in_force, &BTreeMap::new());
    state.iteration = i;
    let summary = IterSummary {
        schema_version: STATE_SCHEMA_VERSION,
        iteration: i,
        summary: IterKpis {
            net_bps: 0.0,
            risk_ratio: 0.0,
            adverse_p95: 0.0,
            slippage_p95: 0.0,
            kpi_verdict: KpiVerdict::Inconclusive,
            fills: 0,
        },
        overrides: in_force,
        tuning: TuningDecision {
            zone: None,
            applied: false,
            skipped_reason: Some("observation_unusable".into()),
            proposed: BTreeMap::new(),
            deltas: BTreeMap::new(),
            signature: None,
            reasons: Vec::new(),
            guards: events,
        },
        edge: EdgeReport::empty(i),
    };
    (state, summary)
}

/// The bookkeeping every iteration leaves behind, tuned or not: its changes for the
/// velocity window, its parameters for the oscillation window.
fn remember_iteration(
    t: &mut TuningState,
    i: u32,
    iterations_per_hour: u32,
    in_force: &Params,
    deltas: &BTreeMap<String, f64>,
) {
    for (name, d) in deltas {
        t.recent_changes.push(AppliedChange { iteration: i, param: name.clone(), delta: *d });
    }
    let window_start = i.saturating_sub(iterations_per_hour.saturating_sub(1));
    t.recent_changes.retain(|c| c.iteration >= window_start);
    t.recent_params.push(in_force.clone());
    let keep = guards::OSCILLATION_WINDOW - 1;
    if t.recent_params.len() > keep {
        t.recent_params.drain(..t.recent_params.len() - keep);
    }
}

/// The proposal a policy's outcome amounts to, or why there is none. Deltas past a
/// parameter's largest step are capped here (a `step_cap` event each), so the
/// guards downstream see exactly what the built-in tuner could have proposed.
fn policy_proposal(i: u32, outcome: &PolicyOutcome, events: &mut Vec<GuardEvent>) -> Result<Proposal, String> {
    match outcome {
        PolicyOutcome::Failed(reason) => Err(reason.clone()),
        PolicyOutcome::Proposal(response) => {
            let (deltas, capped) = policy::check_response(response).map_err(|e| format!("malformed response: {e}"))?;
            for (name, detail) in capped {
                events.push(GuardEvent::new(i, "step_cap", Some(&name), detail));
            }
            let reasons = response.reasons.iter().map(|r| format!("policy:{r}")).collect();
            Ok(Proposal { deltas, reasons })
        }
    }
}

/// Reverts to the safe profile, recording the change as the iteration's decision.
fn revert_to_safe(decision: &mut TuningDecision, in_force: &Params, safe: &Params, reason: &str) -> Params {
    decision.skipped_reason = Some(reason.into());
    decision.deltas = diff(in_force, safe);
    decision.applied = !decision.deltas.is_empty();
    safe.clone()
}

/// Per-parameter change from `a` to `b`, rounded; unchanged parameters omitted.
fn diff(a: &Params, b: &Params) -> BTreeMap<String, f64> {
    a.entries()
        .into_iter()
        .zip(b.entries())
        .filter(|((_, x), (_, y))| (x - y).abs() > 1e-12)
        .map(|((n, x), (_, y))| (n.to_string(), round6(y - x)))
        .collect()
}
