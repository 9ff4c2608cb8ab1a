//! Measures (prints, never asserts) tick-replay throughput on the real samples in
//! ../shared/data: replayed market events per second through the JSON ABI, with
//! the core linked natively and under wasmtime, chunked as the CLI chunks.
//! `TICK_REPLAY_ONLY=Binance` (a sample's name prefix) and
//! `TICK_REPLAY_ENGINE=native|wasm` narrow the run, e.g. for a profiler.
//! The CLI's way is the default: the text decoded and merged natively, the
//! events replayed through `tick_replay_events` (the engine's time is "in
//! calls", the decoding's is printed beside it). `TICK_REPLAY_CALL=frame`
//! measures `tick_replay_frame` instead (the text handed to the engine, which
//! decodes it: the browser's way), `TICK_REPLAY_CALL=json` the all-JSON call.

use std::io::Read;
use std::path::Path;
use std::time::Instant;

use mmsoak_core::abi::TickReplayRequest;
use mmsoak_core::exchange::plan::{plan_config, TickChoices};
use mmsoak_core::exchange::scan::Scanner;
use mmsoak_core::exchange::source::{Filled, MergeAhead, Merged};
use mmsoak_core::exchange::{Advance, TickConfig};
use mmsoak_core::feed::group::{group, FileHead};
use mmsoak_core::feed::stream::{Chunk, Consumed, Merger};
use mmsoak_core::params::Params;
mod common;

use common::bench_wasm;
use mmsoak_host::{open_engine, Engine, EngineKind, ModuleCache};

/// Bytes of text per refill, as the CLI reads (`cli/src/data/reader.rs`: whole
/// lines, and a paired file's rows line for line with the main file's);
/// `TICK_REPLAY_CHUNK_KIB` overrides it to measure the per-call cost.
fn chunk_bytes() -> usize {
    std::env::var("TICK_REPLAY_CHUNK_KIB").ok().and_then(|v| v.parse::<usize>().ok()).map_or(256 * 1024, |k| k * 1024)
}

fn text(rel: &str) -> String {
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

struct Streams<'a> {
    data: &'a [(String, Option<String>)],
    pos: Vec<(usize, usize)>,
    chunks: Vec<Chunk>,
}

/// The whole lines of `s` from byte `from` on that make up at least `chunk_bytes()`
/// (or the rest): the text and the end offset, as the CLI's reader refills.
fn cut(s: &str, from: usize) -> (&str, usize) {
    let want = (from + chunk_bytes()).min(s.len());
    let end = line_end(s, want);
    (&s[from..end], end)
}

/// The next `lines` lines of `s` from byte `from` on (a paired file's rows for
/// the main file's lines, one for one, as the CLI reads them).
fn cut_lines(s: &str, from: usize, lines: usize) -> (&str, usize) {
    let end = (0..lines).fold(from, |end, _| line_end(s, end));
    (&s[from..end], end)
}

/// Where the line that holds byte `at` ends (after its `\n`), or the text's end.
fn line_end(s: &str, at: usize) -> usize {
    s.as_bytes()[at..].iter().position(|&b| b == b'\n').map_or(s.len(), |i| at + i + 1)
}

impl<'a> Streams<'a> {
    fn new(data: &'a [(String, Option<String>)]) -> Self {
        let n = data.len();
        let mut s = Streams {
            chunks: data
                .iter()
                .map(|d| Chunk { text: String::new(), paired: d.1.as_ref().map(|_| String::new()), eof: false })
                .collect(),
            data,
            pos: vec![(0, 0); n],
        };
        for k in 0..n {
            s.more(k);
        }
        s
    }
    fn more(&mut self, k: usize) {
        let (t, e) = cut(&self.data[k].0, self.pos[k].0);
        self.chunks[k].text.push_str(t);
        self.pos[k].0 = e;
        if let Some(p) = &self.data[k].1 {
            let (t, e) = cut_lines(p, self.pos[k].1, t.bytes().filter(|&b| b == b'\n').count());
            self.chunks[k].paired.as_mut().expect("paired").push_str(t);
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

fn load(files: &[&str]) -> (Vec<mmsoak_core::feed::Format>, Vec<(String, Option<String>)>) {
    let texts: Vec<String> = files.iter().map(|f| text(f)).collect();
    let heads: Vec<FileHead> = files
        .iter()
        .zip(&texts)
        .map(|(f, t)| FileHead { name: f.to_string(), lines: t.lines().take(4).map(String::from).collect() })
        .collect();
    let groups = group(&heads, None).expect("grouping");
    let data = groups
        .iter()
        .map(|g| {
            (
                g.files.iter().map(|&i| texts[i].as_str()).collect::<String>(),
                g.paired.as_ref().map(|p| p.iter().map(|&i| texts[i].as_str()).collect::<String>()),
            )
        })
        .collect();
    (groups.iter().map(|g| g.format).collect(), data)
}

fn plan(formats: &[mmsoak_core::feed::Format], data: &[(String, Option<String>)], n: u32, secs: u32) -> TickConfig {
    let mut s = Streams::new(data);
    let mut scanner = Scanner::new(formats, 1_000_000_000);
    loop {
        let mut c = vec![Consumed::default(); data.len()];
        let r = scanner.advance(&s.chunks, &mut c).expect("scan");
        s.consume(&c);
        match r {
            Some(k) => s.more(k),
            None => break,
        }
    }
    plan_config(formats, &scanner.facts, &TickChoices::default(), n, secs, 1_000_000_000).expect("plan")
}

thread_local! {
    /// Seconds spent inside engine calls and how many calls, for the last run.
    static IN_CALLS: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) };
    static CALLS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// Seconds decoding outside the engine (the events call only).
    static DECODING: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) };
}

