//! Edge hunter: an example tuning policy for `mmsoak run --policy`.
//!
//! Build it with
//! `cargo build --release --target wasm32-unknown-unknown -p mmsoak-policy-edge-hunter`
//! and run `mmsoak run --auto-tune --policy target/wasm32-unknown-unknown/release/mmsoak_policy_edge_hunter.wasm`.
//!
//! Where the built-in tuner only gives edge back toward the profile's baseline, this
//! policy keeps hunting: while risk is comfortably low and the verdict passes it
//! tightens the spread and quotes larger, past the baseline if the market allows,
//! and when risk comes back it cuts hard — deliberately proposing more than one
//! step, which shows the host's guards capping a policy (`step_cap` events).
//!
//! The ABI (see `mmsoak_core::policy`): `alloc`, `dealloc`,
//! `mmsoak_policy_abi_version`, `mmsoak_policy_propose`; JSON in, JSON out; no imports.

use std::alloc::{alloc as raw_alloc, dealloc as raw_dealloc, Layout};

use mmsoak_core::kpi::KpiVerdict;
use mmsoak_core::policy::{PolicyRequest, PolicyResponse, POLICY_ABI_VERSION};

/// Risk ratio above which the policy cuts risk.
const RISK_HIGH: f64 = 0.40;
/// Risk ratio below which the policy reaches for more edge.
const RISK_LOW: f64 = 0.20;
/// Adverse-selection p95 (bps) above which quotes widen.
const ADVERSE_HIGH: f64 = 3.0;

/// The policy itself: pure, so it is unit-tested natively.
pub fn decide(req: &PolicyRequest) -> PolicyResponse {
    let mut out = PolicyResponse::default();
    let mut push = |name: &str, delta: f64, reason: &str| {
        *out.deltas.entry(name.to_string()).or_insert(0.0) += delta;
        if !out.reasons.iter().any(|r| r == reason) {
            out.reasons.push(reason.to_string());
        }
    };
    let edge = &req.edge;
    if edge.risk_ratio > RISK_HIGH || req.kpi_verdict == KpiVerdict::Fail {
        // Three steps' worth of spread: the host caps it at one (a `step_cap` event).
        push("base_spread_bps", 6.0, "risk_high");
        push("impact_cap_ratio", -0.02, "risk_high");
        push("inventory_skew", 0.25, "risk_high");
    } else if edge.risk_ratio < RISK_LOW && req.kpi_verdict == KpiVerdict::Pass && edge.adverse.p95 <= ADVERSE_HIGH {
        push("base_spread_bps", -1.0, "hunting_edge");
        push("impact_cap_ratio", 0.01, "hunting_edge");
    }
    if edge.adverse.p95 > ADVERSE_HIGH {
        push("base_spread_bps", 1.0, "adverse_high");
    }
    out.deltas.retain(|_, d| *d != 0.0);
    out
}

#[no_mangle]
pub extern "C" fn mmsoak_policy_abi_version() -> u32 {
    POLICY_ABI_VERSION
}

#[no_mangle]
pub extern "C" fn alloc(len: u32) -> *mut u8 {
    match Layout::from_size_align(len.max(1) as usize, 1) {
        // SAFETY: the layout has non-zero size.
        Ok(layout) => unsafe { raw_alloc(layout) },
        Err(_) => core::ptr::null_mut(),
    }
}

/// # Safety
/// `ptr` must come from `alloc(len)` or be a response buffer of total size `len`.
#[no_mangle]
pub unsafe extern "C" fn dealloc(ptr: *mut u8, len: u32) {
    if let (false, Ok(layout)) = (ptr.is_null(), Layout::from_size_align(len.max(1) as usize, 1)) {
        // SAFETY: the host hands back a pointer and size this module gave out.
        unsafe { raw_dealloc(ptr, layout) }
    }
}

/// Reads a JSON `PolicyRequest`, returns a length-prefixed JSON `PolicyResponse`.
/// A request it cannot read gets an empty proposal (no change) rather than a trap.
// The pointer comes from the host per the ABI; an `unsafe extern` export would
// promise nothing more to it.
#[allow(clippy::not_unsafe_ptr_arg_deref)]
#[no_mangle]
pub extern "C" fn mmsoak_policy_propose(ptr: *const u8, len: u32) -> *mut u8 {
    // SAFETY: the host wrote `len` bytes at `ptr`, a buffer from `alloc(len)`.
    let input = unsafe { core::slice::from_raw_parts(ptr, len as usize) };
    let response = match serde_json::from_slice::<PolicyRequest>(input) {
        Ok(req) => decide(&req),
        Err(_) => PolicyResponse::default(),
    };
    let body = serde_json::to_vec(&response).unwrap_or_else(|_| b"{\"deltas\":{}}".to_vec());
    let buf = alloc(body.len() as u32 + 4);
    if !buf.is_null() {
        // SAFETY: `buf` holds body.len() + 4 bytes.
        unsafe {
            core::ptr::copy_nonoverlapping((body.len() as u32).to_le_bytes().as_ptr(), buf, 4);
            core::ptr::copy_nonoverlapping(body.as_ptr(), buf.add(4), body.len());
        }
    }
    buf
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmsoak_core::edge::KpiObservation;
    use mmsoak_core::params::Params;

    fn request(risk: f64, adverse: f64, verdict: KpiVerdict) -> PolicyRequest {
        let edge = KpiObservation {
            net_bps: 3.0,
            risk_ratio: risk,
            adverse_p95: adverse,
            slippage_p95: 0.0,
            fills: 100,
            blocks: None,
        }
        .into_report(1);
        PolicyRequest {
            abi_version: POLICY_ABI_VERSION,
            iteration: 1,
            total_iterations: 10,
            kpi_verdict: verdict,
            params: Params::default(),
            baseline: Params::default(),
            stable_streak: 0,
            fail_streak: 0,
            edge,
        }
    }

    #[test]
    fn hunts_edge_when_calm_and_cuts_hard_when_risky() {
        let calm = decide(&request(0.1, 1.0, KpiVerdict::Pass));
        assert!(calm.deltas["base_spread_bps"] < 0.0);
        assert!(calm.deltas["impact_cap_ratio"] > 0.0);
        let risky = decide(&request(0.7, 5.0, KpiVerdict::Fail));
        assert_eq!(risky.deltas["base_spread_bps"], 7.0);
        assert!(risky.deltas["impact_cap_ratio"] < 0.0);
        let hold = decide(&request(0.3, 1.0, KpiVerdict::Pass));
        assert!(hold.deltas.is_empty());
    }
}
