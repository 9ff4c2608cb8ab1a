//! mmsoak-core: the pure, deterministic heart of mmsoak.
//!
//! No I/O, clock, environment, threads or global RNG live here; transcendental
//! maths goes through `libm` so native, wasm and Windows builds agree bit for bit.
//! The same crate is linked natively and compiled to `wasm32-unknown-unknown`,
//! where [`abi`] is exposed through `wasm_exports`.

pub mod abi;
pub mod bot_report;
pub mod bot_report_v2;
pub mod chart;
pub mod edge;
pub mod exchange;
pub mod feed;
pub mod fills;
pub mod guards;
pub mod html_report;
pub mod judge;
pub mod kpi;
pub mod market;
pub mod num;
pub mod params;
pub mod policy;
pub mod report;
pub mod report_tally;
pub mod rng;
pub mod session;
pub mod session_ticks;
pub mod soak;
pub mod stats;
pub mod tally;
pub mod tuner;

#[cfg(all(target_arch = "wasm32", feature = "wasm-exports"))]
mod wasm_exports;
