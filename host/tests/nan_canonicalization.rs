//! The shipped wasm engine runs without Cranelift's NaN canonicalization, because
//! the core never lets a NaN's sign or payload bits reach its output
//! (docs/nan-determinism.md). This checks the argument: the same requests go to
//! the core's wasm compiled with canonicalization, without it, and to the natively
//! linked core, and every response must be byte-identical. On x86-64 the three
//! really do make different NaNs (0/0 gives −NaN in hardware, +NaN when
//! canonicalized), so any NaN bit that leaked into a response would show.
//!
//! Sources: simulated soaks with the tuner on (every regime, many seeds), soaks
//! over real 1-minute bars, and tick replays of the Tardis and Binance samples in
//! ../shared/data with several queue and latency models.

use std::io::Read;
use std::path::Path;

use mmsoak_core::abi::{
    encode_request, ChartsRequest, InitRequest, MarkdownRequest, ReportRequest, Response, SimulateRequest, StepRequest,
    StepResponse, TickReplayRequest, TickReplayResponse,
};
use mmsoak_core::edge::EdgeReport;
use mmsoak_core::exchange::plan::{plan_config, TickChoices};
use mmsoak_core::exchange::scan::Scanner;
use mmsoak_core::exchange::{Advance, TickConfig};
use mmsoak_core::feed::group::{group, FileHead};
use mmsoak_core::feed::stream::{Chunk, Consumed};
use mmsoak_core::feed::Format;
use mmsoak_core::kpi::KpiThresholds;
use mmsoak_core::market::{parse_bars_csv, Bar, MarketConfig, Regime};
use mmsoak_core::params::Params;
use mmsoak_core::report::{RunSettings, TuningReport};
use mmsoak_core::soak::{IterSummary, SoakConfig, SoakState};
use mmsoak_host::{CoreRuntime, ModuleCache, NativeRuntime, WasmLimits, WasmRuntime, CORE_WASM};
use serde::de::DeserializeOwned;

/// The core three ways: wasm with and without NaN canonicalization, and native.
struct Engines {
    canonical: WasmRuntime,
    shipped: WasmRuntime,
    native: NativeRuntime,
}

impl Engines {
    fn new() -> Self {
        // Cached compilation (keyed by the config, so the two wasm builds are separate entries).
        let cache = ModuleCache::at(std::env::temp_dir().join("mmsoak-host-tests"));
        let wasm = |nan| WasmRuntime::with_nan_canonicalization(CORE_WASM, &cache, WasmLimits::default(), nan);
        Engines {
            canonical: wasm(true).expect("core wasm loads with NaN canonicalization"),
            shipped: wasm(false).expect("core wasm loads without NaN canonicalization"),
            native: NativeRuntime,
        }
    }

    /// Runs one call in all three; the responses must be the same bytes.
    fn call(&mut self, call: &'static str, request: &[u8], what: &str) -> Vec<u8> {
        let shipped = self.shipped.call_raw(call, request).expect("wasm call");
        let canonical = self.canonical.call_raw(call, request).expect("wasm call");
        if shipped != canonical {
            panic!("{what}: {call} differs with NaN canonicalization\n{}", first_difference(&shipped, &canonical));
        }
        let native = self.native.call_raw(call, request).expect("native call");
        if shipped != native {
            panic!("{what}: {call} differs natively\n{}", first_difference(&shipped, &native));
        }
        shipped
    }

    fn typed<T: DeserializeOwned>(&mut self, call: &'static str, request: &[u8], what: &str) -> T {
        ok(&self.call(call, request, what), what)
    }
}

fn ok<T: DeserializeOwned>(bytes: &[u8], what: &str) -> T {
    match serde_json::from_slice::<Response<T>>(bytes) {
        Ok(Response::Ok(v)) => v,
        Ok(Response::Error(e)) => panic!("{what}: {e:?}"),
        Err(e) => panic!("{what}: undecodable response ({e}): {}", String::from_utf8_lossy(bytes)),
    }
}

