//! `tick_replay_events`: the tick replay fed events the host decoded beforehand.
//!
//! [`tick_frame`](super::tick_frame) hands the engine text, and the engine
//! decodes it: under wasm that is a third of the replay's time, at 1.4× native
//! (Cranelift's digit loops). The CLI instead runs the core's own decoders and
//! merger natively, once ([`crate::exchange::source::MergeAhead`]), and hands
//! the engine the merged events in fixed-size binary records, which the engine
//! only replays. Decoding is integer work plus correctly rounded `f64` parsing,
//! the same on every target, and the replay cannot tell the two paths apart
//! (`the_event_path_replays_exactly_as_the_text_path`), so the bytes do not change.
//!
//! All integers little-endian. Frame version 1 (magic `MTE1`):
//!
//! Request:
//! ```text
//! "MTE1"
//! u32 n, n bytes: JSON {"abi_version": 1, "request": TickEventsHeader}
//! u32 n, n bytes: the state blob of the previous response (n = 0: start a replay)
//! u32 n, n × 64 bytes: the events, in replay order (one record each, below)
//! ```
//! Response:
//! ```text
//! "MTE1"
//! u32 n, n bytes: JSON {"ok": TickEventsResult} or {"error": {"kind", "message"}}
//! u32 n, n bytes: the new state blob (n = 0 after an `error` response)
//! ```
//!
//! An event record (64 bytes; `f64`s as their IEEE bits, so exactly):
//! ```text
//!  0 i64 exch_ns       8 i64 local_ns     16 u64 out_of_order (see source::Merged)
//! 24 u8 kind: 0 level, 1 clear, 2 quote, 3 trade, 4 add, 5 cancel, 6 halt, 7 sequence gap
//! 25 u8 side: 0 buy, 1 sell (level, add, cancel; trade: the aggressor, 2 = unknown)
//! 26 u8 flags: bit 0 quote bid present / trade maker order present / halted / gap in the book;
//!              bit 1 quote ask present
//! 27..32 zero
//! 32 i64 price (quote: bid price)   40 f64 quantity (quote: bid quantity)
//! 48 u64 order id (quote: ask price, as i64)   56 f64 quote: ask quantity
//! ```
//! A record that breaks these rules makes the call a `bad_request` naming the
//! record, never a panic.

use serde::{Deserialize, Serialize};

use super::tick_frame::{bad, decode_state, put, respond_frame, Reader};
use super::{decode, AbiError, Response};
use crate::exchange::source::{Batch, Merged};
use crate::exchange::{Advance, TickConfig, TickReplay};
use crate::feed::stream::FeedError;
use crate::feed::{Event, EventKind, Side};
use crate::params::Params;

/// The frame's magic and version.
pub const TICK_EVENTS_MAGIC: [u8; 4] = *b"MTE1";

/// Bytes of one event record.
pub const RECORD_BYTES: usize = 64;

/// The JSON part of a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TickEventsHeader {
    pub config: TickConfig,
    pub params: Params,
    pub iteration: u32,
    /// Present when the data ends after these events: the merger's final count
    /// of timestamps that stepped back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_out_of_order: Option<u64>,
}

/// The JSON part of a successful response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TickEventsResult {
    /// Events of the request replayed; the rest belong to the next call.
    pub used: u64,
    /// `Need(0)`: every event was used and the data goes on: send more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advance: Option<Advance>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<FeedError>,
}

fn side_code(s: Side) -> u8 {
    match s {
        Side::Buy => 0,
        Side::Sell => 1,
    }
}

