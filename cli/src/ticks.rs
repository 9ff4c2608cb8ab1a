//! `--source ticks`: plan a tick replay (group the files, scan every line in the
//! core's own parsers, measure tick, lot and time span, pick the exchange
//! models) and drive it, one iteration at a time, through the engine: decoded
//! here, replayed there.

use std::path::PathBuf;

use anyhow::{bail, Result};
use mmsoak_core::edge::EdgeReport;
use mmsoak_core::exchange::plan::{data_checks, plan_config, setting, DataChoice, TickChoices};
use mmsoak_core::exchange::scan::{ScanFacts, Scanner};
use mmsoak_core::exchange::source::{Filled, MergeAhead, Merged};
use mmsoak_core::exchange::{Advance, TickConfig};
use mmsoak_core::feed::stream::{Chunk, Consumed, Merger};
use mmsoak_core::feed::Format;
use mmsoak_core::params::Params;
use mmsoak_core::report::TickSettings;
use mmsoak_host::Engine;

use crate::args::TickFlags;
use crate::data::hashes::{FileDigest, Hashes};
use crate::data::reader::{describe, StreamReader};
use crate::data::stamps::Stamps;
use crate::data::streams::{group, StreamSpec};
use crate::data::BadData;
use crate::interrupt::BeforeStart;
use crate::tick_settings::{self, Key, Value};

/// Default tolerance for timestamps stepping back within one stream.
pub const DEFAULT_BACKSTEP_MS: f64 = 1000.0;

/// A planned tick replay.
pub struct TickPlan {
    pub specs: Vec<StreamSpec>,
    pub config: TickConfig,
    pub facts: ScanFacts,
    /// Every file of `specs` (paired ones too), stamped before the scan read it.
    pub stamps: Stamps,
    /// Size and sha256 of each file the scan read whole, by its path as given:
    /// RUN.json's record of the inputs without reading them again.
    pub digests: Vec<(PathBuf, FileDigest)>,
}

impl TickPlan {
    /// One line for the terminal: what the data holds (the browser prints the same).
    pub fn summary(&self) -> String {
        mmsoak_core::session_ticks::describe(&self.facts, &self.config)
    }
}

impl TickPlan {
    pub fn settings(&self) -> TickSettings {
        TickSettings { streams: self.specs.iter().map(|s| s.names()).collect(), config: self.config.clone() }
    }
}

/// Reads every line once through the core's parsers: bad data stops here, before
/// anything is written, and so does a stop signal (checked at every chunk read,
/// [`BeforeStart`]). Returns the measured facts.
fn scan(specs: &[StreamSpec], tolerance_ns: i64, hashes: &Hashes) -> Result<ScanFacts> {
    const DURING: &str = "while reading the tick data";
    let formats: Vec<Format> = specs.iter().map(|s| s.format).collect();
    let mut readers: Vec<StreamReader> = specs.iter().cloned().map(|s| StreamReader::hashing(s, hashes)).collect();
    for r in readers.iter_mut() {
        BeforeStart::check(DURING)?;
        r.refill()?;
    }
    let mut scanner = Scanner::new(&formats, tolerance_ns);
    loop {
        let chunks: Vec<_> = readers.iter().map(|r| r.chunk.clone()).collect();
        let mut consumed = vec![Consumed::default(); readers.len()];
        let res = scanner.advance(&chunks, &mut consumed);
        for (r, c) in readers.iter_mut().zip(&consumed) {
            r.consume(*c);
        }
        BeforeStart::check(DURING)?;
        match res.map_err(|e| describe(&readers, &e))? {
            Some(k) => readers[k].refill()?,
            None => return Ok(scanner.facts),
        }
    }
}