fn first_difference(a: &[u8], b: &[u8]) -> String {
    let at = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
    let around = |s: &[u8]| String::from_utf8_lossy(&s[at.saturating_sub(120)..(at + 120).min(s.len())]).into_owned();
    format!("at byte {at}:\n  {}\nvs\n  {}", around(a), around(b))
}

fn soak_config(iterations: u32) -> SoakConfig {
    SoakConfig {
        total_iterations: iterations,
        auto_tune: true,
        iterations_per_hour: 4,
        thresholds: KpiThresholds::default(),
        safe_params: Params::default(),
        guards: Default::default(),
    }
}

/// Quotes tight and trades big: the tuner has work to do and the guards fire.
fn aggressive() -> Params {
    Params { base_spread_bps: 3.0, min_interval_ms: 25, impact_cap_ratio: 0.4, ..Params::default() }
}

fn settings(iterations: u32) -> RunSettings {
    let json = format!(
        r#"{{"profile": "test", "regime": "test", "source": "sim", "seed": 1, "iterations": {iterations},
            "auto_tune": true, "iteration_seconds": 900}}"#
    );
    serde_json::from_str(&json).expect("run settings")
}

/// A tuned soak through every engine: init, then simulate and step per iteration
/// (each market from `market(i)`), then the report, its Markdown and charts.
fn soak(
    engines: &mut Engines,
    what: &str,
    baseline: Params,
    seed: u64,
    iterations: u32,
    market: impl Fn(u32) -> MarketConfig,
) {
    let mut state: SoakState =
        engines.typed("init", &encode_request(&InitRequest { config: soak_config(iterations), baseline }), what);
    let mut summaries: Vec<IterSummary> = Vec::new();
    for i in 1..=iterations {
        let what = format!("{what}, iteration {i}");
        let req = SimulateRequest { params: state.overrides.clone(), market: market(i), seed, iteration: i };
        let edge: EdgeReport = engines.typed("simulate", &encode_request(&req), &what);
        let step: StepResponse = engines.typed(
            "step",
            &encode_request(&StepRequest { state, observation: edge, policy: None, apply_blocked: None }),
            &what,
        );
        state = step.state;
        summaries.push(step.summary);
    }
    let report: TuningReport = engines.typed(
        "report",
        &encode_request(&ReportRequest {
            settings: settings(iterations),
            engine: engines.shipped.record(),
            summaries: summaries.clone(),
            state,
            baseline: summaries,
        }),
        what,
    );
    engines.call("markdown", &encode_request(&MarkdownRequest { report: report.clone(), charts_dir: None }), what);
    engines.call("charts", &encode_request(&ChartsRequest { report }), what);
}

#[test]
fn simulated_soaks_are_the_same_bytes_with_and_without_nan_canonicalization() {
    let mut engines = Engines::new();
    for regime in Regime::ALL {
        for seed in 1..=8u64 {
            let baseline = if seed % 2 == 0 { Params::default() } else { aggressive() };
            let what = format!("{} seed {seed}", regime.name());
            soak(&mut engines, &what, baseline, seed, 6, |_| MarketConfig::synthetic(regime));
        }
    }
}

fn data(rel: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data").join(rel);
    let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut s = String::new();
        flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_string(&mut s).expect("gzip");
        s
    } else {
        String::from_utf8(bytes).expect("utf-8")
    }
}

#[test]
fn bar_replay_soaks_are_the_same_bytes_with_and_without_nan_canonicalization() {
    let bars = parse_bars_csv(&data("btcusd_bitstamp_1min_a.csv")).expect("bars");
    // 15 one-minute bars per 900 s iteration; the soaks start at different places
    // in the series. The regime still sets the book's depth and the trade flow.
    let window = |start: usize, regime: Regime| {
        let bars = bars.clone();
        move |i: u32| {
            let from = (start + (i as usize - 1) * 15) % (bars.len() - 15);
            MarketConfig { bars: bars[from..from + 15].to_vec(), ..MarketConfig::synthetic(regime) }
        }
    };
    let mut engines = Engines::new();
    for (k, regime) in Regime::ALL.into_iter().enumerate() {
        for (j, start) in [0usize, 1700].into_iter().enumerate() {
            let start = start + 250 * k;
            let baseline = if (j + k) % 2 == 0 { aggressive() } else { Params::default() };
            let what = format!("bars from row {start}, {}", regime.name());
            soak(&mut engines, &what, baseline, 7 + k as u64, 6, window(start, regime));
        }
    }
}

