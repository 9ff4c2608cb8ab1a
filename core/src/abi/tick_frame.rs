//! `tick_replay_frame`: the tick replay's hot call in a binary frame.
//!
//! The JSON call `tick_replay` escapes every chunk of market text into a JSON
//! string (Binance captures are JSON themselves: every quote mark doubles) and
//! carries the replay state as a typed value the host decodes and re-encodes on
//! every call. This call carries the same request and response, but the text
//! travels as raw bytes and the state as an opaque blob the host only stores.
//! Everything else stays JSON; the state blob is
//! [`TickReplay`](crate::exchange::TickReplay) in `postcard`'s serde format:
//! every f64 as its 8 bytes, so the state round-trips exactly as through JSON
//! (whose floats round-trip too) and the replay is the same function of the
//! same values, giving the same bytes as `tick_replay`, without formatting and
//! parsing every float of the book on every call (under wasm32 that is 128-bit
//! multiplies in software). The blob is the core's own: only the core that
//! wrote it reads it, and it is never stored on disk.
//!
//! All integers are little-endian u32. Frame version 2 (magic `MTF2`):
//!
//! Request:
//! ```text
//! "MTF2"
//! u32 n, n bytes: JSON {"abi_version": 1, "request": TickFrameHeader}
//! u32 n, n bytes: the state blob of the previous response (n = 0: start a replay)
//! per stream, in TickFrameHeader::streams order:
//!   u32 n, n bytes: its text (UTF-8, whole lines up to the chunk's end)
//!   if the stream is paired: u32 n, n bytes: the companion file's text
//! ```
//! Response:
//! ```text
//! "MTF2"
//! u32 n, n bytes: JSON {"ok": TickFrameResult} or {"error": {"kind", "message"}}
//! u32 n, n bytes: the new state blob (n = 0 after an `error` response)
//! ```
//! A frame that does not parse gives `{"error": {"kind": "bad_request", ...}}`.

use serde::{Deserialize, Serialize};

use super::{decode, respond, AbiError, Response};
use crate::exchange::{Advance, TickConfig, TickReplay};
use crate::feed::stream::{Chunk, Consumed, FeedError};
use crate::params::Params;

/// The frame's magic and version.
pub const TICK_FRAME_MAGIC: [u8; 4] = *b"MTF2";

/// The JSON part of a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TickFrameHeader {
    pub config: TickConfig,
    pub params: Params,
    pub iteration: u32,
    /// One entry per stream: whether its chunk has a companion text and has ended.
    pub streams: Vec<StreamFlags>,
}

/// A chunk's flags (its texts travel raw after the header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamFlags {
    pub paired: bool,
    pub eof: bool,
}

/// The JSON part of a successful response: [`super::TickReplayResponse`] without the state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TickFrameResult {
    pub consumed: Vec<Consumed>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advance: Option<Advance>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<FeedError>,
}

pub(super) fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    // Frames are far below 4 GiB (the wasm memory cap is 512 MiB); a longer
    // part would not fit the u32 length, and the host refuses it first.
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// Builds a request frame (used by hosts): the header from `config`, `params`,
/// `iteration` and the chunks' flags, then `state` (the blob of the previous
/// response, `None` to start a replay) and the chunks' texts.
pub fn encode_frame_request(
    config: &TickConfig,
    params: &Params,
    iteration: u32,
    state: Option<&[u8]>,
    chunks: &[&Chunk],
) -> Vec<u8> {
    /// [`TickFrameHeader`], borrowed: the same JSON without cloning the config.
    #[derive(Serialize)]
    struct HeaderRef<'a> {
        config: &'a TickConfig,
        params: &'a Params,
        iteration: u32,
        streams: Vec<StreamFlags>,
    }
    let streams = chunks.iter().map(|c| StreamFlags { paired: c.paired.is_some(), eof: c.eof }).collect();
    let json = super::encode_request(&HeaderRef { config, params, iteration, streams });
    let text: usize = chunks.iter().map(|c| c.text.len() + c.paired.as_ref().map_or(0, String::len) + 8).sum();
    let mut out = Vec::with_capacity(16 + json.len() + state.map_or(0, <[u8]>::len) + text);
    out.extend_from_slice(&TICK_FRAME_MAGIC);
    put(&mut out, &json);
    put(&mut out, state.unwrap_or_default());
    for c in chunks {
        put(&mut out, c.text.as_bytes());
        if let Some(p) = &c.paired {
            put(&mut out, p.as_bytes());
        }
    }
    out
}

