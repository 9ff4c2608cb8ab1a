// Shared set-up for the browser test and bench: a real soak by the CLI, the built
// web app served by `mmsoak serve`, and Debian's Chromium driven by playwright-core.
import { chromium } from "playwright-core";
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const root = path.resolve(import.meta.dirname, "../..");
export const bin = process.env.MMSOAK_BIN ?? path.join(root, "target/release/mmsoak");
export const dist = process.env.MMSOAK_WEB_DIST ?? path.join(root, "web/dist");
export const evidence = path.join(root, "target/web-test");
const env = { ...process.env, MMSOAK_CACHE_DIR: path.join(root, "target/test-module-cache") };
delete env.SOAK_SLEEP_SECONDS;

export function tempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * `mmsoak run` with these settings into a fresh directory; returns it. A regime file
 * runs as `--regime NAME.json` in its own directory, so the run records the name a
 * browser knows (File.name). `extra`: more flags (`--export-html`, `--engine` …).
 */
export function cliRun({ profile, regime, seed, iterations, autoTune = true, guardsOff = [], data = null, regimeFile = null }, extra = []) {
  const out = path.join(tempDir("mmsoak-web-run-"), "soak");
  const args = ["run", "--iterations", String(iterations), "--profile", profile, "--seed", String(seed), "--out", out, ...extra];
  if (data) args.push("--source", "replay", "--data", data);
  else if (regimeFile) args.push("--regime", path.basename(regimeFile));
  else args.push("--regime", regime);
  if (autoTune) args.push("--auto-tune");
  if (guardsOff.length) args.push("--guards-off", guardsOff.join(","));
  execFileSync(bin, args, { cwd: regimeFile ? path.dirname(regimeFile) : undefined, stdio: ["ignore", "ignore", "inherit"], env });
  return out;
}

/** `mmsoak sweep run FILE` (all shards, one worker) and `sweep merge`; returns the merged directory. */
export function cliSweep(file) {
  const dir = tempDir("mmsoak-web-sweep-");
  execFileSync(bin, ["sweep", "run", file, "--out", path.join(dir, "runs")], { stdio: ["ignore", "ignore", "inherit"], env });
  execFileSync(bin, ["sweep", "merge", path.join(dir, "runs"), "--out", path.join(dir, "merged")], { stdio: ["ignore", "ignore", "inherit"], env });
  return path.join(dir, "merged");
}

/** `mmsoak run --regime FILE` that must be refused: the message after `mmsoak: error: `. */
export function cliRefused(args, cwd) {
  try {
    execFileSync(bin, args, { cwd, stdio: ["ignore", "ignore", "pipe"], env });
  } catch (e) {
    return { code: e.status, error: String(e.stderr).trim().replace(/^mmsoak: error: /, "") };
  }
  return { code: 0, error: null };
}

/** `mmsoak serve --web dist --out out` on a free port; resolves to { url, stop }. */
export function serve(out) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ["serve", "--web", dist, "--out", out, "--addr", "127.0.0.1:0"], { env, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (chunk) => {
      err += chunk;
      const m = err.match(/http:\/\/127\.0\.0\.1:\d+\//);
      if (m) resolve({ url: m[0], stop: () => child.kill() });
    });
    child.on("exit", (code) => reject(new Error(`mmsoak serve exited ${code}: ${err}`)));
  });
}