/// Bars at price zero would make the simulator divide 0 by 0 (NaNs in the per-fill
/// figures the percentiles sort); the ABI now refuses them (`MarketConfig::validate`).
/// Either way: the same bytes on every engine.
#[test]
fn requests_that_make_nans_inside_the_core_are_the_same_bytes() {
    let bar = |t: i64, p: f64| Bar { timestamp: t, open: p, high: p, low: p, close: p, volume: 1.0 };
    let mut bars: Vec<Bar> = (0..8).map(|k| bar(60 * k, 100.0 + k as f64)).collect();
    bars.extend((8..15).map(|k| bar(60 * k, 0.0)));
    let mut engines = Engines::new();
    for seed in 1..=3 {
        for params in [Params::default(), aggressive()] {
            let req = SimulateRequest {
                params,
                market: MarketConfig { bars: bars.clone(), ..MarketConfig::synthetic(Regime::Volatile) },
                seed,
                iteration: 1,
            };
            engines.call("simulate", &encode_request(&req), &format!("zero-price bars, seed {seed}"));
        }
    }
}

/// NaN and infinities cannot enter through the ABI: JSON has no literal for them and
/// serde_json refuses numbers beyond f64's range.
#[test]
fn non_finite_numbers_are_refused_at_the_abi() {
    let mut engines = Engines::new();
    let good = String::from_utf8(encode_request(&SimulateRequest {
        params: Params::default(),
        market: MarketConfig::synthetic(Regime::Calm),
        seed: 1,
        iteration: 1,
    }))
    .unwrap();
    assert!(good.contains("\"base_spread_bps\":8.0"), "{good}");
    for bad in ["NaN", "-NaN", "nan", "Infinity", "-Infinity", "inf", "1e999", "-1e999"] {
        let req = good.replace("\"base_spread_bps\":8.0", &format!("\"base_spread_bps\":{bad}"));
        let out = engines.call("simulate", req.as_bytes(), bad);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("{\"error\"") && text.contains("bad_request"), "{bad}: {text}");
    }
}

/// Each stream's text, and its paired file's (LOBSTER's orderbook file), if any.
type Texts = Vec<(String, Option<String>)>;

/// Hands the core a stream's text in pieces of whole-or-partial lines, as the CLI does.
struct Streams {
    data: Texts,
    pos: Vec<(usize, usize)>,
    chunks: Vec<Chunk>,
}

const CHUNK: usize = 256 * 1024;

fn cut(s: &str, from: usize) -> (String, usize) {
    let mut end = (from + CHUNK).min(s.len());
    while !s.is_char_boundary(end) {
        end += 1;
    }
    (s[from..end].to_string(), end)
}

impl Streams {
    fn new(data: &[(String, Option<String>)]) -> Self {
        let mut s = Streams {
            chunks: data
                .iter()
                .map(|d| Chunk { text: String::new(), paired: d.1.as_ref().map(|_| String::new()), eof: false })
                .collect(),
            data: data.to_vec(),
            pos: vec![(0, 0); data.len()],
        };
        for k in 0..data.len() {
            s.more(k);
        }
        s
    }

    fn more(&mut self, k: usize) {
        let (t, e) = cut(&self.data[k].0, self.pos[k].0);
        self.chunks[k].text.push_str(&t);
        self.pos[k].0 = e;
        if let Some(p) = &self.data[k].1 {
            let (t, e) = cut(p, self.pos[k].1);
            self.chunks[k].paired.as_mut().expect("paired").push_str(&t);
            self.pos[k].1 = e;
        }
        let d = &self.data[k];
        self.chunks[k].eof = self.pos[k].0 >= d.0.len() && d.1.as_ref().is_none_or(|p| self.pos[k].1 >= p.len());
    }

    fn consume(&mut self, c: &[Consumed]) {
        for (ch, n) in self.chunks.iter_mut().zip(c) {
            ch.text.drain(..n.text);
            if let Some(p) = ch.paired.as_mut() {
                p.drain(..n.paired);
            }
        }
    }
}