/// What a host reads back from a response frame.
#[derive(Debug, Clone, PartialEq)]
pub struct TickFrameResponse {
    pub result: Response<TickFrameResult>,
    pub state: Vec<u8>,
}

/// Reads a response frame (used by hosts).
pub fn decode_frame_response(bytes: &[u8]) -> Result<TickFrameResponse, String> {
    let mut r = Reader { bytes, at: 0 };
    r.magic()?;
    let json = r.part("response")?;
    let result = serde_json::from_slice(json).map_err(|e| format!("response: {e}"))?;
    let state = r.part("state")?.to_vec();
    Ok(TickFrameResponse { result, state })
}

pub(super) struct Reader<'a> {
    pub bytes: &'a [u8],
    pub at: usize,
}

impl<'a> Reader<'a> {
    fn magic(&mut self) -> Result<(), String> {
        self.expect(&TICK_FRAME_MAGIC)
    }

    /// The frame starts with `magic`.
    pub(super) fn expect(&mut self, magic: &[u8; 4]) -> Result<(), String> {
        if self.bytes.get(..4) != Some(&magic[..]) {
            return Err(format!("not a {} frame", String::from_utf8_lossy(magic)));
        }
        self.at = 4;
        Ok(())
    }

    pub(super) fn part(&mut self, what: &str) -> Result<&'a [u8], String> {
        let len = self
            .bytes
            .get(self.at..self.at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or_else(|| format!("frame ends before the length of {what} (byte {})", self.at))?;
        let start = self.at + 4;
        let part = start
            .checked_add(len)
            .and_then(|end| self.bytes.get(start..end))
            .ok_or_else(|| format!("{what}: {len} bytes announced at byte {start}, the frame is shorter"))?;
        self.at = start + len;
        Ok(part)
    }

    fn text(&mut self, what: &str) -> Result<String, String> {
        let part = self.part(what)?;
        std::str::from_utf8(part)
            .map(str::to_owned)
            .map_err(|e| format!("{what}: not UTF-8 at byte {}", e.valid_up_to()))
    }
}

pub(super) fn bad(message: String) -> AbiError {
    AbiError { kind: "bad_request".into(), message }
}

/// The request, read.
fn read_request(input: &[u8]) -> Result<(TickFrameHeader, Option<TickReplay>, Vec<Chunk>), AbiError> {
    let mut r = Reader { bytes: input, at: 0 };
    r.magic().map_err(bad)?;
    let header: TickFrameHeader = decode(r.part("header").map_err(bad)?)?;
    let state = r.part("state").map_err(bad)?;
    let state =
        if state.is_empty() { None } else { Some(decode_state(state).map_err(|e| bad(format!("state: {e}")))?) };
    let mut chunks = Vec::with_capacity(header.streams.len());
    for (k, f) in header.streams.iter().enumerate() {
        let text = r.text(&format!("stream {k} text")).map_err(bad)?;
        let paired = if f.paired { Some(r.text(&format!("stream {k} paired text")).map_err(bad)?) } else { None };
        chunks.push(Chunk { text, paired, eof: f.eof });
    }
    if r.at != input.len() {
        return Err(bad(format!("{} bytes after the last stream's text", input.len() - r.at)));
    }
    Ok((header, state, chunks))
}

/// The state blob of a [`TickReplay`] (postcard).
pub fn encode_state(state: &TickReplay) -> Result<Vec<u8>, String> {
    postcard::to_allocvec(state).map_err(|e| e.to_string())
}

