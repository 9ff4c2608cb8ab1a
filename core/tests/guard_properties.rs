//! Properties of the soak step that must hold for any sequence of KPIs, whether the
//! built-in tuner or a policy plugin proposes the deltas — including a hostile
//! plugin proposing anything at all, or failing.

use std::collections::BTreeMap;

use mmsoak_core::edge::{EdgeReport, KpiObservation};
use mmsoak_core::guards::FREEZE_PARAMS;
use mmsoak_core::kpi::KpiThresholds;
use mmsoak_core::params::{Params, APPLY_BOUNDS};
use mmsoak_core::policy::{PolicyOutcome, PolicyResponse};
use mmsoak_core::soak::{
    init, step, step_guarded, step_with_policy, GuardSwitches, SoakConfig, SoakState, OVERRIDES_WRITE_FAILED,
};
use proptest::prelude::*;

fn observation() -> impl Strategy<Value = KpiObservation> {
    (-5.0f64..10.0, 0.0f64..1.0, -3.0f64..12.0, 0.0f64..4.0, 0u64..400).prop_map(|(net, risk, adv, slip, fills)| {
        KpiObservation { net_bps: net, risk_ratio: risk, adverse_p95: adv, slippage_p95: slip, fills, blocks: None }
    })
}

fn params_in_bounds() -> impl Strategy<Value = Params> {
    let axes: Vec<_> = APPLY_BOUNDS.iter().map(|s| s.min..=s.max).collect();
    axes.prop_map(|values| {
        let mut p = Params::default();
        for (spec, v) in APPLY_BOUNDS.iter().zip(values) {
            p.set_clamped(spec.name, v);
        }
        p
    })
}

/// Whatever a plugin might answer: any known parameter moved by any amount (far
/// past its step and bounds), or a failure.
fn policy_outcome() -> impl Strategy<Value = PolicyOutcome> {
    let names: Vec<&'static str> = APPLY_BOUNDS.iter().map(|s| s.name).collect();
    let deltas = prop::collection::btree_map(prop::sample::select(names), -1000.0f64..1000.0, 0..7);
    prop_oneof![
        4 => deltas.prop_map(|d| PolicyOutcome::Proposal(PolicyResponse {
            deltas: d.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            reasons: vec!["fuzz".into()],
        })),
        1 => Just(PolicyOutcome::Failed("trap: wasm trap: unreachable".into())),
    ]
}

/// `None`: the built-in tuner; `Some`: one plugin answer per iteration.
fn tuner() -> impl Strategy<Value = Option<Vec<PolicyOutcome>>> {
    prop::option::of(prop::collection::vec(policy_outcome(), 60))
}

fn switches() -> impl Strategy<Value = GuardSwitches> {
    prop::array::uniform5(any::<bool>()).prop_map(|[panic_revert, freeze, cooldown, oscillation, velocity]| {
        GuardSwitches { panic_revert, freeze, cooldown, oscillation, velocity }
    })
}

fn config(total: u32) -> SoakConfig {
    SoakConfig {
        total_iterations: total,
        auto_tune: true,
        iterations_per_hour: 4,
        thresholds: KpiThresholds::default(),
        safe_params: Params::default(),
        guards: Default::default(),
    }
}

struct Trace {
    before: Vec<SoakState>,
    after: Vec<SoakState>,
    summaries: Vec<mmsoak_core::soak::IterSummary>,
}

fn run(baseline: Params, obs: Vec<KpiObservation>, policy: Option<Vec<PolicyOutcome>>) -> Trace {
    let n = obs.len() as u32;
    let mut state = init(config(n), baseline);
    let mut trace = Trace { before: vec![], after: vec![], summaries: vec![] };
    for (k, o) in obs.into_iter().enumerate() {
        let edge: EdgeReport = o.into_report(k as u32 + 1);
        trace.before.push(state.clone());
        let outcome = policy.as_ref().map(|p| &p[k % p.len()]);
        let (next, summary) = step_with_policy(state, &edge, outcome);
        trace.after.push(next.clone());
        trace.summaries.push(summary);
        state = next;
    }
    trace
}

