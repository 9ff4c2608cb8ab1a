// The what-if engine. Instantiates mmsoak_core.wasm — the exact bytes the CLI
// embeds — with no imports, and drives a soak through its JSON ABI (v1).
// Artifacts come back from the core as finished strings and are never
// re-serialized here, so they are byte-identical to what `mmsoak run` writes.
// A tick replay reads the picked files here (gzip through DecompressionStream)
// and hands the core whole lines, as `mmsoak run --source ticks` does; the scan,
// the replay and the plan stay opaque strings (their i64 nanoseconds do not fit
// in a JavaScript number).
"use strict";

const ABI_VERSION = 1;
let core = null;
let sha256 = null;

async function load() {
  if (core) return;
  const bytes = await (await fetch("mmsoak_core.wasm")).arrayBuffer();
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  sha256 = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const { instance } = await WebAssembly.instantiate(bytes, {});
  const found = instance.exports.mmsoak_abi_version();
  if (found !== ABI_VERSION) throw new Error(`core speaks ABI v${found}, this page speaks v${ABI_VERSION}`);
  core = instance.exports;
}

function call(name, request) {
  const input = new TextEncoder().encode(JSON.stringify({ abi_version: ABI_VERSION, request }));
  const ptr = core.alloc(input.length);
  new Uint8Array(core.memory.buffer, ptr, input.length).set(input);
  const out = core["mmsoak_" + name](ptr, input.length);
  core.dealloc(ptr, input.length);
  const len = new DataView(core.memory.buffer).getUint32(out, true);
  const text = new TextDecoder().decode(new Uint8Array(core.memory.buffer, out + 4, len));
  core.dealloc(out, len + 4);
  const response = JSON.parse(text);
  if (response.error) throw new Error(`${name}: ${response.error.kind}: ${response.error.message}`);
  return response.ok;
}

const post = (msg) => postMessage(JSON.stringify(msg));

function run(id, req) {
  const started = performance.now();
  const total = req.config.total_iterations;
  const files = {};
  const start = call("session_start", { config: req.config, baseline: req.baseline });
  let state = start.state_json;
  files["runtime_overrides.json"] = start.overrides_file;
  const summaries = [];
  for (let i = 1; i <= total; i++) {
    // `spec`: a regime file's numbers (regime "fitted"); absent otherwise.
    const r = call("session_iterate", { state_json: state, regime: req.regime, seed: req.seed, bars: req.bars ?? [], spec: req.spec });
    state = r.state_json;
    files[`latest/ITER_SUMMARY_${r.iteration}.json`] = r.summary_file;
    files["latest/TUNING_STATE.prev.json"] = r.prev_state_file;
    files["latest/TUNING_STATE.json"] = r.state_file;
    files["runtime_overrides.json"] = r.overrides_file;
    summaries.push(r.summary_file);
    post({ type: "progress", id, iteration: r.iteration, total, summary_file: r.summary_file });
  }
  const engine = { kind: "wasm", core_sha256: sha256, abi_version: ABI_VERSION, runtime: `browser ${navigator.userAgent}` };
  const report = call("session_report", { settings: req.settings, engine, summary_files: summaries, state_json: state });
  files["latest/TUNING_REPORT.json"] = report.report_file;
  post({ type: "done", id, files, elapsed_ms: performance.now() - started });
}

// ---- Tick data: files → lines → chunks, as cli/src/data does. ----

/** Characters of text read ahead per stream (the CLI reads 256 KiB). */
const CHUNK_CHARS = 256 * 1024;

/** Bad data or an unreadable file: shown to the user as it is. */
class DataError extends Error {}

/** Bytes written to a DecompressionStream at a time, at most. */
const GZ_PIECE = 16 * 1024;

/** How many bytes after the end of a gzip stream an error shows (cli/src/data/gz.rs). */
const GZ_SHOWN = 16;

/** What is wrong with a gzip file, in the CLI's words (cli/src/data/gz.rs `describe`). */
class GzipError extends Error {}

/** A failed inflate in Chromium's words (zlib's) → in the CLI's (flate2's). */
function gzipWords(message) {
  if (/truncated/i.test(message)) return "the gzip stream is truncated";
  if (/incorrect (data|length) check/.test(message)) return "corrupt gzip stream does not have a matching checksum";
  if (/header|compression method/.test(message)) return "invalid gzip header";
  return "corrupt deflate stream";
}

