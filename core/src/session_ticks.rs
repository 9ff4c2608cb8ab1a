//! A tick replay (`mmsoak run --source ticks`) driven from JavaScript, with the
//! CLI's bytes. Timestamps are i64 nanoseconds (~1.7e18) in the scanner, the
//! replay state, [`TickConfig::start_ns`] and every EdgeReport's data quality:
//! JavaScript numbers cannot hold them, so these calls hand JavaScript the
//! scanner, the replay and the configuration as opaque `*_json` strings and the
//! finished artifacts as strings, exactly as [`crate::session`] does for a soak.
//!
//! The shell's part, as `cli/src/ticks.rs` plays it: group the files
//! ([`tick_group`]), scan every stream's text in chunks of whole lines
//! ([`tick_scan`]) until the plan comes back, then per iteration hand the pending
//! text to [`tick_iterate`] until it returns the iteration's artifacts. `consumed`
//! counts UTF-16 code units (what a JavaScript string's `slice` takes), not bytes.
//! Output does not depend on how the text is cut into chunks.

use serde::{Deserialize, Serialize};

use crate::abi::{self, TickReplayRequest, TickScanRequest};
use crate::exchange::plan::TickChoices;
use crate::exchange::scan::{ScanFacts, Scanner};
use crate::exchange::{Advance, TickConfig, TickReplay};
use crate::feed::group::{self, FileHead, StreamGroup};
use crate::feed::stream::{Chunk, Consumed, FeedError};
use crate::feed::Format;
use crate::session::{self, SessionIterateResponse};
use crate::soak::SoakState;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TickGroupRequest {
    /// Each picked file's name and first lines (decompressed).
    pub files: Vec<FileHead>,
    /// The format, if the user named one (else detected per file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TickGroupResponse {
    /// The streams, as indexes into `files`, in the order their chunks are handed over.
    pub streams: Vec<StreamGroup>,
    /// Files that cannot be replayed (unknown format, a LOBSTER file without its partner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Groups files into streams, as `mmsoak run --source ticks` does.
pub fn tick_group(r: TickGroupRequest) -> TickGroupResponse {
    match group::group(&r.files, r.format) {
        Ok(streams) => TickGroupResponse { streams, error: None },
        Err(e) => TickGroupResponse { streams: Vec::new(), error: Some(e) },
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionTickScanRequest {
    /// One format per stream (from [`tick_group`]).
    pub formats: Vec<Format>,
    /// The previous call's `scanner_json`; absent on the first call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scanner_json: Option<String>,
    pub chunks: Vec<Chunk>,
    #[serde(default)]
    pub choices: TickChoices,
    pub iterations: u32,
    pub iteration_seconds: u32,
    pub backstep_tolerance_ns: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionTickScanResponse {
    /// The scan so far, to hand back to the next call as is.
    pub scanner_json: String,
    /// Per stream, the UTF-16 code units of `text` and `paired` consumed: drop them.
    pub consumed: Vec<Consumed>,
    /// The stream that needs more text (or `eof`) while the scan goes on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub need: Option<usize>,
    /// Bad data: the stream and its 1-based line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<FeedError>,
    /// The data cannot support the run as asked (too short, no book, a model it lacks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_error: Option<String>,
    /// When the scan is done: the replay's [`TickConfig`], for [`tick_iterate`] and
    /// the report. Opaque to JavaScript (`start_ns` is an i64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_json: Option<String>,
    /// When the scan is done: one line on what the data holds (as the CLI prints it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionTickIterateRequest {
    /// The soak state (`state_json` of `session_start` or the last finished iteration):
    /// the next iteration is replayed with its parameters.
    pub state_json: String,
    /// The previous call's `replay_json`; absent to start from the data's beginning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_json: Option<String>,
    /// `config_json` from the scan.
    pub config_json: String,
    pub chunks: Vec<Chunk>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionTickIterateResponse {
    /// The replay so far, to hand back to the next call as is (also after `done`:
    /// the next iteration goes on from there).
    pub replay_json: String,
    /// Per stream, the UTF-16 code units of `text` and `paired` consumed: drop them.
    pub consumed: Vec<Consumed>,
    /// The stream that needs more text (or `eof`) before the iteration can finish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub need: Option<usize>,
    /// Bad data: the stream and its 1-based line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<FeedError>,
    /// The iteration is complete: its artifacts, exactly as `session_iterate` gives them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done: Option<SessionIterateResponse>,
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, json: &str) -> Result<T, String> {
    serde_json::from_str(json).map_err(|e| format!("{what}: {e}"))
}

fn opaque<T: Serialize>(what: &str, value: &T) -> Result<String, String> {
    serde_json::to_string(value).map_err(|e| format!("{what}: {e}"))
}

/// UTF-8 byte counts (the core's) → UTF-16 code units (a JavaScript string's).
fn utf16(chunks: &[Chunk], consumed: &[Consumed]) -> Vec<Consumed> {
    let units = |s: &str, n: usize| s.get(..n.min(s.len())).map_or(0, |p| p.encode_utf16().count());
    chunks
        .iter()
        .zip(consumed)
        .map(|(c, k)| Consumed {
            text: units(&c.text, k.text),
            paired: c.paired.as_deref().map_or(0, |p| units(p, k.paired)),
        })
        .collect()
}

/// One line on what a data set holds and how it will be replayed (the CLI prints the same).
pub fn describe(facts: &ScanFacts, config: &TickConfig) -> String {
    let (a, b) = facts.common_span().unwrap_or((0, 0));
    format!(
        "{} events ({} trades) over {:.1} min; tick {}; lot {}; queue {}; latency {}",
        facts.events,
        facts.trades,
        (b - a) as f64 / 60e9,
        config.tick.price(1),
        config.lot,
        config.queue.name(),
        config.latency.name()
    )
}

/// One step of the scan before a replay (`tick_scan`, with opaque state).
pub fn tick_scan(r: SessionTickScanRequest) -> Result<SessionTickScanResponse, String> {
    let state = match &r.scanner_json {
        Some(s) => Some(parse::<Scanner>("scanner_json", s)?),
        None => None,
    };
    let out = abi::tick_scan(TickScanRequest {
        formats: r.formats,
        state,
        chunks: r.chunks.clone(),
        choices: r.choices,
        iterations: r.iterations,
        iteration_seconds: r.iteration_seconds,
        backstep_tolerance_ns: r.backstep_tolerance_ns,
    });
    let summary = match (&out.facts, &out.config) {
        (Some(f), Some(c)) => Some(describe(f, c)),
        _ => None,
    };
    Ok(SessionTickScanResponse {
        scanner_json: opaque("scanner", &out.state)?,
        consumed: utf16(&r.chunks, &out.consumed),
        need: out.need,
        error: out.error,
        plan_error: out.plan_error,
        config_json: out.config.as_ref().map(|c| opaque("config", c)).transpose()?,
        summary,
    })
}

/// One step of iteration `state.iteration + 1` of a tick replay: the market
/// replayed with the parameters in force, and when its window is complete the
/// soak stepped — one turn of the CLI's loop with `--source ticks`.
pub fn tick_iterate(r: SessionTickIterateRequest) -> Result<SessionTickIterateResponse, String> {
    let state: SoakState = parse("state_json", &r.state_json)?;
    let config: TickConfig = parse("config_json", &r.config_json)?;
    let replay = match &r.replay_json {
        Some(s) => Some(parse::<TickReplay>("replay_json", s)?),
        None => None,
    };
    let out = abi::tick_replay(TickReplayRequest {
        config,
        state: replay,
        params: state.overrides.clone(),
        iteration: state.iteration + 1,
        chunks: r.chunks.clone(),
    });
    let mut resp = SessionTickIterateResponse {
        replay_json: opaque("replay", &out.state)?,
        consumed: utf16(&r.chunks, &out.consumed),
        need: None,
        error: out.error,
        done: None,
    };
    match out.advance {
        Some(Advance::Need(k)) => resp.need = Some(k),
        Some(Advance::Done(edge)) => resp.done = Some(session::step(state, &edge)),
        None if resp.error.is_some() => {}
        None => return Err("the tick replay returned neither a result nor an error".into()),
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kpi::KpiThresholds;
    use crate::params::Params;
    use crate::report::{EngineRecord, RunSettings, TickSettings};
    use crate::session::{artifact, SessionReportRequest, SessionTickSettings};
    use crate::soak::{self, SoakConfig};

    fn shared_data(path: &str) -> String {
        let full = format!("{}/../../shared/data/{path}", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
        if bytes.starts_with(&[0x1f, 0x8b]) {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut flate2::read::MultiGzDecoder::new(&bytes[..]), &mut text).unwrap();
            text
        } else {
            String::from_utf8(bytes).unwrap()
        }
    }

    /// Real data: the Tardis.dev excerpts in ../shared/data (3.7 min of BTCUSDT, two streams).
    fn tardis() -> Vec<(String, String)> {
        [
            "binance-futures_quotes_2020-02-22_BTCUSDT_first9999.csv",
            "binance-futures_trades_2020-02-22_BTCUSDT_first9999.csv",
        ]
        .iter()
        .map(|n| (n.to_string(), shared_data(&format!("tardis/{n}"))))
        .collect()
    }

    /// Real data: the LOBSTER AMZN day (one stream of message + orderbook files; FIFO queues, fills).
    fn lobster() -> Vec<(String, String)> {
        ["message", "orderbook"]
            .iter()
            .map(|k| {
                let n = format!("AMZN_2012-06-21_34200000_57600000_{k}_5.csv.gz");
                (n.clone(), shared_data(&format!("lobster/{n}")))
            })
            .collect()
    }

    /// A shell that hands over about `step` bytes of whole lines at a time (a
    /// paired stream: as many lines of its companion), as JavaScript does.
    struct Feeder {
        texts: Vec<(String, Option<String>)>,
        pos: Vec<(usize, usize)>,
        chunks: Vec<Chunk>,
        step: usize,
    }

    /// The end of the line holding byte `from` (or of the text).
    fn line_end(t: &str, from: usize) -> usize {
        t.get(from..).and_then(|r| r.find('\n')).map_or(t.len(), |i| from + i + 1)
    }

    impl Feeder {
        fn new(texts: Vec<(String, Option<String>)>, step: usize) -> Self {
            let n = texts.len();
            let chunks =
                texts.iter().map(|(_, p)| Chunk { paired: p.as_ref().map(|_| String::new()), ..Chunk::default() });
            let mut f = Feeder { pos: vec![(0, 0); n], chunks: chunks.collect(), texts, step };
            for k in 0..n {
                f.refill(k);
            }
            f
        }
        fn refill(&mut self, k: usize) {
            let (t, paired) = &self.texts[k];
            let (p, q) = self.pos[k];
            let end = line_end(t, (p + self.step).min(t.len()));
            self.chunks[k].text.push_str(&t[p..end]);
            let mut q_end = q;
            if let (Some(pt), Some(chunk)) = (paired, self.chunks[k].paired.as_mut()) {
                for _ in 0..t[p..end].matches('\n').count() {
                    q_end = line_end(pt, q_end);
                }
                chunk.push_str(&pt[q..q_end]);
            }
            self.pos[k] = (end, q_end);
            self.chunks[k].eof = end == t.len();
        }
        /// Drops UTF-16 units, as JavaScript does.
        fn consume(&mut self, c: &[Consumed]) {
            let drop = |s: &mut String, n: usize| {
                let units: Vec<u16> = s.encode_utf16().collect();
                *s = String::from_utf16(&units[n..]).unwrap();
            };
            for (chunk, c) in self.chunks.iter_mut().zip(c) {
                drop(&mut chunk.text, c.text);
                if let Some(p) = chunk.paired.as_mut() {
                    drop(p, c.paired);
                }
            }
        }
    }

    fn config() -> SoakConfig {
        SoakConfig {
            total_iterations: 3,
            auto_tune: true,
            iterations_per_hour: 60,
            thresholds: KpiThresholds::default(),
            safe_params: Params::default(),
            guards: Default::default(),
        }
    }

    /// The session calls, with the text cut every `step` bytes and every state
    /// through strings, against the CLI's loop (a native scan of whole files, then
    /// tick_replay, soak::step and artifact()): the same bytes, file for file.
    fn session_writes_the_cli_bytes(files: Vec<(String, String)>, step: usize) -> Vec<String> {
        let heads: Vec<FileHead> = files
            .iter()
            .map(|(n, t)| FileHead { name: n.clone(), lines: t.lines().take(4).map(String::from).collect() })
            .collect();
        let g = tick_group(TickGroupRequest { files: heads, format: None });
        assert_eq!(g.error, None);
        let formats: Vec<Format> = g.streams.iter().map(|s| s.format).collect();
        let texts: Vec<(String, Option<String>)> = g
            .streams
            .iter()
            .map(|s| (files[s.files[0]].1.clone(), s.paired.as_ref().map(|p| files[p[0]].1.clone())))
            .collect();
        let streams: Vec<Vec<String>> = g
            .streams
            .iter()
            .map(|s| {
                std::iter::once(s.files[0]).chain(s.paired.iter().map(|p| p[0])).map(|i| files[i].0.clone()).collect()
            })
            .collect();

        // The CLI: scan natively in one go, then plan.
        let mut scanner = Scanner::new(&formats, 1_000_000_000);
        let whole: Vec<Chunk> =
            texts.iter().map(|(t, p)| Chunk { text: t.clone(), paired: p.clone(), eof: true }).collect();
        let mut used = vec![Consumed::default(); whole.len()];
        assert_eq!(scanner.advance(&whole, &mut used), Ok(None));
        let cli_config =
            crate::exchange::plan::plan_config(&formats, &scanner.facts, &TickChoices::default(), 3, 60, 1_000_000_000)
                .unwrap();

        // The session's scan.
        let mut feed = Feeder::new(texts.clone(), step);
        let mut scanner_json = None;
        let (config_json, summary) = loop {
            let r = tick_scan(SessionTickScanRequest {
                formats: formats.clone(),
                scanner_json: scanner_json.take(),
                chunks: feed.chunks.clone(),
                choices: TickChoices::default(),
                iterations: 3,
                iteration_seconds: 60,
                backstep_tolerance_ns: 1_000_000_000,
            })
            .unwrap();
            assert_eq!(r.error, None);
            assert_eq!(r.plan_error, None);
            feed.consume(&r.consumed);
            scanner_json = Some(r.scanner_json);
            if let Some(k) = r.need {
                feed.refill(k);
                continue;
            }
            break (r.config_json.unwrap(), r.summary.unwrap());
        };
        assert_eq!(serde_json::from_str::<TickConfig>(&config_json).unwrap(), cli_config);
        assert!(summary.starts_with(&format!("{} events", scanner.facts.events)), "{summary}");

        // The CLI loop.
        let baseline = Params { base_spread_bps: 3.0, ..Params::default() };
        let mut state = soak::init(config(), baseline.clone());
        let mut replay = None;
        let mut left = whole.clone();
        let mut cli_files = Vec::new();
        for i in 1..=3 {
            let out = abi::tick_replay(TickReplayRequest {
                config: cli_config.clone(),
                state: replay.take(),
                params: state.overrides.clone(),
                iteration: i,
                chunks: left.clone(),
            });
            let Some(Advance::Done(edge)) = out.advance else { panic!("{:?}", out.error) };
            replay = Some(out.state);
            for (c, k) in left.iter_mut().zip(&out.consumed) {
                c.text.drain(..k.text);
                if let Some(p) = c.paired.as_mut() {
                    p.drain(..k.paired);
                }
            }
            let prev = artifact(&state);
            let (next, summary) = soak::step(state, &edge);
            cli_files.push((artifact(&summary), prev, artifact(&next), artifact(&next.overrides)));
            state = next;
        }

        // The session's iterations, cut elsewhere.
        let started = session::start(session::SessionStartRequest { config: config(), baseline });
        let mut state_json = started.state_json;
        let mut feed = Feeder::new(texts, step * 7 / 10);
        let mut replay_json = None;
        let mut summaries = Vec::new();
        for i in 1..=3u32 {
            let done = loop {
                let r = tick_iterate(SessionTickIterateRequest {
                    state_json: state_json.clone(),
                    replay_json: replay_json.take(),
                    config_json: config_json.clone(),
                    chunks: feed.chunks.clone(),
                })
                .unwrap();
                assert_eq!(r.error, None);
                feed.consume(&r.consumed);
                replay_json = Some(r.replay_json);
                match (r.need, r.done) {
                    (Some(k), None) => feed.refill(k),
                    (None, Some(d)) => break d,
                    other => panic!("{other:?}"),
                }
            };
            assert_eq!(done.iteration, i);
            let (summary, prev, st, ov) = &cli_files[i as usize - 1];
            assert_eq!(&done.summary_file, summary);
            assert_eq!(&done.prev_state_file, prev);
            assert_eq!(&done.state_file, st);
            assert_eq!(&done.overrides_file, ov);
            summaries.push(done.summary_file);
            state_json = done.state_json;
        }

        // The report names the files and the models, with start_ns exact.
        let settings = RunSettings {
            profile: "steady_safe".into(),
            regime: "calm".into(),
            source: "ticks".into(),
            data_file: Some(files[0].0.clone()),
            seed: 1,
            iterations: 3,
            auto_tune: true,
            iteration_seconds: 60,
            policy: None,
            ticks: None,
            bars: None,
            regime_spec: None,
        };
        let engine = EngineRecord { kind: "wasm".into(), core_sha256: "x".into(), abi_version: 1, runtime: None };
        let web = session::report(SessionReportRequest {
            settings: settings.clone(),
            engine: engine.clone(),
            summary_files: summaries.clone(),
            state_json: state_json.clone(),
            ticks: Some(SessionTickSettings { streams: streams.clone(), config_json: config_json.clone() }),
        })
        .unwrap();
        let parsed: Vec<_> = summaries.iter().map(|s| serde_json::from_str(s).unwrap()).collect();
        let cli = crate::report::build(
            RunSettings { ticks: Some(TickSettings { streams, config: cli_config.clone() }), ..settings },
            engine,
            &parsed,
            &serde_json::from_str(&state_json).unwrap(),
            &[],
        );
        assert_eq!(web.report_file, artifact(&cli));
        assert!(web.report_file.contains(&format!("\"start_ns\": {},", cli_config.start_ns)));
        summaries
    }

    #[test]
    fn a_tick_session_writes_the_bytes_the_cli_loop_writes() {
        // Two streams merged, cut every 10 kB; epoch nanoseconds past 2^53.
        let s = session_writes_the_cli_bytes(tardis(), 10_000);
        assert!(s[0].contains("\"window_start_ns\": 1582329602000000000,"), "{}", s[0]);
        // A paired stream (message + orderbook lines in step), FIFO queues, real fills.
        let s = session_writes_the_cli_bytes(lobster(), 1_000_000);
        assert!(s.iter().any(|f| !f.contains("\"fills\": 0\n")), "no fills: the replay proves little");
    }

    #[test]
    fn consumed_counts_utf16_units_and_bad_data_names_stream_and_line() {
        let chunks = vec![Chunk { text: "é€😀\nx".into(), paired: None, eof: false }];
        let c = utf16(&chunks, &[Consumed { text: "é€😀\n".len(), paired: 0 }]);
        assert_eq!(c[0].text, 5);
        let q = "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n\
                 binance-futures,BTCUSDT,1582329601000000,1582329601000000,1,9682,9681,1\n\
                 binance-futures,BTCUSDT,oops,1582329602000000,1,9682,9681,1\n";
        let r = tick_scan(SessionTickScanRequest {
            formats: vec![Format::Tardis],
            scanner_json: None,
            chunks: vec![Chunk { text: q.into(), paired: None, eof: true }],
            choices: TickChoices::default(),
            iterations: 1,
            iteration_seconds: 60,
            backstep_tolerance_ns: 0,
        })
        .unwrap();
        let e = r.error.unwrap();
        assert_eq!((e.stream, e.line), (0, 3), "{}", e.message);
        let g = tick_group(TickGroupRequest {
            files: vec![FileHead { name: "x.csv".into(), lines: vec!["hello".into()] }],
            format: None,
        });
        assert!(g.error.unwrap().starts_with("x.csv: unknown market data format"));
        assert!(tick_iterate(SessionTickIterateRequest {
            state_json: "{".into(),
            replay_json: None,
            config_json: "{}".into(),
            chunks: vec![],
        })
        .unwrap_err()
        .starts_with("state_json:"));
    }
}
