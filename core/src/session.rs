//! A soak driven from JavaScript (the web app's worker) with artifacts that are
//! byte-identical to the CLI's. JavaScript parses JSON into doubles and prints them
//! its own way (`5` for `5.0`), so it must never re-serialize an artifact: these
//! calls hand it the state and every artifact as finished *strings*, which survive
//! JSON round trips untouched.

use serde::{Deserialize, Serialize};

use crate::edge::EdgeReport;
use crate::market::{simulate_iteration, window_by_time, Bar, MarketConfig, Regime, RegimeSpec, ITERATION_SECONDS};
use crate::params::Params;
use crate::report::{self, EngineRecord, RunSettings, TickSettings};
use crate::soak::{self, IterSummary, SoakConfig, SoakState};

/// The bytes of an artifact file: pretty JSON, `\n` line endings, final newline.
/// The CLI writes every JSON artifact with this function.
pub fn try_artifact<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    let mut out = serde_json::to_string_pretty(value)?;
    out.push('\n');
    Ok(out)
}

/// [`try_artifact`] for the core's own artifact types, which always serialize
/// (plain structs, maps keyed by strings).
pub fn artifact<T: Serialize>(value: &T) -> String {
    try_artifact(value).unwrap_or_default()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionStartRequest {
    pub config: SoakConfig,
    pub baseline: Params,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionStartResponse {
    /// The soak state, to hand back to the next call as is.
    pub state_json: String,
    /// `runtime_overrides.json` before the first iteration.
    pub overrides_file: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionIterateRequest {
    pub state_json: String,
    pub regime: Regime,
    pub seed: u64,
    /// Real bars to replay (the whole series, oldest first, any interval; empty for
    /// the simulator). The what-if loops them when the soak outlasts them (the
    /// edge report's `bar_window.pass` says so).
    #[serde(default)]
    pub bars: Vec<Bar>,
    /// A regime file's numbers (`mmsoak market fit`, `--regime FILE`), with `regime`
    /// `fitted`; checked as the CLI checks the file ([`RegimeSpec::validate`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<RegimeSpec>,
}

/// One iteration's artifacts, exactly as `mmsoak run` writes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionIterateResponse {
    pub state_json: String,
    pub iteration: u32,
    /// `ITER_SUMMARY_<iteration>.json`
    pub summary_file: String,
    /// `TUNING_STATE.json`
    pub state_file: String,
    /// `TUNING_STATE.prev.json`
    pub prev_state_file: String,
    /// `runtime_overrides.json`
    pub overrides_file: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionReportRequest {
    pub settings: RunSettings,
    pub engine: EngineRecord,
    /// The ITER_SUMMARY files, in order.
    pub summary_files: Vec<String>,
    pub state_json: String,
    /// A tick replay's files and models (`RunSettings::ticks`), given this way because
    /// its configuration must reach the core as the scan's opaque `config_json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticks: Option<SessionTickSettings>,
}

/// [`crate::report::TickSettings`] with the configuration as the string
/// `session_tick_scan` returned (JavaScript cannot hold its i64 `start_ns`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionTickSettings {
    /// One entry per stream: its files in replay order.
    pub streams: Vec<Vec<String>>,
    pub config_json: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionReportResponse {
    /// `TUNING_REPORT.json`
    pub report_file: String,
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, json: &str) -> Result<T, String> {
    serde_json::from_str(json).map_err(|e| format!("{what}: {e}"))
}

pub fn start(req: SessionStartRequest) -> SessionStartResponse {
    let state = soak::init(req.config, req.baseline);
    SessionStartResponse { overrides_file: artifact(&state.overrides), state_json: artifact(&state) }
}

/// Simulates the next iteration with the parameters in force and steps the soak —
/// what one turn of the CLI's loop does with `--source sim` or `replay`.
pub fn iterate(req: SessionIterateRequest) -> Result<SessionIterateResponse, String> {
    let state: SoakState = parse("state_json", &req.state_json)?;
    match (req.regime, &req.spec) {
        (Regime::Fitted, None) => return Err("regime fitted: give the regime file's spec".into()),
        (Regime::Fitted, Some(spec)) => spec.validate().map_err(|e| format!("regime file: {e}"))?,
        (regime, Some(_)) => {
            return Err(format!("spec: a regime file's numbers run as regime fitted, not {}", regime.name()))
        }
        (_, None) => {}
    }
    let i = state.iteration + 1;
    let interval = crate::feed::bars::interval_of(&req.bars);
    let (bars, clock) = match window_by_time(&req.bars, interval, i, ITERATION_SECONDS, true) {
        Some((bars, clock)) => (bars, Some(clock)),
        None => (Vec::new(), None),
    };
    let market = MarketConfig { regime: req.regime, iteration_seconds: ITERATION_SECONDS, bars, clock, spec: req.spec };
    let edge = simulate_iteration(&state.overrides, &market, req.seed, i);
    Ok(step(state, &edge))
}

/// Steps the soak with an iteration's observation and formats what the CLI writes.
pub fn step(state: SoakState, edge: &EdgeReport) -> SessionIterateResponse {
    let iteration = state.iteration + 1;
    let prev_state_file = artifact(&state);
    let (next, summary) = soak::step(state, edge);
    SessionIterateResponse {
        iteration,
        summary_file: artifact(&summary),
        state_file: artifact(&next),
        prev_state_file,
        overrides_file: artifact(&next.overrides),
        state_json: artifact(&next),
    }
}

pub fn report(req: SessionReportRequest) -> Result<SessionReportResponse, String> {
    let state: SoakState = parse("state_json", &req.state_json)?;
    let summaries = req
        .summary_files
        .iter()
        .enumerate()
        .map(|(k, f)| parse::<IterSummary>(&format!("summary_files[{k}]"), f))
        .collect::<Result<Vec<_>, _>>()?;
    let mut settings = req.settings;
    if let Some(t) = req.ticks {
        let config = parse("ticks.config_json", &t.config_json)?;
        settings.ticks = Some(TickSettings { streams: t.streams, config });
    }
    let r = report::build(settings, req.engine, &summaries, &state, &[]);
    Ok(SessionReportResponse { report_file: artifact(&r) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kpi::KpiThresholds;

    #[test]
    fn a_session_writes_the_bytes_the_cli_loop_writes() {
        let config = SoakConfig {
            total_iterations: 4,
            auto_tune: true,
            iterations_per_hour: 4,
            thresholds: KpiThresholds::default(),
            safe_params: Params::default(),
            guards: Default::default(),
        };
        let baseline = Params { base_spread_bps: 3.0, impact_cap_ratio: 0.4, ..Params::default() };
        let started = start(SessionStartRequest { config: config.clone(), baseline: baseline.clone() });
        let mut state_json = started.state_json;
        // What the CLI does: init, then simulate and step, formatting with `artifact`.
        let mut state = soak::init(config, baseline);
        let market = MarketConfig::synthetic(Regime::Volatile);
        for i in 1..=4 {
            let r = iterate(SessionIterateRequest {
                state_json,
                regime: Regime::Volatile,
                seed: 9,
                bars: vec![],
                spec: None,
            })
            .unwrap();
            let edge = simulate_iteration(&state.overrides, &market, 9, i);
            let (next, summary) = soak::step(state, &edge);
            assert_eq!(r.iteration, i);
            assert_eq!(r.summary_file, artifact(&summary));
            assert_eq!(r.state_file, artifact(&next));
            assert_eq!(r.overrides_file, artifact(&next.overrides));
            state = next;
            state_json = r.state_json;
        }
        assert!(iterate(SessionIterateRequest {
            state_json: "{".into(),
            regime: Regime::Calm,
            seed: 1,
            bars: vec![],
            spec: None
        })
        .unwrap_err()
        .starts_with("state_json:"));
    }

    /// The regime file the web tests use (`mmsoak market fit` on the Bitstamp sample).
    const FITTED: &str = include_str!("../../web/tests/btcusd_bitstamp_fitted.json");

    #[test]
    fn a_fitted_regime_runs_as_the_cli_runs_it_and_a_bad_spec_is_refused_by_name() {
        let file = crate::market::RegimeFile::parse(FITTED).unwrap();
        let config = SoakConfig {
            total_iterations: 3,
            auto_tune: true,
            iterations_per_hour: 4,
            thresholds: KpiThresholds::default(),
            safe_params: Params::default(),
            guards: Default::default(),
        };
        let mut state = soak::init(config.clone(), Params::default());
        let mut state_json = start(SessionStartRequest { config, baseline: Params::default() }).state_json;
        // What the CLI's loop does with `--regime FILE`.
        let market = MarketConfig { spec: Some(file.spec), ..MarketConfig::synthetic(Regime::Fitted) };
        let calm = simulate_iteration(&state.overrides, &MarketConfig::synthetic(Regime::Calm), 4, 1);
        for i in 1..=3 {
            let req = SessionIterateRequest {
                state_json,
                regime: Regime::Fitted,
                seed: 4,
                bars: vec![],
                spec: Some(file.spec),
            };
            let r = iterate(req).unwrap();
            let edge = simulate_iteration(&state.overrides, &market, 4, i);
            if i == 1 {
                assert_ne!(edge, calm, "the fitted numbers changed nothing");
            }
            let (next, summary) = soak::step(state, &edge);
            assert_eq!(r.summary_file, artifact(&summary));
            assert_eq!(r.state_file, artifact(&next));
            state = next;
            state_json = r.state_json;
        }

        let state_json = start(SessionStartRequest {
            config: SoakConfig { total_iterations: 2, ..state.config.clone() },
            baseline: Params::default(),
        })
        .state_json;
        let with = |regime, spec| {
            iterate(SessionIterateRequest { state_json: state_json.clone(), regime, seed: 1, bars: vec![], spec })
                .unwrap_err()
        };
        let bad = RegimeSpec { hawkes_branching: 1.5, ..file.spec };
        assert_eq!(
            with(Regime::Fitted, Some(bad)),
            "regime file: spec.hawkes_branching = 1.5: must be between 0 and 0.99"
        );
        assert_eq!(with(Regime::Fitted, None), "regime fitted: give the regime file's spec");
        assert!(with(Regime::Calm, Some(file.spec)).contains("not calm"));

        // The file itself: each error names the field and the bad value.
        let spoil = |from: &str, to: &str| crate::market::RegimeFile::parse(&FITTED.replacen(from, to, 1)).unwrap_err();
        assert_eq!(spoil("\"top_depth\": 2.0", "\"top_depth\": \"2\""), "spec.top_depth = \"2\": expected a number");
        assert_eq!(
            spoil("\"top_depth\": 2.0", "\"top_depth\": -2.0"),
            "spec.top_depth = -2: must be between 0.000000001 and 1000000000000"
        );
        assert_eq!(
            spoil("mmsoak.regime/1", "mmsoak.regime/9"),
            "schema \"mmsoak.regime/9\": expected \"mmsoak.regime/1\""
        );
        assert!(spoil("\"top_depth\": 2.0,", "").starts_with("missing field `top_depth`"));
        assert!(spoil("\"top_depth\"", "\"depth\"").starts_with("unknown field `depth`"));
    }
}