/// Appends `m`'s record to `out`.
pub fn encode_event(m: &Merged, out: &mut Vec<u8>) {
    let e = &m.event;
    let mut r = [0u8; RECORD_BYTES];
    let mut word = |at: usize, v: u64| r[at..at + 8].copy_from_slice(&v.to_le_bytes());
    word(0, e.exch_ns as u64);
    word(8, e.local_ns as u64);
    word(16, m.out_of_order);
    let (kind, side, flags) = match e.kind {
        EventKind::Level { side, price, qty } => {
            word(32, price as u64);
            word(40, qty.to_bits());
            (0, side_code(side), 0)
        }
        EventKind::Clear => (1, 0, 0),
        EventKind::Quote { bid, ask } => {
            if let Some((p, q)) = bid {
                word(32, p as u64);
                word(40, q.to_bits());
            }
            if let Some((p, q)) = ask {
                word(48, p as u64);
                word(56, q.to_bits());
            }
            (2, 0, bid.is_some() as u8 | (ask.is_some() as u8) << 1)
        }
        EventKind::Trade { aggressor, price, qty, maker_order } => {
            word(32, price as u64);
            word(40, qty.to_bits());
            word(48, maker_order.unwrap_or(0));
            (3, aggressor.map_or(2, side_code), maker_order.is_some() as u8)
        }
        EventKind::Add { id, side, price, qty } => {
            word(32, price as u64);
            word(40, qty.to_bits());
            word(48, id);
            (4, side_code(side), 0)
        }
        EventKind::Cancel { id, side, price, qty } => {
            word(32, price as u64);
            word(40, qty.to_bits());
            word(48, id);
            (5, side_code(side), 0)
        }
        EventKind::Halt { halted } => (6, 0, halted as u8),
        EventKind::SequenceGap { book } => (7, 0, book as u8),
    };
    r[24] = kind;
    r[25] = side;
    r[26] = flags;
    out.extend_from_slice(&r);
}

/// Reads one record (exactly [`RECORD_BYTES`] long).
pub fn decode_event(r: &[u8]) -> Result<Merged, String> {
    let r: &[u8; RECORD_BYTES] = r.try_into().map_err(|_| format!("a record is {RECORD_BYTES} bytes"))?;
    check_event(r)?;
    let mut event = Event { exch_ns: 0, local_ns: 0, kind: EventKind::Clear };
    let out_of_order = decode_checked(r, &mut event);
    Ok(Merged { event, out_of_order })
}

#[inline(always)]
fn word(r: &[u8; RECORD_BYTES], at: usize) -> u64 {
    u64::from_le_bytes([r[at], r[at + 1], r[at + 2], r[at + 3], r[at + 4], r[at + 5], r[at + 6], r[at + 7]])
}

/// What is wrong with a record's kind, side, flags or reserved bytes, if anything.
fn check_event(r: &[u8; RECORD_BYTES]) -> Result<(), String> {
    let (kind, side, flags) = (r[24], r[25], r[26]);
    if r[27..32] != [0; 5] {
        return Err("bytes 27..32 must be zero".into());
    }
    // (sides allowed, flags allowed) per kind: a trade's side 2 is "aggressor unknown".
    let (sides, allowed): (&[u8], u8) = match kind {
        0 | 4 | 5 => (&[0, 1], 0),
        1 => (&[0], 0),
        2 => (&[0], 3),
        3 => (&[0, 1, 2], 1),
        6 | 7 => (&[0], 1),
        k => return Err(format!("kind {k} (0..=7)")),
    };
    if flags & !allowed != 0 {
        return Err(format!("flags {flags:#04x} for kind {kind}"));
    }
    if !sides.contains(&side) {
        return Err(match sides.len() {
            1 => format!("side {side} for kind {kind} (must be 0)"),
            2 => format!("side {side} (0 buy, 1 sell)"),
            _ => format!("side {side} (0 buy, 1 sell, 2 unknown)"),
        });
    }
    Ok(())
}

/// Decodes a record [`check_event`] has passed into `into` (field by field, where
/// it lies: under wasm a whole-`Event` copy is a `memory.copy` call into the host)
/// and returns its count of stepped-back timestamps.
#[inline]
fn decode_checked(r: &[u8; RECORD_BYTES], into: &mut Event) -> u64 {
    let (kind, flags) = (r[24], r[26]);
    let side = if r[25] == 0 { Side::Buy } else { Side::Sell };
    let (price, qty) = (word(r, 32) as i64, f64::from_bits(word(r, 40)));
    into.exch_ns = word(r, 0) as i64;
    into.local_ns = word(r, 8) as i64;
    into.kind = match kind {
        0 => EventKind::Level { side, price, qty },
        2 => EventKind::Quote {
            bid: (flags & 1 != 0).then_some((price, qty)),
            ask: (flags & 2 != 0).then(|| (word(r, 48) as i64, f64::from_bits(word(r, 56)))),
        },
        3 => EventKind::Trade {
            aggressor: if r[25] == 2 { None } else { Some(side) },
            price,
            qty,
            maker_order: (flags & 1 != 0).then(|| word(r, 48)),
        },
        4 => EventKind::Add { id: word(r, 48), side, price, qty },
        5 => EventKind::Cancel { id: word(r, 48), side, price, qty },
        6 => EventKind::Halt { halted: flags & 1 != 0 },
        7 => EventKind::SequenceGap { book: flags & 1 != 0 },
        // 1, and (never, after the check) anything else.
        _ => EventKind::Clear,
    };
    word(r, 16)
}

