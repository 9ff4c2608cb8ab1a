//! Drives tick replays of the real samples in ../shared/data natively, the way the
//! CLI does (group, scan, plan, replay in chunks), for behaviour tests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use mmsoak_core::edge::EdgeReport;
use mmsoak_core::exchange::maker::Fill;
use mmsoak_core::exchange::plan::{plan_config, TickChoices};
use mmsoak_core::exchange::scan::{ScanFacts, Scanner};
use mmsoak_core::exchange::{Advance, TickConfig, TickReplay};
use mmsoak_core::feed::group::{group, FileHead};
use mmsoak_core::feed::stream::{Chunk, Consumed};
use mmsoak_core::params::Params;

pub fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data").join(rel)
}

pub const LOBSTER: &str = "lobster/AMZN_2012-06-21_34200000_57600000_message_5.csv.gz";
pub const LOBSTER_BOOK: &str = "lobster/AMZN_2012-06-21_34200000_57600000_orderbook_5.csv.gz";
pub const BINANCE: [&str; 2] = ["binance_usdm_raw/btcusdt_20240718.gz", "binance_usdm_raw/btcusdt_20240719.gz"];
pub const TARDIS: [&str; 2] = [
    "tardis/binance-futures_trades_2020-02-22_BTCUSDT_first9999.csv",
    "tardis/binance-futures_quotes_2020-02-22_BTCUSDT_first9999.csv",
];

fn read_text(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut s = String::new();
        flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_string(&mut s).unwrap();
        s
    } else {
        String::from_utf8(bytes).unwrap()
    }
}

/// A data set read into memory as the streams the core merges (tests only).
pub struct DataSet {
    pub streams: Vec<(String, Option<String>)>,
    pub formats: Vec<mmsoak_core::feed::Format>,
}

pub fn load(files: &[&str]) -> DataSet {
    let paths: Vec<PathBuf> = files.iter().map(|f| data(f)).collect();
    let heads: Vec<FileHead> = paths
        .iter()
        .map(|p| {
            let lines = BufReader::new(read_text(p).as_bytes()).lines().take(4).map(|l| l.unwrap()).collect();
            FileHead { name: p.display().to_string(), lines }
        })
        .collect();
    let groups = group(&heads, None).unwrap();
    let streams = groups
        .iter()
        .map(|g| {
            let text: String = g.files.iter().map(|&i| read_text(&paths[i])).collect();
            let paired = g.paired.as_ref().map(|p| p.iter().map(|&i| read_text(&paths[i])).collect());
            (text, paired)
        })
        .collect();
    DataSet { streams, formats: groups.iter().map(|g| g.format).collect() }
}

/// Hands out text in small pieces (whole lines or not) to exercise the chunking.
struct Feeder {
    pos: Vec<(usize, usize)>,
    chunks: Vec<Chunk>,
}

const PIECE: usize = 200_000;

impl Feeder {
    fn new(ds: &DataSet) -> Self {
        let mut f = Feeder {
            pos: vec![(0, 0); ds.streams.len()],
            chunks: ds
                .streams
                .iter()
                .map(|s| Chunk { text: String::new(), paired: s.1.as_ref().map(|_| String::new()), eof: false })
                .collect(),
        };
        for k in 0..ds.streams.len() {
            f.more(ds, k);
        }
        f
    }

    fn take(s: &str, from: usize, n: usize) -> (String, usize) {
        let mut end = (from + n).min(s.len());
        while !s.is_char_boundary(end) {
            end += 1;
        }
        (s[from..end].to_string(), end)
    }

    fn more(&mut self, ds: &DataSet, k: usize) {
        let (text, paired) = &ds.streams[k];
        let (t, e) = Self::take(text, self.pos[k].0, PIECE);
        self.chunks[k].text.push_str(&t);
        self.pos[k].0 = e;
        if let Some(p) = paired {
            let (t, e) = Self::take(p, self.pos[k].1, PIECE);
            if let Some(c) = self.chunks[k].paired.as_mut() {
                c.push_str(&t);
            }
            self.pos[k].1 = e;
        }
        self.chunks[k].eof = self.pos[k].0 >= text.len() && paired.as_ref().is_none_or(|p| self.pos[k].1 >= p.len());
    }

    fn consume(&mut self, consumed: &[Consumed]) {
        for (c, n) in self.chunks.iter_mut().zip(consumed) {
            c.text.drain(..n.text);
            if let Some(p) = c.paired.as_mut() {
                p.drain(..n.paired);
            }
        }
    }
}

pub fn scan(ds: &DataSet) -> ScanFacts {
    let mut f = Feeder::new(ds);
    let mut s = Scanner::new(&ds.formats, 1_000_000_000);
    loop {
        let mut consumed = vec![Consumed::default(); ds.streams.len()];
        let r = s.advance(&f.chunks, &mut consumed).unwrap();
        f.consume(&consumed);
        match r {
            Some(k) => f.more(ds, k),
            None => return s.facts,
        }
    }
}

pub fn config(ds: &DataSet, choices: &TickChoices, iterations: u32, seconds: u32) -> TickConfig {
    let facts = scan(ds);
    plan_config(&ds.formats, &facts, choices, iterations, seconds, 1_000_000_000).unwrap()
}

/// Replays `iterations` windows with fixed parameters: each iteration's report and fills.
pub fn replay(ds: &DataSet, config: &TickConfig, params: &Params, iterations: u32) -> Vec<(EdgeReport, Vec<Fill>)> {
    let mut f = Feeder::new(ds);
    let mut r = TickReplay::new(config);
    let mut out = Vec::new();
    for i in 1..=iterations {
        loop {
            let mut consumed = vec![Consumed::default(); ds.streams.len()];
            let a = r.advance(config, params, i, &f.chunks, &mut consumed).unwrap();
            f.consume(&consumed);
            match a {
                Advance::Need(k) => f.more(ds, k),
                Advance::Done(report) => {
                    out.push((*report, r.finished_fills.clone()));
                    break;
                }
            }
        }
    }
    out
}

pub fn choices(queue: &str) -> TickChoices {
    TickChoices { queue_model: Some(queue.into()), ..TickChoices::default() }
}

/// Parameters that quote near the touch, so real prints reach them.
pub fn tight() -> Params {
    Params {
        base_spread_bps: 2.0,
        min_interval_ms: 60,
        impact_cap_ratio: 0.1,
        max_delta_ratio: 0.3,
        concurrency_limit: 4,
        tail_age_ms: 1500,
        inventory_skew: 0.5,
    }
}
