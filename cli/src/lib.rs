//! mmsoak's shell as a library: files, time, processes and network around the core.
//! The `mmsoak` binary (main.rs) is a thin dispatcher over these modules; they are a
//! library so that fuzz targets and benches can drive the parsers of outside data
//! directly, without a process per input.

// First: its print macros shadow std's in every module below (see the file).
#[macro_use]
mod quiet_print;

pub mod args;
pub mod bot;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod data_stop;
pub mod exports;
pub mod external;
pub mod fills_log;
pub mod fills_source;
pub mod fsutil;
pub mod html_export;
pub mod interrupt;
pub mod kpis;
pub mod live_source;
pub mod market_fit;
pub mod market_stats;
pub mod metrics;
pub mod orphans;
pub mod outlock;
pub mod output_path;
pub mod profiles;
pub mod progress;
pub mod replay;
pub mod report_out;
pub mod resources;
pub mod resume_flags;
pub mod rotate;
pub mod run;
pub mod schema;
pub mod serve;
pub mod summary;
pub mod sweep;
pub mod thresholds;
pub mod tick_holdout;
pub mod tick_settings;
pub mod ticks;
