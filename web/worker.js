// The what-if engine. Instantiates mmsoak_core.wasm — the exact bytes the CLI
// embeds — with no imports, and drives a soak through its JSON ABI (v1).
// Artifacts come back from the core as finished strings and are never
// re-serialized here, so they are byte-identical to what `mmsoak run` writes.
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
    const r = call("session_iterate", { state_json: state, regime: req.regime, seed: req.seed, bars: req.bars ?? [] });
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

onmessage = async (event) => {
  let msg = {};
  try {
    msg = JSON.parse(event.data);
    await load();
    if (msg.type === "hello") post({ type: "ready", sha256, abi_version: ABI_VERSION });
    else if (msg.type === "run") run(msg.id, msg.request);
  } catch (err) {
    post({ type: "error", id: msg.id ?? null, message: String(err && err.message ? err.message : err) });
  }
};