/// Reads a state blob written by [`encode_state`]; bytes after it are an error.
pub fn decode_state(blob: &[u8]) -> Result<TickReplay, String> {
    let (state, rest) = postcard::take_from_bytes(blob).map_err(|e| e.to_string())?;
    if !rest.is_empty() {
        return Err(format!("{} bytes after the state", rest.len()));
    }
    Ok(state)
}

/// A response frame after `magic`: the result's JSON and the state's blob. A
/// state that does not serialize makes the response an `internal` error with
/// no state (shared by this call and `tick_replay_events`).
pub(super) fn respond_frame<T: Serialize>(magic: &[u8; 4], result: Result<(T, TickReplay), AbiError>) -> Vec<u8> {
    let (json, state) = match result.and_then(|(r, state)| {
        encode_state(&state)
            .map(|blob| (r, blob))
            .map_err(|e| AbiError { kind: "internal".into(), message: format!("state not serializable: {e}") })
    }) {
        Ok((r, blob)) => (respond(Ok(r)), blob),
        Err(e) => (respond::<T>(Err(e)), Vec::new()),
    };
    let mut out = Vec::with_capacity(12 + json.len() + state.len());
    out.extend_from_slice(magic);
    put(&mut out, &json);
    put(&mut out, &state);
    out
}