/// Groups the files into streams and scans them (natively, as the CLI plans).
fn load(files: &[&str]) -> (Vec<Format>, Texts, Scanner) {
    let texts: Vec<String> = files.iter().map(|f| data(f)).collect();
    let heads: Vec<FileHead> = files
        .iter()
        .zip(&texts)
        .map(|(f, t)| FileHead { name: f.to_string(), lines: t.lines().take(4).map(String::from).collect() })
        .collect();
    let groups = group(&heads, None).expect("grouping");
    let data: Texts = groups
        .iter()
        .map(|g| {
            (
                g.files.iter().map(|&i| texts[i].as_str()).collect::<String>(),
                g.paired.as_ref().map(|p| p.iter().map(|&i| texts[i].as_str()).collect::<String>()),
            )
        })
        .collect();
    let formats: Vec<Format> = groups.iter().map(|g| g.format).collect();
    let mut s = Streams::new(&data);
    let mut scanner = Scanner::new(&formats, 1_000_000_000);
    loop {
        let mut c = vec![Consumed::default(); data.len()];
        let r = scanner.advance(&s.chunks, &mut c).expect("scan");
        s.consume(&c);
        match r {
            Some(k) => s.more(k),
            None => break,
        }
    }
    (formats, data, scanner)
}

/// Replays `n` iterations through every engine, the parameters changing between them.
fn replay(engines: &mut Engines, what: &str, config: &TickConfig, data: &[(String, Option<String>)], n: u32) {
    let mut s = Streams::new(data);
    let mut state = None;
    // Default quotes; quotes at the touch; big clips against a small inventory limit (hedges).
    let params = [
        Params::default(),
        Params { base_spread_bps: 2.0, min_interval_ms: 60, ..aggressive() },
        Params { base_spread_bps: 2.0, impact_cap_ratio: 0.5, max_delta_ratio: 0.05, ..Params::default() },
    ];
    for i in 1..=n {
        loop {
            let req = TickReplayRequest {
                config: config.clone(),
                state: state.take(),
                params: params[i as usize % params.len()].clone(),
                iteration: i,
                chunks: s.chunks.clone(),
            };
            let resp: TickReplayResponse =
                engines.typed("tick_replay", &encode_request(&req), &format!("{what}, iteration {i}"));
            s.consume(&resp.consumed);
            state = Some(resp.state);
            match resp.advance.expect("no data errors") {
                Advance::Need(k) => s.more(k),
                Advance::Done(_) => break,
            }
        }
    }
}

#[test]
fn tick_replays_are_the_same_bytes_with_and_without_nan_canonicalization() {
    let mut engines = Engines::new();
    let samples: [(&str, &[&str], u32); 2] = [
        (
            "Tardis trades + quotes",
            &[
                "tardis/binance-futures_trades_2020-02-22_BTCUSDT_first9999.csv",
                "tardis/binance-futures_quotes_2020-02-22_BTCUSDT_first9999.csv",
            ],
            30,
        ),
        ("Binance USD-M capture", &["binance_usdm_raw/btcusdt_20240718.gz"], 60),
    ];
    let models =
        [("risk-averse", "constant:25:25", None), ("prob", "data", Some(0.5)), ("prob:0.5", "constant:5", None)];
    for (name, files, secs) in samples {
        let (formats, data, scanner) = load(files);
        let (first, last) = scanner.facts.common_span().expect("data has a common span");
        let n = (((last - first) / 1_000_000_000) as u32 / secs).clamp(1, 8);
        for (queue, latency, maker_fee_bps) in models {
            let latency = if latency == "data" && !scanner.facts.has_two_stamps { "constant:50" } else { latency };
            let choices = TickChoices {
                queue_model: Some(queue.to_string()),
                latency: Some(latency.into()),
                maker_fee_bps,
                ..TickChoices::default()
            };
            let config = plan_config(&formats, &scanner.facts, &choices, n, secs, 1_000_000_000).expect("plan");
            replay(&mut engines, &format!("{name}, {queue}, {latency}"), &config, &data, n);
        }
    }
}