/** Bytes as Rust's `escape_ascii` shows them. */
function escapeAscii(bytes) {
  const named = { 0x09: "\\t", 0x0a: "\\n", 0x0d: "\\r", 0x22: '\\"', 0x27: "\\'", 0x5c: "\\\\" };
  let s = "";
  for (const b of bytes) {
    if (named[b]) s += named[b];
    else if (b >= 0x20 && b < 0x7f) s += String.fromCharCode(b);
    else s += "\\x" + b.toString(16).padStart(2, "0");
  }
  return s;
}

/**
 * One gzip member from `start` inflated by DecompressionStream("gzip"), fed by hand
 * so that a failure can be placed: pieces of at most GZ_PIECE bytes, a piece of its
 * own for every byte where another member could begin (1f 8b, or a 1f whose next
 * byte is not known yet), and one byte at a time in `fine` ({ from, to }). The
 * piece that failed and Chromium's words are `failed` ({ at, len, message }).
 *
 * Chromium's stream runs a piece only when the reader waits on an empty queue, and
 * when a piece fails it drops that piece's output but the first 64 KiB it handed
 * out: so a one-byte piece loses nothing, and a piece that failed says where.
 * "Junk found after end of compressed data" on a one-byte piece: the member ended
 * right before it, with its CRC32 and length checked.
 */
class MemberRun {
  constructor(file, start, fine = null) {
    const ds = new DecompressionStream("gzip");
    this.writer = ds.writable.getWriter();
    this.reader = ds.readable.getReader();
    this.source = file.slice(start).stream().getReader();
    this.fine = fine;
    this.made = 0; // bytes the reader took
    this.failed = null;
    this.fed = this.feed(start, fine);
  }

  async feed(start, fine) {
    let off = start; // the file offset of buf[0]
    let buf = new Uint8Array(0);
    let eof = false;
    let piece = null;
    try {
      for (;;) {
        while (buf.length < 2 && !eof) {
          const { value, done } = await this.source.read();
          if (done) {
            eof = true;
          } else if (buf.length) {
            const b = new Uint8Array(buf.length + value.length);
            b.set(buf);
            b.set(value, buf.length);
            buf = b;
          } else {
            buf = value;
          }
        }
        if (!buf.length) break;
        let n;
        if (fine && off >= fine.from && off < fine.to) {
          n = 1;
        } else {
          n = Math.min(buf.length, GZ_PIECE);
          if (fine && off < fine.from) n = Math.min(n, fine.from - off);
          for (let i = buf.indexOf(0x1f); i >= 0 && i < n; i = buf.indexOf(0x1f, i + 1)) {
            if (i + 1 >= buf.length || buf[i + 1] === 0x8b) {
              n = Math.max(i, 1);
              break;
            }
          }
        }
        piece = { at: off, len: n };
        await this.writer.write(buf.subarray(0, n));
        buf = buf.subarray(n);
        off += n;
      }
      // An empty piece runs once the reader has taken all there is; then the end.
      piece = { at: off, len: 0 };
      await this.writer.write(new Uint8Array(0));
      await this.writer.close();
    } catch (e) {
      this.failed = { ...(piece ?? { at: off, len: 0 }), message: String(e && e.message ? e.message : e) };
    } finally {
      this.source.cancel().catch(() => {});
    }
  }
}

/**
 * A gzip file's bytes, every member in a row, read as the CLI reads them
 * (cli/src/data/gz.rs): after a member, the file's end, another member (1f 8b), or
 * bytes that are not gzip data, an error naming their offset. A failure inside a
 * piece of many bytes is placed by inflating the member again, one byte at a time
 * in that piece, handing out only what was not handed out yet: once per file, as
 * any failure but the end of a member is the end of the file's reading.
 */
class Gunzip {
  constructor(file) {
    this.file = file;
    this.start = 0; // where the member being read begins
    this.given = 0; // bytes of it handed out
    this.run = new MemberRun(file, 0);
  }