/// Builds a request frame (used by hosts): `state` is the blob of the previous
/// response (`None` starts a replay), `end` is [`TickEventsHeader::end_out_of_order`].
pub fn encode_events_request(
    config: &TickConfig,
    params: &Params,
    iteration: u32,
    state: Option<&[u8]>,
    events: &[Merged],
    end: Option<u64>,
) -> Vec<u8> {
    /// [`TickEventsHeader`], borrowed.
    #[derive(Serialize)]
    struct HeaderRef<'a> {
        config: &'a TickConfig,
        params: &'a Params,
        iteration: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        end_out_of_order: Option<u64>,
    }
    let json = super::encode_request(&HeaderRef { config, params, iteration, end_out_of_order: end });
    let state = state.unwrap_or_default();
    let mut out = Vec::with_capacity(16 + json.len() + state.len() + events.len() * RECORD_BYTES);
    out.extend_from_slice(&TICK_EVENTS_MAGIC);
    put(&mut out, &json);
    put(&mut out, state);
    out.extend_from_slice(&(events.len() as u32).to_le_bytes());
    for m in events {
        encode_event(m, &mut out);
    }
    out
}

/// What a host reads back from a response frame.
#[derive(Debug, Clone, PartialEq)]
pub struct TickEventsResponse {
    pub result: Response<TickEventsResult>,
    pub state: Vec<u8>,
}

/// Reads a response frame (used by hosts).
pub fn decode_events_response(bytes: &[u8]) -> Result<TickEventsResponse, String> {
    let mut r = Reader { bytes, at: 0 };
    r.expect(&TICK_EVENTS_MAGIC)?;
    let json = r.part("response")?;
    let result = serde_json::from_slice(json).map_err(|e| format!("response: {e}"))?;
    let state = r.part("state")?.to_vec();
    Ok(TickEventsResponse { result, state })
}

/// A request's event records, each checked (kind, side, flags, zero bytes)
/// before the replay starts and decoded when the replay reaches it.
struct Records<'a>(&'a [[u8; RECORD_BYTES]]);

impl Batch for Records<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }

    /// Every record was checked when the request was read ([`read_request`]).
    #[inline]
    fn read(&self, i: usize, into: &mut Event) -> u64 {
        decode_checked(&self.0[i], into)
    }
}

type Request<'a> = (TickEventsHeader, Option<TickReplay>, Records<'a>);

fn read_request(input: &[u8]) -> Result<Request<'_>, AbiError> {
    let mut r = Reader { bytes: input, at: 0 };
    r.expect(&TICK_EVENTS_MAGIC).map_err(bad)?;
    let header: TickEventsHeader = decode(r.part("header").map_err(bad)?)?;
    let state = r.part("state").map_err(bad)?;
    let state =
        if state.is_empty() { None } else { Some(decode_state(state).map_err(|e| bad(format!("state: {e}")))?) };
    let n = input
        .get(r.at..r.at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or_else(|| bad(format!("frame ends before the event count (byte {})", r.at)))?;
    let start = r.at + 4;
    let records = n
        .checked_mul(RECORD_BYTES)
        .and_then(|len| input.get(start..start.checked_add(len)?))
        .ok_or_else(|| bad(format!("{n} events announced at byte {start}, the frame is shorter")))?;
    if start + records.len() != input.len() {
        return Err(bad(format!("{} bytes after the last event", input.len() - start - records.len())));
    }
    let records = Records(records.as_chunks().0);
    for (i, r) in records.0.iter().enumerate() {
        check_event(r).map_err(|e| bad(format!("event {i}: {e}")))?;
    }
    Ok((header, state, records))
}