/// The panic revert and the policy-failure revert override every other guard.
fn panicked(s: &mmsoak_core::soak::IterSummary) -> bool {
    s.tuning.guards.iter().any(|g| g.guard == "panic_revert" || g.guard == "policy_revert")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn parameters_never_leave_their_bounds(baseline in params_in_bounds(), obs in prop::collection::vec(observation(), 1..40), policy in tuner()) {
        let t = run(baseline, obs, policy);
        for (s, after) in t.summaries.iter().zip(&t.after) {
            prop_assert!(s.overrides.out_of_bounds().is_empty(), "in force at {}: {:?}", s.iteration, s.overrides);
            prop_assert!(after.overrides.out_of_bounds().is_empty());
        }
    }

    #[test]
    fn nothing_is_applied_on_the_final_iteration_while_cooling_down_or_to_frozen_params(
        baseline in params_in_bounds(),
        obs in prop::collection::vec(observation(), 2..40),
        policy in tuner(),
    ) {
        let t = run(baseline, obs, policy);
        let n = t.summaries.len();
        for (k, s) in t.summaries.iter().enumerate() {
            if panicked(s) {
                continue; // the panic revert is the one override of every other guard
            }
            let i = s.iteration;
            let before = &t.before[k].tuning;
            let after = &t.after[k];
            if k + 1 == n {
                prop_assert!(s.tuning.deltas.is_empty(), "final iteration applied {:?}", s.tuning.deltas);
            }
            if i <= before.cooldown_until_iter {
                prop_assert!(s.tuning.deltas.is_empty(), "applied during cooldown at {i}");
            }
            if i <= after.tuning.frozen_until_iter {
                for p in FREEZE_PARAMS {
                    prop_assert!(!s.tuning.deltas.contains_key(p), "{p} changed while frozen at {i}");
                }
            }
        }
    }

    #[test]
    fn velocity_is_never_exceeded(baseline in params_in_bounds(), obs in prop::collection::vec(observation(), 1..60), policy in tuner()) {
        let t = run(baseline, obs, policy);
        let per_iter: Vec<BTreeMap<String, f64>> =
            t.summaries.iter().map(|s| if panicked(s) { BTreeMap::new() } else { s.tuning.deltas.clone() }).collect();
        for end in 0..per_iter.len() {
            let start = end.saturating_sub(3);
            for spec in APPLY_BOUNDS.iter() {
                let used: f64 = per_iter[start..=end].iter().filter_map(|d| d.get(spec.name)).map(|d| d.abs()).sum();
                prop_assert!(used <= spec.max_per_hour + 1e-9, "{} moved {used} within an hour ending at {}", spec.name, end + 1);
            }
        }
    }

    #[test]
    fn a_policy_never_moves_a_parameter_more_than_one_step(
        baseline in params_in_bounds(),
        obs in prop::collection::vec(observation(), 1..40),
        policy in prop::collection::vec(policy_outcome(), 60),
    ) {
        let t = run(baseline, obs, Some(policy));
        for s in t.summaries.iter().filter(|s| !panicked(s)) {
            for (name, d) in &s.tuning.deltas {
                let spec = APPLY_BOUNDS.iter().find(|p| p.name == name).unwrap();
                prop_assert!(d.abs() <= spec.max_step + 1e-9, "{name} moved {d} at {}", s.iteration);
            }
        }
    }

    #[test]
    fn three_policy_failures_in_a_row_revert_to_the_safe_profile(
        baseline in params_in_bounds(),
        obs in prop::collection::vec(observation(), 3..20),
    ) {
        let failing = vec![PolicyOutcome::Failed("out_of_fuel: stopped".into())];
        let t = run(baseline, obs, Some(failing));
        let mut streak = 0;
        for s in &t.summaries {
            let has = |guard: &str| s.tuning.guards.iter().any(|g| g.guard == guard);
            if has("panic_revert") {
                streak = 0; // the KPI panic revert already went to the safe profile
                continue;
            }
            prop_assert!(has("policy_error"), "iteration {}: failure not recorded", s.iteration);
            streak += 1;
            prop_assert_eq!(has("policy_revert"), streak == 3, "iteration {}", s.iteration);
            if streak == 3 {
                streak = 0;
                prop_assert_eq!(s.tuning.skipped_reason.as_deref(), Some("policy_revert"));
            } else {
                prop_assert_eq!(s.tuning.skipped_reason.as_deref(), Some("policy_error"));
            }
        }
        // Whichever revert came first, three iterations in the parameters are the safe profile.
        prop_assert_eq!(&t.after[2].overrides, &Params::default(), "not on the safe profile after three failures");
    }

    #[test]
    fn bounds_and_step_caps_hold_whatever_guards_are_switched_off(
        baseline in params_in_bounds(),
        obs in prop::collection::vec(observation(), 1..40),
        guards in switches(),
        policy in tuner(),
    ) {
        let mut state = init(SoakConfig { guards, ..config(obs.len() as u32) }, baseline);
        for (k, o) in obs.into_iter().enumerate() {
            let outcome = policy.as_ref().map(|p| &p[k % p.len()]);
            let (next, s) = step_with_policy(state, &o.into_report(k as u32 + 1), outcome);
            prop_assert!(next.overrides.out_of_bounds().is_empty());
            if !panicked(&s) {
                for (name, d) in &s.tuning.deltas {
                    let spec = APPLY_BOUNDS.iter().find(|p| p.name == name).unwrap();
                    prop_assert!(d.abs() <= spec.max_step + 1e-9, "{name} moved {d}");
                }
            }
            state = next;
        }
    }

    #[test]
    fn without_auto_tune_nothing_ever_changes(baseline in params_in_bounds(), obs in prop::collection::vec(observation(), 1..30)) {
        let n = obs.len() as u32;
        let mut state = init(SoakConfig { auto_tune: false, ..config(n) }, baseline.clone());
        for (k, o) in obs.into_iter().enumerate() {
            let (next, s) = step(state, &o.into_report(k as u32 + 1));
            prop_assert_eq!(&s.overrides, &baseline);
            prop_assert!(!s.tuning.applied);
            state = next;
        }
        prop_assert_eq!(state.overrides, baseline);
    }

    /// runtime_overrides.json could not be replaced: the same step with the write
    /// failure leaves the parameters and every "something was applied" record as they
    /// were, says why, and the soak can apply again the next iteration.
    #[test]
    fn a_change_the_bot_never_got_is_not_marked_applied(
        baseline in params_in_bounds(),
        obs in prop::collection::vec(observation(), 2..40),
        policy in tuner(),
    ) {
        let t = run(baseline, obs.clone(), policy.clone());
        for (k, s) in t.summaries.iter().enumerate() {
            let before = &t.before[k];
            if t.after[k].overrides == before.overrides {
                continue; // nothing to write, nothing to fail
            }
            let edge = obs[k].clone().into_report(k as u32 + 1);
            let outcome = policy.as_ref().map(|p| &p[k % p.len()]);
            let (next, blocked) = step_guarded(before.clone(), &edge, outcome, Some("cannot replace runtime_overrides.json"));
            prop_assert_eq!(&next.overrides, &before.overrides);
            prop_assert!(!blocked.tuning.applied);
            prop_assert!(blocked.tuning.deltas.is_empty());
            prop_assert_eq!(next.tuning.applied_count, before.tuning.applied_count);
            prop_assert_eq!(&next.tuning.last_applied_signature, &before.tuning.last_applied_signature);
            prop_assert_eq!(next.tuning.cooldown_until_iter, before.tuning.cooldown_until_iter);
            prop_assert!(next.tuning.recent_changes.iter().all(|c| c.iteration < s.iteration));
            prop_assert!(blocked.tuning.skipped_reason.as_deref().unwrap_or("").contains(OVERRIDES_WRITE_FAILED));
            let event = blocked.tuning.guards.iter().find(|g| g.guard == OVERRIDES_WRITE_FAILED);
            prop_assert!(event.is_some_and(|g| g.detail.contains("runtime_overrides.json")), "{:?}", blocked.tuning.guards);
            // What was observed still counts: the verdict and the KPIs are the first step's.
            prop_assert_eq!(&blocked.summary, &s.summary);
            prop_assert_eq!(&blocked.tuning.proposed, &s.tuning.proposed);
        }
    }
}