/// Runs a request frame; returns a response frame. Never panics on input.
pub fn dispatch_frame(input: &[u8]) -> Vec<u8> {
    let out = read_request(input).map(|(h, state, chunks)| {
        super::tick_replay(super::TickReplayRequest {
            config: h.config,
            state,
            params: h.params,
            iteration: h.iteration,
            chunks,
        })
    });
    let out = out.map(|o| (TickFrameResult { consumed: o.consumed, advance: o.advance, error: o.error }, o.state));
    respond_frame(&TICK_FRAME_MAGIC, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::{dispatch, encode_request, TickReplayRequest, TickReplayResponse};
    use crate::exchange::plan::{plan_config, TickChoices};
    use crate::exchange::scan::Scanner;
    use crate::feed::Format;

    /// The LOBSTER AMZN day in ../shared/data: one paired stream (message + orderbook).
    fn lobster() -> (String, String) {
        let read = |k: &str| {
            let p = format!(
                "{}/../../shared/data/lobster/AMZN_2012-06-21_34200000_57600000_{k}_5.csv.gz",
                env!("CARGO_MANIFEST_DIR")
            );
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"));
            let mut text = String::new();
            std::io::Read::read_to_string(&mut flate2::read::MultiGzDecoder::new(&bytes[..]), &mut text).unwrap();
            text
        };
        (read("message"), read("orderbook"))
    }

    /// Hands out `lines` more lines of both files at a time.
    fn more(chunk: &mut Chunk, src: &(String, String), at: &mut (usize, usize), lines: usize) {
        let take = |t: &str, from: usize| {
            let mut end = from;
            for _ in 0..lines {
                end = t[end..].find('\n').map_or(t.len(), |i| end + i + 1);
            }
            end
        };
        let (a, b) = (take(&src.0, at.0), take(&src.1, at.1));
        chunk.text.push_str(&src.0[at.0..a]);
        chunk.paired.as_mut().unwrap().push_str(&src.1[at.1..b]);
        *at = (a, b);
        chunk.eof = a == src.0.len();
    }

    fn consume(chunk: &mut Chunk, c: &Consumed) {
        chunk.text.drain(..c.text);
        chunk.paired.as_mut().unwrap().drain(..c.paired);
    }

    #[test]
    fn the_frame_call_replays_exactly_as_the_json_call() {
        let src = lobster();
        let formats = [Format::Lobster];
        let whole = Chunk { text: src.0.clone(), paired: Some(src.1.clone()), eof: true };
        let mut scanner = Scanner::new(&formats, 1_000_000_000);
        assert_eq!(scanner.advance(&[whole], &mut [Consumed::default()]), Ok(None));
        let config = plan_config(&formats, &scanner.facts, &TickChoices::default(), 3, 300, 1_000_000_000).unwrap();
        let params = Params::default();
        let (mut a, mut b) = (Chunk { paired: Some(String::new()), ..Chunk::default() }, Chunk::default());
        let mut at = (0, 0);
        more(&mut a, &src, &mut at, 500);
        b.clone_from(&a);
        let (mut json_state, mut blob): (Option<TickReplay>, Option<Vec<u8>>) = (None, None);
        let mut calls = 0;
        for i in 1..=3 {
            loop {
                calls += 1;
                let req = TickReplayRequest {
                    config: config.clone(),
                    state: json_state.take(),
                    params: params.clone(),
                    iteration: i,
                    chunks: vec![a.clone()],
                };
                let out = dispatch("tick_replay", &encode_request(&req));
                let Response::Ok(j) = serde_json::from_slice::<Response<TickReplayResponse>>(&out).unwrap() else {
                    panic!("the JSON call failed")
                };
                let out =
                    dispatch("tick_replay_frame", &encode_frame_request(&config, &params, i, blob.as_deref(), &[&b]));
                let f = decode_frame_response(&out).unwrap();
                let r = match f.result {
                    Response::Ok(r) => r,
                    Response::Error(e) => panic!("the frame call failed: {}", e.message),
                };
                assert_eq!((&r.consumed, &r.advance, &r.error), (&j.consumed, &j.advance, &j.error), "call {calls}");
                assert_eq!(f.state, encode_state(&j.state).unwrap(), "state after call {calls}");
                let back = decode_state(&f.state).unwrap();
                assert_eq!(serde_json::to_vec(&back).unwrap(), serde_json::to_vec(&j.state).unwrap(), "call {calls}");
                consume(&mut a, &j.consumed[0]);
                consume(&mut b, &r.consumed[0]);
                json_state = Some(j.state);
                blob = Some(f.state);
                match j.advance.unwrap() {
                    Advance::Need(_) => {
                        more(&mut a, &src, &mut at.clone(), 500);
                        more(&mut b, &src, &mut at, 500);
                    }
                    Advance::Done(r) => {
                        assert!(r.data_quality.is_some_and(|q| q.events > 1000));
                        break;
                    }
                }
            }
        }
        assert!(calls > 6, "the test should cross several chunk boundaries, made {calls} calls");
    }

    #[test]
    fn a_broken_frame_is_one_bad_request_never_a_panic() {
        let config = TickConfig {
            formats: vec![Format::Tardis],
            tick: crate::feed::TickSize(1),
            lot: 1.0,
            start_ns: 0,
            iteration_seconds: 60,
            queue: Default::default(),
            latency: Default::default(),
            fees: Default::default(),
            backstep_tolerance_ns: 0,
        };
        let chunk = Chunk { text: "a\n".into(), paired: None, eof: true };
        let state = encode_state(&TickReplay::new(&config)).unwrap();
        let good = encode_frame_request(&config, &Params::default(), 1, Some(&state), &[&chunk]);
        let mut cases: Vec<Vec<u8>> = (0..good.len()).map(|n| good[..n].to_vec()).collect();
        cases.push([&good[..], b"x"].concat());
        // A well-framed state blob with a byte after the state, or cut short.
        cases.push(encode_frame_request(&config, &Params::default(), 1, Some(&[&state[..], &[0]].concat()), &[&chunk]));
        cases.push(encode_frame_request(&config, &Params::default(), 1, Some(&state[..state.len() - 1]), &[&chunk]));
        let mut not_utf8 = good.clone();
        *not_utf8.last_mut().unwrap() = 0xff;
        cases.push(not_utf8);
        for (n, case) in cases.iter().enumerate() {
            let f = decode_frame_response(&dispatch("tick_replay_frame", case)).unwrap();
            match f.result {
                Response::Error(e) => assert_eq!(e.kind, "bad_request", "case {n}: {}", e.message),
                Response::Ok(_) => panic!("case {n} was accepted"),
            }
            assert!(f.state.is_empty());
        }
    }
}