  async read() {
    for (;;) {
      const run = this.run;
      let part;
      try {
        part = await run.reader.read();
      } catch (e) {
        await run.fed;
        const f = run.failed ?? { at: this.file.size, len: 0, message: String(e && e.message ? e.message : e) };
        if (f.len > 1 && !run.fine) {
          this.run = new MemberRun(this.file, this.start, { from: f.at, to: f.at + f.len });
          continue;
        }
        if (!/Junk found/i.test(f.message)) throw new GzipError(gzipWords(f.message));
        await this.next(f.at);
        continue;
      }
      if (part.done) return part;
      const from = run.made;
      run.made += part.value.length;
      if (run.made <= this.given) continue;
      const value = from < this.given ? part.value.subarray(this.given - from) : part.value;
      this.given = run.made;
      return { value, done: false };
    }
  }

  /** The member ended at `at`: what follows is another member, or an error. */
  async next(at) {
    const rest = new Uint8Array(await this.file.slice(at, at + GZ_SHOWN + 1).arrayBuffer());
    if (!rest.length || rest[0] !== 0x1f || (rest.length > 1 && rest[1] !== 0x8b)) {
      const more = rest.length > GZ_SHOWN ? "…" : "";
      throw new GzipError(`trailing bytes after the end of the gzip stream at byte ${at}: "${escapeAscii(rest.subarray(0, GZ_SHOWN))}"${more} is not gzip data`);
    }
    this.start = at;
    this.given = 0;
    this.run = new MemberRun(this.file, at);
  }

  cancel() {
    return this.run.reader.cancel();
  }
}

/** Where a UTF-8 character that `bytes` may cut short begins (else its length). */
function utf8Boundary(bytes) {
  for (let i = bytes.length - 1; i >= Math.max(0, bytes.length - 3); i--) {
    const b = bytes[i];
    if (b < 0x80) return bytes.length;
    if (b >= 0xc0) return bytes.length - i < (b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2) ? i : bytes.length;
  }
  return bytes.length;
}

/** The longest start of `bytes` that is valid UTF-8 so far (a cut-short character may end it). */
function validPrefix(bytes) {
  let [lo, hi] = [0, bytes.length];
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, mid), { stream: true });
      lo = mid;
    } catch {
      hi = mid - 1;
    }
  }
  return lo;
}

/**
 * One file's lines (decompressed when it starts with gzip's magic bytes), without
 * line endings, read as the CLI reads them: text must be UTF-8 (the line holding
 * the first byte that is not is an error), a BOM stays in the text.
 */
class LineSource {
  static async open(file) {
    const magic = new Uint8Array(await file.slice(0, 2).arrayBuffer());
    const src = new LineSource();
    src.name = file.name;
    src.gzip = magic.length === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
    src.reader = src.gzip ? new Gunzip(file) : file.stream().getReader();
    src.decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    src.carry = new Uint8Array(0); // the start of a character the last chunk cut short
    src.buf = "";
    src.pos = 0;
    src.done = false;
    src.bad = null; // where in `buf` the text stops being UTF-8
    return src;
  }

  /** Appends `bytes` (and what was carried) as text, up to the first byte that is not UTF-8. */
  append(bytes, last) {
    let data = bytes;
    if (this.carry.length) {
      data = new Uint8Array(this.carry.length + bytes.length);
      data.set(this.carry);
      data.set(bytes, this.carry.length);
    }
    const end = last ? data.length : utf8Boundary(data);
    this.carry = data.slice(end);
    try {
      this.buf += this.decoder.decode(data.subarray(0, end));
    } catch {
      const ok = validPrefix(data.subarray(0, end));
      this.buf += new TextDecoder("utf-8", { ignoreBOM: true }).decode(data.subarray(0, ok), { stream: true });
      this.bad = this.buf.length;
    }
  }

  /** The next line, or null at the end; `lineNo` names it in a read error. */
  async next(lineNo) {
    for (;;) {
      const nl = this.buf.indexOf("\n", this.pos);
      if (this.bad !== null && (nl < 0 || nl >= this.bad)) {
        // The CLI's words (Rust's read_line on bytes that are not UTF-8).
        throw new DataError(`${this.name}: line ${lineNo}: not readable text (stream did not contain valid UTF-8)`);
      }
      if (nl >= 0) {
        const line = this.buf.slice(this.pos, nl);
        this.pos = nl + 1;
        return line.replace(/\r+$/, "");
      }
      if (this.done) {
        if (this.pos >= this.buf.length) return null;
        const line = this.buf.slice(this.pos);
        this.pos = this.buf.length;
        return line.replace(/\r+$/, "");
      }
      this.buf = this.buf.slice(this.pos);
      this.pos = 0;
      let part;
      try {
        part = await this.reader.read();
      } catch (e) {
        // A gzip stream's failure in the CLI's words, at the line the CLI names.
        if (e instanceof GzipError) throw new DataError(`${this.name}: line ${lineNo}: ${e.message}`);
        const why = e && e.message ? e.message : String(e);
        throw new DataError(`${this.name}: line ${lineNo}: the file cannot be read (${why})`);
      }
      if (part.done) this.done = true;
      this.append(part.done ? new Uint8Array(0) : part.value, part.done);
    }
  }