/// After a failed write the next iteration proposes the same change again and applies it.
#[test]
fn the_next_iteration_applies_what_a_failed_write_held_back() {
    // Deep in the aggressive zone: the tuner always wants to pull risk in.
    let risky =
        KpiObservation { net_bps: 1.0, risk_ratio: 0.6, adverse_p95: 4.0, slippage_p95: 1.0, fills: 200, blocks: None };
    let state = init(config(10), Params::default());
    let (_, first) = step(state.clone(), &risky.clone().into_report(1));
    assert!(first.tuning.applied, "the test needs a change at iteration 1: {:?}", first.tuning);
    let (held, _) =
        step_guarded(state, &risky.clone().into_report(1), None, Some("cannot replace runtime_overrides.json"));
    assert_eq!(held.overrides, Params::default());
    let (retried, second) = step(held, &risky.into_report(2));
    assert!(second.tuning.applied, "{:?}", second.tuning);
    assert_eq!(retried.tuning.applied_count, 1);
    assert_eq!(second.tuning.deltas, first.tuning.deltas);
    assert_ne!(retried.overrides, Params::default());
}

/// Switching a guard off lets through exactly what it would have stopped.
#[test]
fn a_guard_switched_off_stops_nothing() {
    let stable =
        KpiObservation { net_bps: 3.0, risk_ratio: 0.1, adverse_p95: 1.0, slippage_p95: 0.0, fills: 100, blocks: None };
    let failing = KpiObservation { net_bps: 0.5, ..stable.clone() };
    let run_with = |guards: GuardSwitches, obs: &KpiObservation| {
        let mut state = init(SoakConfig { guards, ..config(8) }, Params::default());
        let mut names = Vec::new();
        for i in 1..=8 {
            let (next, s) = step(state, &obs.clone().into_report(i));
            names.extend(s.tuning.guards.into_iter().map(|g| g.guard));
            state = next;
        }
        names
    };
    let on = GuardSwitches::default();
    assert!(run_with(on, &stable).iter().any(|g| g == "freeze"));
    assert!(!run_with(GuardSwitches { freeze: false, ..on }, &stable).iter().any(|g| g == "freeze" || g == "frozen"));
    assert!(run_with(on, &failing).iter().any(|g| g == "panic_revert"));
    assert!(!run_with(GuardSwitches { panic_revert: false, ..on }, &failing).iter().any(|g| g == "panic_revert"));
}

/// A decision re-delivered after a crash (overrides written, state not yet
/// advanced) is recognised by its signature and not applied again — 100 times.
#[test]
fn applying_the_same_decision_100_times_changes_nothing_after_the_first() {
    let aggressive = Params { base_spread_bps: 3.0, impact_cap_ratio: 0.4, min_interval_ms: 25, ..Params::default() };
    let state = init(config(10), aggressive);
    let risky =
        KpiObservation { net_bps: 3.0, risk_ratio: 0.7, adverse_p95: 1.0, slippage_p95: 0.0, fills: 100, blocks: None };
    let edge = risky.into_report(1);
    let (applied, first) = step(state.clone(), &edge);
    assert!(first.tuning.applied);
    let mut redelivered = state.clone();
    redelivered.overrides = applied.overrides.clone();
    redelivered.tuning.last_applied_signature = applied.tuning.last_applied_signature.clone();
    for _ in 0..100 {
        let (again, s) = step(redelivered.clone(), &edge);
        assert!(!s.tuning.applied);
        assert_eq!(s.tuning.skipped_reason.as_deref(), Some("idempotent"));
        assert_eq!(again.overrides, applied.overrides);
    }
}