/// What one engine call hands back: the state for the next call, the bytes it
/// consumed of each stream, and where the iteration stands.
type CallResult<S> = (S, Vec<Consumed>, Option<Advance>);

/// Replays iterations 1..=n over `data`, refilling chunks as the CLI does, with
/// `call(iteration, state, chunks)` as the engine call; returns (events, seconds).
fn replay<S>(
    data: &[(String, Option<String>)],
    n: u32,
    mut call: impl FnMut(u32, Option<S>, &[Chunk]) -> CallResult<S>,
) -> (u64, f64) {
    let start = Instant::now();
    let mut s = Streams::new(data);
    let mut state = None;
    let mut events = 0;
    for i in 1..=n {
        loop {
            let t = Instant::now();
            let (next, consumed, advance) = call(i, state.take(), &s.chunks);
            IN_CALLS.with(|c| c.set(c.get() + t.elapsed().as_secs_f64()));
            CALLS.with(|c| c.set(c.get() + 1));
            s.consume(&consumed);
            state = Some(next);
            match advance.expect("no data errors") {
                Advance::Need(k) => s.more(k),
                Advance::Done(r) => {
                    events += r.data_quality.map_or(0, |q| q.events);
                    break;
                }
            }
        }
    }
    (events, start.elapsed().as_secs_f64())
}

/// Replays every iteration through the all-JSON call `tick_replay`.
fn run_json(engine: &mut Engine, config: &TickConfig, data: &[(String, Option<String>)], n: u32) -> (u64, f64) {
    replay(data, n, |i, state, chunks| {
        let resp = engine
            .tick_replay(&TickReplayRequest {
                config: config.clone(),
                state,
                params: Params::default(),
                iteration: i,
                chunks: chunks.to_vec(),
            })
            .expect("tick_replay");
        (resp.state, resp.consumed, resp.advance)
    })
}

/// Replays every iteration through `tick_replay_frame`, as the CLI does.
fn run_frame(engine: &mut Engine, config: &TickConfig, data: &[(String, Option<String>)], n: u32) -> (u64, f64) {
    let params = Params::default();
    replay(data, n, |i, state: Option<Vec<u8>>, chunks| {
        let chunks: Vec<&Chunk> = chunks.iter().collect();
        let (blob, resp) =
            engine.tick_replay_frame(config, &params, i, state.as_deref(), &chunks).expect("tick_replay_frame");
        (blob, resp.consumed, resp.advance)
    })
}

/// Events decoded ahead per call: the CLI's `ticks::BATCH_EVENTS`, or
/// `TICK_REPLAY_BATCH` to measure the per-call cost.
fn batch_events() -> usize {
    std::env::var("TICK_REPLAY_BATCH").ok().and_then(|v| v.parse().ok()).unwrap_or(16 * 1024)
}