/// A fresh run's tick replay of `files`: the flags in `flags` over mmsoak.toml's
/// `[ticks]` in `eff` (checked where the file was read), for `eff`'s iterations.
/// The flags are checked on their own before any data is read; what needs the
/// data is checked after the scan, every setting that does not fit it listed,
/// each named as the user gave it (`--latency`, `mmsoak.toml [ticks] latency`).
pub fn plan_run(files: &[PathBuf], flags: &TickFlags, eff: &crate::config::Effective) -> Result<TickPlan> {
    let label =
        eff.config_file.as_ref().map_or_else(|| crate::config::DEFAULT_CONFIG.into(), |p| p.display().to_string());
    let in_file = |k: Key| format!("{label} [ticks] {}", k.toml());
    let from_flags = tick_settings::parse_alone(flags, |k| k.flag().to_string())?;
    let from_file = tick_settings::parse_alone(&eff.ticks.as_flags(), in_file)?;
    let chosen = |key: Key| {
        let flag = from_flags.iter().find(|p| p.key == key);
        flag.or_else(|| from_file.iter().find(|p| p.key == key))
    };
    let text = |key| chosen(key).map(|p| p.text.clone());
    let fee = |key| match chosen(key).map(|p| &p.value) {
        Some(Value::Fee(bps)) => Some(*bps),
        _ => None,
    };
    let format = match chosen(Key::DataFormat).map(|p| &p.value) {
        Some(Value::Format(f)) => Some(*f),
        _ => None,
    };
    let tolerance_ns = match chosen(Key::BackstepToleranceMs).map(|p| &p.value) {
        Some(Value::BackstepNs(ns)) => Some(*ns),
        _ => None,
    };
    let choices = TickChoices {
        queue_model: text(Key::QueueModel),
        latency: text(Key::Latency),
        maker_fee_bps: fee(Key::MakerFeeBps),
        taker_fee_bps: fee(Key::TakerFeeBps),
        tick_size: text(Key::TickSize),
    };
    let name = |k: Key| if from_flags.iter().any(|p| p.key == k) { k.flag().to_string() } else { in_file(k) };
    plan(files, format, tolerance_ns, &choices, eff.iterations.value, eff.iteration_seconds.value, &name)
}

/// Plans a tick replay of `files` for `iterations` windows of `iteration_seconds`,
/// `format` forced or detected, with `tolerance_ns` or the default tolerance.
/// A choice that does not fit the data is named by `name` (its flag or key).
pub fn plan(
    files: &[PathBuf],
    format: Option<Format>,
    tolerance_ns: Option<i64>,
    choices: &TickChoices,
    iterations: u32,
    iteration_seconds: u32,
    name: &dyn Fn(Key) -> String,
) -> Result<TickPlan> {
    let specs = group(files, format)?;
    let tolerance_ns = match tolerance_ns {
        Some(ns) => ns,
        None => setting::backstep_tolerance_ns(DEFAULT_BACKSTEP_MS).map_err(anyhow::Error::msg)?,
    };
    let all: Vec<PathBuf> =
        specs.iter().flat_map(|s| s.files.iter().chain(s.paired.iter().flatten())).cloned().collect();
    let stamps = Stamps::take(&all);
    let hashes = Hashes::default();
    let facts = scan(&specs, tolerance_ns, &hashes)?;
    if facts.events > 0 {
        // Each named as given, as the checks before the data name them; all at once.
        let unfit = data_checks(&facts, choices).into_iter().map(|(c, reason)| {
            let key = match c {
                DataChoice::QueueModel => Key::QueueModel,
                DataChoice::Latency => Key::Latency,
                DataChoice::TickSize => Key::TickSize,
            };
            format!("{}: {reason}", name(key))
        });
        tick_settings::listed(unfit.collect())?;
    }
    let names = files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
    let formats: Vec<Format> = specs.iter().map(|s| s.format).collect();
    let config = plan_config(&formats, &facts, choices, iterations, iteration_seconds, tolerance_ns)
        .map_err(|e| anyhow::anyhow!("--source ticks --data {names}: {e}"))?;
    Ok(TickPlan { specs, config, facts, stamps, digests: hashes.finished() })
}

/// [`plan`]'s `name` where every choice is a flag's.
pub fn flag_name(key: Key) -> String {
    key.flag().to_string()
}

/// Events decoded ahead of the engine per call: 16,384 records of 64 bytes.
/// Large enough that a call's fixed cost (the replay state in and out) is
/// spread thin, small enough that memory stays flat.
const BATCH_EVENTS: usize = 16 * 1024;

/// The fewest events sent per call: short windows (a second of a quiet
/// market) need few, and a call sends only about twice what the last window used.
const MIN_SEND_EVENTS: usize = 1024;

/// A tick replay in progress. The data is decoded and merged here, natively,
/// by the core's own decoders ([`MergeAhead`]); the engine only replays the
/// events (`abi::tick_events`): the same bytes as handing it the text, without
/// parsing the text under wasm.
pub struct TickRun {
    pub config: TickConfig,
    specs: Vec<StreamSpec>,
    readers: Vec<StreamReader>,
    ahead: MergeAhead,
    /// Decoded events the engine has not replayed yet.
    events: Vec<Merged>,
    /// The data has ended after `events`: the merger's final count of stepped-back timestamps.
    end: Option<u64>,
    /// Bad data (or a file that cannot be read) after `events`: reported once the
    /// engine has replayed the events before it, as a replay of the text would.
    failed: Option<anyhow::Error>,
    /// The replay's state as the core returned it (opaque; see `abi::tick_events`).
    state: Option<Vec<u8>>,
    /// Events to send per call (the decoded ones beyond wait).
    send: usize,
    /// A soak's replay ([`TickRun::watched`]): the stamps of the files it reads,
    /// checked after every iteration.
    stamps: Option<Stamps>,
}