  close() {
    this.reader.cancel().catch(() => {});
  }
}

/** The first few non-empty lines of a file: what the core groups files by. */
async function head(file) {
  const src = await LineSource.open(file);
  const lines = [];
  let n = 0;
  try {
    while (lines.length < 4) {
      const line = await src.next(n + 1);
      if (line === null) break;
      n++;
      if (line.trim() !== "") lines.push(line);
    }
  } finally {
    src.close();
  }
  return { name: file.name, lines };
}

/** One stream's text for the core, whole lines at a time (cli/src/data/reader.rs). */
class StreamReader {
  constructor(spec) {
    this.spec = spec;
    this.file = 0;
    this.cur = null;
    this.curPaired = null;
    this.linesInFile = 0;
    this.starts = [0];
    this.linesTotal = 0;
    this.chunk = spec.paired ? { text: "", paired: "", eof: false } : { text: "", eof: false };
  }

  async refill() {
    const target = this.chunk.text.length + CHUNK_CHARS;
    while (this.chunk.text.length < target && !this.chunk.eof) {
      if (!this.cur) {
        if (this.file >= this.spec.files.length) {
          this.chunk.eof = true;
          break;
        }
        this.cur = await LineSource.open(this.spec.files[this.file]);
        if (this.spec.paired) this.curPaired = await LineSource.open(this.spec.paired[this.file]);
      }
      const lineNo = this.linesInFile + 1;
      const line = await this.cur.next(lineNo);
      if (line !== null) {
        this.chunk.text += line + "\n";
        if (this.curPaired) {
          const p = await this.curPaired.next(lineNo);
          if (p !== null) this.chunk.paired += p + "\n";
        }
        this.linesInFile++;
        this.linesTotal++;
      } else {
        // This file is done; an orderbook file with rows left over is the core's to report.
        if (this.curPaired) {
          const p = await this.curPaired.next(lineNo);
          if (p !== null) {
            this.chunk.paired += p + "\n";
            this.chunk.eof = true;
            break;
          }
        }
        this.cur = null;
        this.curPaired = null;
        this.file++;
        this.linesInFile = 0;
        this.starts.push(this.linesTotal);
      }
    }
  }

  /** Drops what the core consumed (UTF-16 code units). */
  consume(c) {
    this.chunk.text = this.chunk.text.slice(c.text);
    if (this.spec.paired) this.chunk.paired = this.chunk.paired.slice(c.paired);
  }

  /** The file name and its line for the stream's line `line` (1-based). */
  locate(line, paired) {
    let k = 0;
    this.starts.forEach((s, i) => {
      if (s < line && i < this.spec.files.length) k = i;
    });
    const files = paired && this.spec.paired ? this.spec.paired : this.spec.files;
    const file = files[k] ?? files[files.length - 1];
    return [file ? file.name : "market data", line - (this.starts[k] ?? 0)];
  }

  close() {
    this.cur?.close();
    this.curPaired?.close();
  }
}

/** One error line for bad data: `FILE: line N: message`. */
function describe(readers, e) {
  const r = readers[e.stream];
  if (!r) return new DataError(`market data: ${e.message}`);
  const [name, line] = r.locate(e.line, e.paired);
  return new DataError(`${name}: line ${line}: ${e.message}`);
}

async function openStreams(specs) {
  const readers = specs.map((s) => new StreamReader(s));
  for (const r of readers) await r.refill();
  return readers;
}