/// Replays every iteration as the CLI does: the text decoded and merged here,
/// natively (`MergeAhead`), in batches of events, each replayed through
/// `tick_replay_events`. Seconds decoding go to `DECODING`.
fn run_events(engine: &mut Engine, config: &TickConfig, data: &[(String, Option<String>)], n: u32) -> (u64, f64) {
    let params = Params::default();
    let start = Instant::now();
    let mut s = Streams::new(data);
    let mut ahead = MergeAhead::new(Merger::new(&config.formats, config.tick, config.backstep_tolerance_ns));
    let (mut batch, mut end, mut state): (Vec<Merged>, Option<u64>, Option<Vec<u8>>) = (Vec::new(), None, None);
    let mut events = 0;
    let max = batch_events();
    for i in 1..=n {
        loop {
            let t = Instant::now();
            while batch.len() < max && end.is_none() {
                let mut consumed = vec![Consumed::default(); data.len()];
                let filled = ahead.fill(&s.chunks, &mut consumed, &mut batch, max).expect("no data errors");
                s.consume(&consumed);
                match filled {
                    Filled::Full => {}
                    Filled::Need(k) => s.more(k),
                    Filled::End(oo) => end = Some(oo),
                }
            }
            DECODING.with(|c| c.set(c.get() + t.elapsed().as_secs_f64()));
            let t = Instant::now();
            let (blob, resp) = engine
                .tick_replay_events(config, &params, i, state.as_deref(), &batch, end)
                .expect("tick_replay_events");
            IN_CALLS.with(|c| c.set(c.get() + t.elapsed().as_secs_f64()));
            CALLS.with(|c| c.set(c.get() + 1));
            batch.drain(..resp.used as usize);
            state = Some(blob);
            match resp.advance.expect("no data errors") {
                Advance::Need(_) => assert!(batch.is_empty() && end.is_none(), "need with events left"),
                Advance::Done(r) => {
                    events += r.data_quality.map_or(0, |q| q.events);
                    break;
                }
            }
        }
    }
    (events, start.elapsed().as_secs_f64())
}

/// Best of how many runs: 3, or `BENCH_RUNS` (more on a loaded machine).
fn runs() -> usize {
    std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(3)
}

fn main() {
    let samples: [(&str, &[&str], u32, u32); 3] = [
        (
            "LOBSTER AMZN day (26 x 900 s)",
            &[
                "lobster/AMZN_2012-06-21_34200000_57600000_message_5.csv.gz",
                "lobster/AMZN_2012-06-21_34200000_57600000_orderbook_5.csv.gz",
            ],
            26,
            900,
        ),
        (
            "Binance USD-M capture (8 x 60 s)",
            &["binance_usdm_raw/btcusdt_20240718.gz", "binance_usdm_raw/btcusdt_20240719.gz"],
            8,
            60,
        ),
        (
            "Tardis trades + quotes (3 x 60 s)",
            &[
                "tardis/binance-futures_trades_2020-02-22_BTCUSDT_first9999.csv",
                "tardis/binance-futures_quotes_2020-02-22_BTCUSDT_first9999.csv",
            ],
            3,
            60,
        ),
    ];
    // MMSOAK_BENCH_CACHE=dir keeps the compiled module (an ELF file) for `objdump`
    // beside a `perf record` with MMSOAK_BENCH_PERFMAP=1.
    let cache_dir = tempfile::tempdir().expect("temp dir");
    let kept = std::env::var_os("MMSOAK_BENCH_CACHE").map(std::path::PathBuf::from);
    let cache = ModuleCache::at(kept.as_deref().unwrap_or(cache_dir.path()));
    // For profiling one sample or one engine: TICK_REPLAY_ONLY=Binance, TICK_REPLAY_ENGINE=native.
    let only = std::env::var("TICK_REPLAY_ONLY").unwrap_or_default();
    let engine = std::env::var("TICK_REPLAY_ENGINE").unwrap_or_default();
    let call = std::env::var("TICK_REPLAY_CALL").unwrap_or_else(|_| "events".into());
    let run = match call.as_str() {
        "json" => run_json,
        "frame" => run_frame,
        _ => run_events,
    };
    for (name, files, n, secs) in samples {
        if !name.starts_with(&only) {
            continue;
        }
        let (formats, data) = load(files);
        let config = plan(&formats, &data, n, secs);
        for kind in [EngineKind::Native, EngineKind::Wasm] {
            if !engine.is_empty() && !format!("{kind:?}").eq_ignore_ascii_case(&engine) {
                continue;
            }
            let mut engine = match kind {
                EngineKind::Wasm => Engine::new(bench_wasm(&cache)),
                EngineKind::Native => open_engine(kind, &cache).expect("engine"),
            };
            let (mut best, mut best_in, mut best_decoding) = (f64::MAX, 0.0, 0.0);
            let mut events = 0;
            for _ in 0..runs() {
                IN_CALLS.with(|c| c.set(0.0));
                CALLS.with(|c| c.set(0));
                DECODING.with(|c| c.set(0.0));
                let (e, t) = run(&mut engine, &config, &data, n);
                events = e;
                if t < best {
                    best = t;
                    best_in = IN_CALLS.with(|c| c.get());
                    best_decoding = DECODING.with(|c| c.get());
                }
            }
            println!(
                "{name:<36} {:<6} {:<6} {events:>8} events  {:>7.3} s  {:>6.2} M events/s  ({:.3} s in {} calls{})",
                format!("{kind:?}").to_lowercase(),
                call,
                best,
                events as f64 / best / 1e6,
                best_in,
                CALLS.with(|c| c.get()),
                if call == "events" { format!(", {best_decoding:.3} s decoding natively") } else { String::new() },
            );
        }
    }
}