export async function browser() {
  const context = await chromium.launchPersistentContext(tempDir("mmsoak-chromium-"), {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") errors.push(`console: ${m.text()}`); });
  return { context, page, errors };
}

/** Runs a what-if with configuration A set to these values; resolves to its files and ms. */
export const GUARDS = ["panic_revert", "freeze", "cooldown", "oscillation", "velocity"];

/** The real-data sample beside the checkout (../shared/data). */
export const realBars = path.join(root, "../shared/data/btcusd_bitstamp_1min_a.csv");

/** Real tick data beside the checkout (../shared/data): Tardis.dev CSVs, Binance captures and a LOBSTER pair (gzip). */
export const tickData = {
  tardis: ["binance-futures_quotes_2020-02-22_BTCUSDT_first9999.csv", "binance-futures_trades_2020-02-22_BTCUSDT_first9999.csv"]
    .map((f) => path.join(root, "../shared/data/tardis", f)),
  binance: ["btcusdt_20240718.gz", "btcusdt_20240719.gz"].map((f) => path.join(root, "../shared/data/binance_usdm_raw", f)),
  lobster: ["message", "orderbook"].map((k) => path.join(root, `../shared/data/lobster/AMZN_2012-06-21_34200000_57600000_${k}_5.csv.gz`)),
};

/** Command-line flags for a tick replay's exchange models (the what-if form's fields, by id suffix). */
const MODEL_FLAGS = { "queue-model": "--queue-model", latency: "--latency", "maker-fee": "--maker-fee-bps",
  "taker-fee": "--taker-fee-bps", "tick-size": "--tick-size" };

/**
 * `mmsoak run --source ticks --data FILE...` run in the files' directory with their
 * bare names, so the run records the names a browser knows (File.name). Returns the
 * output directory, or { error } with the message mmsoak printed when it refused.
 */
export function cliTicks({ profile, seed, iterations, iterationSeconds, autoTune = true, ticks, models = {} }, engine = "wasm") {
  const out = path.join(tempDir("mmsoak-web-ticks-"), "soak");
  const dir = path.dirname(ticks[0]);
  const args = ["run", "--source", "ticks", "--data", ...ticks.map((f) => path.basename(f)), "--iterations", String(iterations),
    "--iteration-seconds", String(iterationSeconds), "--profile", profile, "--seed", String(seed), "--out", out,
    "--engine", engine];
  if (autoTune) args.push("--auto-tune");
  for (const [field, value] of Object.entries(models)) args.push(MODEL_FLAGS[field], value);
  try {
    execFileSync(bin, args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"], env });
  } catch (e) {
    return { error: String(e.stderr).trim().replace(/^mmsoak: error: /, "") };
  }
  return out;
}

export async function whatIf(page, { profile, regime, seed, iterations, autoTune = true, guardsOff = [], data = null, ticks = null,
  iterationSeconds = 60, models = {}, regimeFile = null }, id = "A", { expectError = false } = {}) {
  await page.click("#tab-whatif");
  await page.waitForSelector("#core-identity:has-text('sha256')");
  await page.selectOption(`#${id}-profile`, profile);
  await page.selectOption(`#${id}-regime`, data ? "replay" : ticks ? "ticks" : regimeFile ? "fitted" : regime);
  if (regimeFile) {
    await page.setInputFiles(`#${id}-regime-file`, regimeFile);
    await page.locator(`label[for="${id}-regime-file"]`).filter({ hasText: `regime file: ${path.basename(regimeFile)}` }).waitFor();
  }
  if (data) {
    await page.setInputFiles(`#${id}-bars`, data);
    await page.locator(`label[for="${id}-bars"]:has-text("bars")`).filter({ hasText: /\d+ bars/ }).waitFor();
  }
  if (ticks) {
    await page.setInputFiles(`#${id}-ticks`, ticks);
    await page.locator(`label[for="${id}-ticks"]`).filter({ hasText: `tick files: ${ticks.map((f) => path.basename(f)).join(", ")}` }).waitFor();
    await page.fill(`#${id}-iteration-seconds`, String(iterationSeconds));
    await page.locator(`[data-config="${id}"] details:has(#${id}-queue-model)`).evaluate((d) => { d.open = true; });
    for (const field of Object.keys(MODEL_FLAGS)) await page.fill(`#${id}-${field}`, models[field] ?? "");
  }
  await page.fill(`#${id}-seed`, String(seed));
  await page.fill(`#${id}-iterations`, String(iterations));
  await page.setChecked(`#${id}-autotune`, autoTune);
  await page.locator(`[data-config="${id}"] details:has(#${id}-guard-freeze)`).evaluate((d) => { d.open = true; });
  for (const g of GUARDS) await page.setChecked(`#${id}-guard-${g}`, !guardsOff.includes(g));
  await page.evaluate((id) => {
    if (window.mmsoakRuns) delete window.mmsoakRuns[id];
    if (window.mmsoakErrors) delete window.mmsoakErrors[id];
  }, id);
  await page.click("#run");
  if (expectError) {
    // The run's own error (window.mmsoakErrors), then the page showing it, alone.
    await page.waitForFunction((id) => window.mmsoakErrors && window.mmsoakErrors[id], id, { timeout: 120_000 });
    const message = await page.evaluate((id) => window.mmsoakErrors[id], id);
    await page.locator(".whatif > p.error").filter({ hasText: message }).waitFor();
    return { error: message, shown: await page.locator(".whatif p.error").allTextContents() };
  }
  await page.waitForFunction((id) => window.mmsoakRuns && window.mmsoakRuns[id], id, { timeout: 120_000 });
  return page.evaluate((id) => ({ files: window.mmsoakRuns[id], ms: window.mmsoakTimings[id] }), id);
}