/** Hands the readers' chunks to `step` until it returns something other than `need`. */
async function drive(readers, step) {
  for (;;) {
    const r = step(readers.map((x) => x.chunk));
    r.consumed.forEach((c, k) => readers[k].consume(c));
    if (r.error) throw describe(readers, r.error);
    if (r.need === undefined || r.need === null) return r;
    const reader = readers[r.need];
    if (!reader || reader.chunk.eof) throw new Error(`internal: the core asked for more of stream ${r.need}, which has ended`);
    await reader.refill();
  }
}

/** A tick replay: group, scan and plan, then one replayed window per iteration. */
async function runTicks(id, req, picked) {
  const started = performance.now();
  const total = req.config.total_iterations;
  const t = req.ticks;
  post({ type: "progress", id, iteration: 0, total, note: "reading the tick data" });
  const heads = [];
  for (const f of picked) heads.push(await head(f));
  const grouped = call("tick_group", { files: heads });
  if (grouped.error) throw new DataError(grouped.error);
  const specs = grouped.streams.map((g) => ({
    format: g.format,
    files: g.files.map((i) => picked[i]),
    paired: g.paired ? g.paired.map((i) => picked[i]) : null,
  }));
  const streams = specs.map((s) => s.files.flatMap((f, i) => (s.paired ? [f.name, s.paired[i].name] : [f.name])));
  const formats = specs.map((s) => s.format);

  // The scan: every line decoded and checked before anything runs; the plan.
  let readers = await openStreams(specs);
  let scannerJson;
  let scan;
  try {
    scan = await drive(readers, (chunks) => {
      const r = call("session_tick_scan", {
        formats, scanner_json: scannerJson, chunks, choices: t.choices,
        iterations: total, iteration_seconds: t.iteration_seconds, backstep_tolerance_ns: t.backstep_tolerance_ns,
      });
      scannerJson = r.scanner_json;
      return r;
    });
  } finally {
    readers.forEach((r) => r.close());
  }
  if (scan.plan_error) throw new DataError(`${picked.map((f) => f.name).join(", ")}: ${scan.plan_error}`);
  const configJson = scan.config_json;
  const note = `tick data: ${scan.summary}`;

  const files = {};
  const start = call("session_start", { config: req.config, baseline: req.baseline });
  let state = start.state_json;
  files["runtime_overrides.json"] = start.overrides_file;
  const summaries = [];
  readers = await openStreams(specs);
  let replayJson;
  try {
    for (let i = 1; i <= total; i++) {
      post({ type: "progress", id, iteration: i - 1, total, note: `replaying iteration ${i} of ${total}` });
      const out = await drive(readers, (chunks) => {
        const r = call("session_tick_iterate", { state_json: state, replay_json: replayJson, config_json: configJson, chunks });
        replayJson = r.replay_json;
        return r;
      });
      const r = out.done;
      state = r.state_json;
      files[`latest/ITER_SUMMARY_${r.iteration}.json`] = r.summary_file;
      files["latest/TUNING_STATE.prev.json"] = r.prev_state_file;
      files["latest/TUNING_STATE.json"] = r.state_file;
      files["runtime_overrides.json"] = r.overrides_file;
      summaries.push(r.summary_file);
      post({ type: "progress", id, iteration: r.iteration, total, summary_file: r.summary_file });
    }
  } finally {
    readers.forEach((r) => r.close());
  }
  const engine = { kind: "wasm", core_sha256: sha256, abi_version: ABI_VERSION, runtime: `browser ${navigator.userAgent}` };
  const report = call("session_report", {
    settings: req.settings, engine, summary_files: summaries, state_json: state, ticks: { streams, config_json: configJson },
  });
  files["latest/TUNING_REPORT.json"] = report.report_file;
  post({ type: "done", id, files, elapsed_ms: performance.now() - started, note });
}

// Messages are JSON strings; a tick replay's comes as { json, files } with the picked File objects.
onmessage = async (event) => {
  let msg = {};
  try {
    const files = typeof event.data === "string" ? [] : event.data.files;
    msg = JSON.parse(typeof event.data === "string" ? event.data : event.data.json);
    await load();
    if (msg.type === "hello") post({ type: "ready", sha256, abi_version: ABI_VERSION });
    else if (msg.type === "run" && msg.request.ticks) await runTicks(msg.id, msg.request, files);
    else if (msg.type === "run") run(msg.id, msg.request);
  } catch (err) {
    post({ type: "error", id: msg.id ?? null, message: String(err && err.message ? err.message : err) });
  }
};
