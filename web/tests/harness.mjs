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

/** `mmsoak run` with these settings into a fresh directory; returns it. */
export function cliRun({ profile, regime, seed, iterations, autoTune = true, guardsOff = [], data = null }) {
  const out = path.join(tempDir("mmsoak-web-run-"), "soak");
  const args = ["run", "--iterations", String(iterations), "--profile", profile, "--seed", String(seed), "--out", out];
  if (data) args.push("--source", "replay", "--data", data);
  else args.push("--regime", regime);
  if (autoTune) args.push("--auto-tune");
  if (guardsOff.length) args.push("--guards-off", guardsOff.join(","));
  execFileSync(bin, args, { stdio: ["ignore", "ignore", "inherit"], env });
  return out;
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

export async function whatIf(page, { profile, regime, seed, iterations, autoTune = true, guardsOff = [], data = null }, id = "A") {
  await page.click("#tab-whatif");
  await page.waitForSelector("#core-identity:has-text('sha256')");
  await page.selectOption(`#${id}-profile`, profile);
  await page.selectOption(`#${id}-regime`, data ? "replay" : regime);
  if (data) {
    await page.setInputFiles(`#${id}-bars`, data);
    await page.locator(`label[for="${id}-bars"]:has-text("bars")`).filter({ hasText: /\d+ bars/ }).waitFor();
  }
  await page.fill(`#${id}-seed`, String(seed));
  await page.fill(`#${id}-iterations`, String(iterations));
  await page.setChecked(`#${id}-autotune`, autoTune);
  await page.locator(`[data-config="${id}"] details:has(#${id}-guard-freeze)`).evaluate((d) => { d.open = true; });
  for (const g of GUARDS) await page.setChecked(`#${id}-guard-${g}`, !guardsOff.includes(g));
  await page.evaluate((id) => { if (window.mmsoakRuns) delete window.mmsoakRuns[id]; }, id);
  await page.click("#run");
  await page.waitForFunction((id) => window.mmsoakRuns && window.mmsoakRuns[id], id, { timeout: 120_000 });
  return page.evaluate((id) => ({ files: window.mmsoakRuns[id], ms: window.mmsoakTimings[id] }), id);
}