impl TickRun {
    pub fn new(config: TickConfig, specs: Vec<StreamSpec>) -> Self {
        let ahead = MergeAhead::new(Merger::default());
        TickRun {
            config,
            readers: Vec::new(),
            specs,
            ahead,
            events: Vec::new(),
            end: None,
            failed: None,
            state: None,
            send: BATCH_EVENTS,
            stamps: None,
        }
    }

    /// Stamps every file the replay reads (paired ones too), now: each
    /// [`TickRun::iteration`] then checks them after its replay, and a change is
    /// its error ([`crate::data::stamps::Changed`]) whatever the replay gave, so
    /// the iteration, which may have read changed bytes, is not kept. Taken after
    /// the start-of-run checks' reads and before their stamps are checked, so the
    /// stamps are of the files as the checks read them.
    ///
    /// TEST-ONLY: `MMSOAK_TEST_UNWATCHED=1` leaves the files unwatched, for the
    /// end-to-end test of bad data met mid-run: on Unix the stamps see every
    /// write first, but where they can miss one (Windows has no inode change
    /// time: a write with its modification time put back) that path is what
    /// stops the run. Not for users.
    pub fn watched(mut self) -> Self {
        if std::env::var_os("MMSOAK_TEST_UNWATCHED").is_some_and(|v| v == "1") {
            return self;
        }
        let all: Vec<PathBuf> =
            self.specs.iter().flat_map(|s| s.files.iter().chain(s.paired.iter().flatten())).cloned().collect();
        self.stamps = Some(Stamps::take(&all));
        self
    }

    /// Back to the data's beginning (a baseline run replays the same market).
    pub fn rewind(&mut self) {
        self.readers.clear();
        self.events.clear();
        self.end = None;
        self.failed = None;
        self.state = None;
        self.send = BATCH_EVENTS;
    }

    /// Decodes until [`BATCH_EVENTS`] events wait, the data ends or a failure.
    /// Bad data and a file that cannot be read are [`BadData`].
    fn decode_ahead(&mut self) -> Result<()> {
        if self.readers.is_empty() {
            self.readers = self.specs.iter().cloned().map(StreamReader::new).collect();
            for r in self.readers.iter_mut() {
                r.refill().map_err(BadData::from_error)?;
            }
            let c = &self.config;
            self.ahead = MergeAhead::new(Merger::new(&c.formats, c.tick, c.backstep_tolerance_ns));
        }
        while self.events.len() < BATCH_EVENTS && self.end.is_none() && self.failed.is_none() {
            // The chunks are lent to the merger and given back.
            let chunks: Vec<Chunk> = self.readers.iter_mut().map(|r| std::mem::take(&mut r.chunk)).collect();
            let mut consumed = vec![Consumed::default(); chunks.len()];
            let res = self.ahead.fill(&chunks, &mut consumed, &mut self.events, BATCH_EVENTS);
            for ((r, chunk), c) in self.readers.iter_mut().zip(chunks).zip(&consumed) {
                r.chunk = chunk;
                r.consume(*c);
            }
            match res {
                Ok(Filled::Full) => {}
                Ok(Filled::End(n)) => self.end = Some(n),
                Ok(Filled::Need(k)) => match self.readers.get_mut(k) {
                    Some(r) if !r.chunk.eof => {
                        if let Err(e) = r.refill() {
                            self.failed = Some(BadData::from_error(e));
                        }
                    }
                    _ => bail!("internal: the merger asked for more of stream {k}, which has ended"),
                },
                Err(e) => self.failed = Some(BadData::from_error(describe(&self.readers, &e))),
            }
        }
        Ok(())
    }

    /// Replays iteration `i` with `params` through the engine. A watched replay
    /// ([`TickRun::watched`]) whose files changed errs with
    /// [`crate::data::stamps::Changed`] instead.
    pub fn iteration(&mut self, engine: &mut Engine, params: &Params, i: u32) -> Result<EdgeReport> {
        let replayed = self.replay(engine, params, i);
        if let Some(stamps) = &self.stamps {
            stamps.check_replayed()?;
        }
        replayed
    }