/// Runs a request frame; returns a response frame. Never panics on input.
pub fn dispatch_events(input: &[u8]) -> Vec<u8> {
    let out = read_request(input).map(|(h, state, events)| {
        let mut state = state.unwrap_or_else(|| TickReplay::new(&h.config));
        let mut used = 0;
        let out = state.advance_events(&h.config, &h.params, h.iteration, &events, h.end_out_of_order, &mut used);
        let result = match out {
            Ok(a) => TickEventsResult { used: used as u64, advance: Some(a), error: None },
            Err(e) => TickEventsResult { used: used as u64, advance: None, error: Some(e) },
        };
        (result, state)
    });
    respond_frame(&TICK_EVENTS_MAGIC, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::dispatch;
    use crate::edge::EdgeReport;
    use crate::exchange::plan::{plan_config, TickChoices};
    use crate::exchange::scan::Scanner;
    use crate::exchange::source::{Filled, MergeAhead};
    use crate::feed::group::{group, FileHead};
    use crate::feed::stream::{Chunk, Consumed, Merger};
    use crate::feed::{Format, TickSize};

    fn text(rel: &str) -> String {
        let p = format!("{}/../../shared/data/{rel}", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"));
        if bytes.starts_with(&[0x1f, 0x8b]) {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut flate2::read::MultiGzDecoder::new(&bytes[..]), &mut s).unwrap();
            s
        } else {
            String::from_utf8(bytes).unwrap()
        }
    }

    /// `(name, text)` files grouped into streams, each one whole chunk.
    fn streams(files: &[(&str, String)]) -> (Vec<Format>, Vec<Chunk>) {
        let heads: Vec<FileHead> = files
            .iter()
            .map(|(f, t)| FileHead { name: f.to_string(), lines: t.lines().take(4).map(String::from).collect() })
            .collect();
        let groups = group(&heads, None).expect("grouping");
        let chunks = groups
            .iter()
            .map(|g| Chunk {
                text: g.files.iter().map(|&i| files[i].1.as_str()).collect(),
                paired: g.paired.as_ref().map(|p| p.iter().map(|&i| files[i].1.as_str()).collect()),
                eof: true,
            })
            .collect();
        (groups.iter().map(|g| g.format).collect(), chunks)
    }

    fn plan(formats: &[Format], chunks: &[Chunk], n: u32, secs: u32) -> TickConfig {
        let mut scanner = Scanner::new(formats, 1_000_000_000);
        let mut at = vec![Consumed::default(); chunks.len()];
        assert_eq!(scanner.advance(chunks, &mut at), Ok(None));
        plan_config(formats, &scanner.facts, &TickChoices::default(), n, secs, 1_000_000_000).expect("plan")
    }

    /// Iterations `from..=n` replayed from the text, as the browser does.
    fn by_text(config: &TickConfig, mut chunks: Vec<Chunk>, from: u32, n: u32) -> Vec<String> {
        let mut replay = TickReplay::new(config);
        let params = Params::default();
        (from..=n)
            .map(|i| {
                let mut at = vec![Consumed::default(); chunks.len()];
                let out = replay.advance(config, &params, i, &chunks, &mut at).expect("text replay");
                for (c, k) in chunks.iter_mut().zip(&at) {
                    c.text.drain(..k.text);
                    if let Some(p) = c.paired.as_mut() {
                        p.drain(..k.paired);
                    }
                }
                match out {
                    Advance::Done(r) => serde_json::to_string(&r).unwrap(),
                    Advance::Need(k) => panic!("stream {k} needs more, but every chunk is whole"),
                }
            })
            .collect()
    }

    /// Every event decoded and merged ahead, as the CLI does, with the final count.
    fn decode_all(config: &TickConfig, chunks: &[Chunk]) -> (Vec<Merged>, u64) {
        let mut ahead = MergeAhead::new(Merger::new(&config.formats, config.tick, config.backstep_tolerance_ns));
        let mut at = vec![Consumed::default(); chunks.len()];
        let mut events = Vec::new();
        match ahead.fill(chunks, &mut at, &mut events, usize::MAX).expect("decode") {
            Filled::End(n) => (events, n),
            other => panic!("whole chunks, yet {other:?}"),
        }
    }

    /// Iterations `from..=n` replayed from the events through the ABI call,
    /// `batch` events per call.
    fn by_events(config: &TickConfig, events: &[Merged], end: u64, batch: usize, from: u32, n: u32) -> Vec<String> {
        let params = Params::default();
        let (mut pos, mut blob): (usize, Option<Vec<u8>>) = (0, None);
        let mut reports = Vec::new();
        for i in from..=n {
            loop {
                let to = (pos + batch).min(events.len());
                let last = (to == events.len()).then_some(end);
                let req = encode_events_request(config, &params, i, blob.as_deref(), &events[pos..to], last);
                let f = decode_events_response(&dispatch("tick_replay_events", &req)).unwrap();
                let Response::Ok(r) = f.result else { panic!("the call failed: {:?}", f.result) };
                assert!(r.error.is_none(), "{:?}", r.error);
                pos += r.used as usize;
                blob = Some(f.state);
                match r.advance.expect("an advance") {
                    Advance::Done(rep) => {
                        reports.push(serde_json::to_string(&rep).unwrap());
                        break;
                    }
                    Advance::Need(k) => {
                        assert_eq!((k, pos), (0, to), "need asked before the batch was used up");
                        assert!(last.is_none(), "need asked after the end");
                    }
                }
            }
        }
        reports
    }

    fn check(name: &str, files: &[(&str, String)], n: u32, secs: u32) -> Vec<EdgeReport> {
        let (formats, chunks) = streams(files);
        let config = plan(&formats, &chunks, n, secs);
        let text = by_text(&config, chunks.clone(), 1, n);
        let (events, end) = decode_all(&config, &chunks);
        for batch in [events.len().max(1), 4096, 777] {
            assert_eq!(by_events(&config, &events, end, batch, 1, n), text, "{name}, {batch} events per call");
        }
        // A resumed run: the earlier windows are replayed without trading.
        let resumed = by_text(&config, chunks, 3, n);
        assert_eq!(by_events(&config, &events, end, 5000, 3, n), resumed, "{name}, resumed at iteration 3");
        text.iter().map(|r| serde_json::from_str(r).unwrap()).collect()
    }

    #[test]
    fn the_event_path_replays_exactly_as_the_text_path() {
        let lobster = ["message", "orderbook"].map(|k| {
            let f = format!("lobster/AMZN_2012-06-21_34200000_57600000_{k}_5.csv.gz");
            (text(&f), f)
        });
        let lobster: Vec<(&str, String)> = lobster.iter().map(|(t, f)| (f.as_str(), t.clone())).collect();
        let r = check("LOBSTER", &lobster, 4, 600);
        assert!(r.iter().all(|r| r.maker_fills > 0), "LOBSTER: the maker should trade every window");
        let binance = ["binance_usdm_raw/btcusdt_20240718.gz", "binance_usdm_raw/btcusdt_20240719.gz"];
        let binance: Vec<(&str, String)> = binance.iter().map(|f| (*f, text(f))).collect();
        check("Binance", &binance, 6, 60);
        // Tardis trades + quotes with local stamps stepped back every 40th quote
        // (within the tolerance): the merger's count must reach the reports alike.
        let trades = "tardis/binance-futures_trades_2020-02-22_BTCUSDT_first9999.csv";
        let quotes = "tardis/binance-futures_quotes_2020-02-22_BTCUSDT_first9999.csv";
        let stepped: String = text(quotes)
            .lines()
            .enumerate()
            .map(|(i, l)| {
                let mut f: Vec<String> = l.split(',').map(String::from).collect();
                if i > 0 && i % 40 == 0 {
                    f[3] = (f[3].parse::<i64>().unwrap() - 300_000).to_string();
                }
                f.join(",") + "\n"
            })
            .collect();
        let r = check("Tardis", &[(trades, text(trades)), (quotes, stepped)], 3, 60);
        let oo: u64 = r.iter().map(|r| r.data_quality.as_ref().unwrap().out_of_order).sum();
        assert!(oo > 10, "the stepped-back stamps should be counted, got {oo}");
    }

    #[test]
    fn every_event_kind_round_trips_its_record() {
        let kinds = [
            EventKind::Level { side: Side::Sell, price: -5, qty: 1.25 },
            EventKind::Clear,
            EventKind::Quote { bid: Some((10, 0.5)), ask: None },
            EventKind::Quote { bid: None, ask: Some((11, 2.0)) },
            EventKind::Quote { bid: Some((10, 0.5)), ask: Some((11, 3.0)) },
            EventKind::Trade { aggressor: None, price: 7, qty: 0.1, maker_order: None },
            EventKind::Trade { aggressor: Some(Side::Buy), price: 7, qty: 0.1, maker_order: Some(u64::MAX) },
            EventKind::Add { id: 9, side: Side::Buy, price: i64::MIN, qty: 3.0 },
            EventKind::Cancel { id: 9, side: Side::Sell, price: i64::MAX, qty: 1e-9 },
            EventKind::Halt { halted: true },
            EventKind::Halt { halted: false },
            EventKind::SequenceGap { book: true },
            EventKind::SequenceGap { book: false },
        ];
        for (i, kind) in kinds.into_iter().enumerate() {
            let m = Merged { event: Event { exch_ns: -1, local_ns: i as i64 * 1_000_000_007, kind }, out_of_order: 3 };
            let mut rec = Vec::new();
            encode_event(&m, &mut rec);
            assert_eq!(rec.len(), RECORD_BYTES);
            assert_eq!(decode_event(&rec), Ok(m), "{kind:?}");
        }
    }

    #[test]
    fn a_broken_events_frame_is_one_bad_request_never_a_panic() {
        let config = TickConfig {
            formats: vec![Format::Tardis],
            tick: TickSize(1),
            lot: 1.0,
            start_ns: 0,
            iteration_seconds: 60,
            queue: Default::default(),
            latency: Default::default(),
            fees: Default::default(),
            backstep_tolerance_ns: 0,
        };
        let m = Merged {
            event: Event { exch_ns: 5, local_ns: 5, kind: EventKind::Level { side: Side::Buy, price: 1, qty: 1.0 } },
            out_of_order: 0,
        };
        let good = encode_events_request(&config, &Params::default(), 1, None, &[m, m], None);
        let mut cases: Vec<(Vec<u8>, &str)> = (0..good.len()).map(|n| (good[..n].to_vec(), "")).collect();
        cases.push(([&good[..], b"x"].concat(), "after the last event"));
        let record = good.len() - 2 * RECORD_BYTES;
        for (at, byte, what) in [(24, 8, "kind 8"), (25, 2, "side 2"), (26, 2, "flags"), (30, 1, "must be zero")] {
            let mut bad = good.clone();
            bad[record + RECORD_BYTES + at] = byte;
            cases.push((bad, what));
        }
        // A kind without a side (here a clear) must carry side 0.
        let mut bad = good.clone();
        bad[record + RECORD_BYTES + 24] = 1;
        bad[record + RECORD_BYTES + 25] = 1;
        cases.push((bad, "side 1 for kind 1"));
        for (n, (case, what)) in cases.iter().enumerate() {
            let f = decode_events_response(&dispatch("tick_replay_events", case)).unwrap();
            match f.result {
                Response::Error(e) => {
                    assert_eq!(e.kind, "bad_request", "case {n}: {}", e.message);
                    assert!(e.message.contains(what), "case {n}: {}", e.message);
                    if !what.is_empty() && *what != "after the last event" {
                        assert!(e.message.contains("event 1"), "case {n} names the record: {}", e.message);
                    }
                }
                Response::Ok(_) => panic!("case {n} was accepted"),
            }
            assert!(f.state.is_empty());
        }
        let ok = decode_events_response(&dispatch("tick_replay_events", &good)).unwrap();
        assert!(matches!(ok.result, Response::Ok(TickEventsResult { used: 2, advance: Some(Advance::Need(0)), .. })));
    }
}