    fn replay(&mut self, engine: &mut Engine, params: &Params, i: u32) -> Result<EdgeReport> {
        let mut used_here = 0;
        loop {
            self.decode_ahead()?;
            let k = self.send.min(self.events.len());
            let end = if k == self.events.len() { self.end } else { None };
            let (state, resp) =
                engine.tick_replay_events(&self.config, params, i, self.state.as_deref(), &self.events[..k], end)?;
            let used = (resp.used as usize).min(k);
            self.events.drain(..used);
            used_here += used;
            self.state = Some(state);
            if let Some(e) = resp.error {
                return Err(describe(&self.readers, &e));
            }
            match resp.advance {
                Some(Advance::Need(_)) => {
                    if used < k || end.is_some() {
                        bail!("internal: the replay asked for more events with {} of {k} unused", k - used);
                    }
                    if !self.events.is_empty() {
                        // More are decoded already: send more of them at once.
                        self.send = (self.send * 2).min(BATCH_EVENTS);
                    } else if let Some(e) = self.failed.take() {
                        return Err(e);
                    }
                }
                Some(Advance::Done(report)) => {
                    // The next window likely needs about as many: every call
                    // copies and checks what it is sent, used or not.
                    self.send = (used_here * 2).clamp(MIN_SEND_EVENTS, BATCH_EVENTS);
                    return Ok(*report);
                }
                None => bail!("internal: the tick replay returned neither a result nor an error"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmsoak_core::exchange::TickReplay;
    use mmsoak_core::feed::stream::Chunk;
    use mmsoak_host::{open_engine, EngineKind, ModuleCache};

    /// The CLI's batching (events decoded ahead, a share sent per call that
    /// follows what the last window used) gives the reports of a replay of the
    /// text in one piece: windows of a second and of a minute, a quiet stretch
    /// and a busy one, so calls run out mid-window and send more.
    #[test]
    fn batched_events_replay_as_the_text_does() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/tardis");
        let tmp = tempfile::tempdir().unwrap();
        // The quotes of two seconds two and a half minutes in, where the data has been decoded to its end, each sixty times: a
        // burst far busier than the windows before it.
        let quotes =
            std::fs::read_to_string(dir.join("binance-futures_quotes_2020-02-22_BTCUSDT_first9999.csv")).unwrap();
        let t0: i64 = quotes.lines().nth(1).unwrap().split(',').nth(3).unwrap().parse().unwrap();
        let mut burst = String::new();
        for (i, l) in quotes.lines().enumerate() {
            let t = if i == 0 { 0 } else { l.split(',').nth(3).unwrap().parse::<i64>().unwrap() - t0 };
            let copies = if (150_000_000..152_000_000).contains(&t) { 60 } else { 1 };
            for _ in 0..copies {
                burst.push_str(l);
                burst.push('\n');
            }
        }
        let burst_file = tmp.path().join("binance-futures_quotes_2020-02-22_BTCUSDT_burst.csv");
        std::fs::write(&burst_file, burst).unwrap();
        // The trades run on for two hours after the quotes end: cut them there, so
        // that the data ends (and is decoded to its end) before the burst.
        let trades =
            std::fs::read_to_string(dir.join("binance-futures_trades_2020-02-22_BTCUSDT_first9999.csv")).unwrap();
        let cut: String = trades
            .lines()
            .enumerate()
            .filter(|(i, l)| *i == 0 || l.split(',').nth(3).unwrap().parse::<i64>().unwrap() - t0 < 200_000_000)
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        let trades_file = tmp.path().join("binance-futures_trades_2020-02-22_BTCUSDT_cut.csv");
        std::fs::write(&trades_file, cut).unwrap();
        let files = [trades_file, burst_file];
        let cache = ModuleCache::at(tmp.path());
        for (n, secs) in [(170, 1), (3, 60)] {
            let plan = plan(&files, None, None, &TickChoices::default(), n, secs, &flag_name).expect("plan");
            let params = Params::default();
            let mut chunks: Vec<Chunk> = plan
                .specs
                .iter()
                .map(|s| Chunk {
                    text: s.files.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect(),
                    paired: None,
                    eof: true,
                })
                .collect();
            let mut text = TickReplay::new(&plan.config);
            let mut engine = open_engine(EngineKind::Native, &cache).unwrap();
            let mut run = TickRun::new(plan.config.clone(), plan.specs.clone());
            for i in 1..=n {
                let mut at = vec![Consumed::default(); chunks.len()];
                let Advance::Done(want) = text.advance(&plan.config, &params, i, &chunks, &mut at).unwrap() else {
                    panic!("whole chunks ran dry")
                };
                for (c, k) in chunks.iter_mut().zip(&at) {
                    c.text.drain(..k.text);
                }
                let got = run.iteration(&mut engine, &params, i).unwrap();
                assert_eq!(
                    serde_json::to_string(&got).unwrap(),
                    serde_json::to_string(&want).unwrap(),
                    "{n} x {secs} s, iteration {i}"
                );
            }
            assert!(run.send < BATCH_EVENTS, "a window of {secs} s should shrink the calls (sent {})", run.send);
        }
    }
}
