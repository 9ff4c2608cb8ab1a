// The web app in a real browser: the viewer shows a real run correctly, the live
// feed follows it, a what-if run in the page writes byte-identical ITER_SUMMARY
// files to `mmsoak run` (simulated, replaying bars, replaying tick data), bad tick
// data gets the CLI's error, and A/B runs two configurations side by side.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { pathToFileURL } from "node:url";
import { browser, cliRefused, cliRun, cliSweep, root, cliTicks, evidence, realBars, serve, tempDir, tickData, whatIf } from "./harness.mjs";

const config = { profile: "aggressive", regime: "volatile", seed: 5, iterations: 12 };
const out = cliRun(config);
const latest = path.join(out, "latest");
const read = (f) => fs.readFileSync(path.join(out, f), "utf8");
fs.mkdirSync(evidence, { recursive: true });

const server = await serve(out);
const { context, page, errors } = await browser();
let failed = false;
async function check(name, body) {
  try {
    await body();
    console.log(`ok   ${name}`);
  } catch (e) {
    failed = true;
    console.log(`FAIL ${name}\n${e.stack ?? e}`);
    await page.screenshot({ path: path.join(evidence, `failed-${name.replace(/\W+/g, "-")}.png`), fullPage: true }).catch(() => {});
  }
}

try {
  await page.goto(server.url);

  await check("viewer shows every iteration and the final parameters of a real run", async () => {
    const files = fs.readdirSync(latest).filter((f) => /^(ITER_SUMMARY_\d+|TUNING_REPORT)\.json$/.test(f));
    await page.setInputFiles("#run-files", [...files.map((f) => path.join(latest, f)), path.join(out, "runtime_overrides.json")]);
    const run = page.locator("section.run");
    await run.waitFor();
    for (const chart of ["net_bps", "risk_ratio", "adverse_p95", "slippage_p95", "base_spread_bps", "impact_cap_ratio"]) {
      assert.equal(await run.locator(`figure[data-chart="${chart}"] circle`).count(), config.iterations, `${chart} points`);
    }
    const verdicts = await run.locator(".timeline .cell").evaluateAll((cells) => cells.map((c) => c.getAttribute("title")));
    const report = JSON.parse(read("latest/TUNING_REPORT.json"));
    assert.deepEqual(verdicts, report.rows.map((r) => `iteration ${r.iteration}: ${r.kpi_verdict}`));
    const shown = await run.locator("table.final-params tr[data-param]").evaluateAll((rows) =>
      Object.fromEntries(rows.map((r) => [r.dataset.param, Number(r.children[1].textContent)])));
    assert.deepEqual(shown, report.final_overrides);
    assert.deepEqual(shown, JSON.parse(read("runtime_overrides.json")));
    assert.match(await run.locator(".engine").textContent(), new RegExp(report.engine.core_sha256));
    await page.screenshot({ path: path.join(evidence, "viewer.png"), fullPage: true });
  });

  await check("bad files get one clear error", async () => {
    const bad = path.join(out, "..", "ITER_SUMMARY_1.json");
    fs.writeFileSync(bad, "{ not json");
    await page.setInputFiles("#run-files", [bad]);
    await page.locator(".viewer .error").waitFor();
    assert.match(await page.locator(".viewer .error").textContent(), /^ITER_SUMMARY_1\.json: /);
  });

  await check("the live feed of mmsoak serve shows the run", async () => {
    await page.click("#live");
    await page.locator("section.run[data-run='live: latest'] .timeline .cell").nth(config.iterations - 1).waitFor();
    assert.equal(await page.locator("section.run[data-run='live: latest'] .timeline .cell").count(), config.iterations);
  });

  await check("dropping a run's files on the viewer opens it", async () => {
    const files = fs.readdirSync(latest).filter((f) => /^ITER_SUMMARY_\d+\.json$/.test(f));
    const entries = files.map((f) => [f, fs.readFileSync(path.join(latest, f), "utf8")]);
    const dataTransfer = await page.evaluateHandle((entries) => {
      const dt = new DataTransfer();
      for (const [name, text] of entries) dt.items.add(new File([text], name, { type: "application/json" }));
      return dt;
    }, entries);
    await page.dispatchEvent(".dropzone", "drop", { dataTransfer });
    const run = page.locator("section.run[data-run='opened run']");
    await run.locator(".timeline .cell").nth(config.iterations - 1).waitFor();
    assert.equal(await run.locator("figure[data-chart='risk_ratio'] circle").count(), config.iterations);
    // Without TUNING_REPORT or runtime_overrides.json the last iteration's parameters are shown, and said so.
    assert.match(await run.locator("table.final-params caption").textContent(), /last iteration/);
  });

  await check("a what-if in the browser writes the CLI's bytes", async () => {
    const { files, ms } = await whatIf(page, config);
    for (let i = 1; i <= config.iterations; i++) {
      const name = `latest/ITER_SUMMARY_${i}.json`;
      assert.ok(files[name] === read(name), `${name} differs from mmsoak run's`);
    }
    for (const name of ["latest/TUNING_STATE.json", "runtime_overrides.json"]) {
      assert.ok(files[name] === read(name), `${name} differs from mmsoak run's`);
    }
    const web = JSON.parse(files["latest/TUNING_REPORT.json"]);
    const cli = JSON.parse(read("latest/TUNING_REPORT.json"));
    assert.equal(web.engine.core_sha256, cli.engine.core_sha256, "the page ran other core bytes than the CLI");
    assert.match(web.engine.runtime, /^browser /);
    delete web.engine;
    delete cli.engine;
    assert.deepEqual(web, cli);
    const shownSha = await page.locator("#core-identity").textContent();
    assert.ok(shownSha.includes(cli.engine?.core_sha256 ?? JSON.parse(read("latest/TUNING_REPORT.json")).engine.core_sha256));
    const result = page.locator("[data-result='A'] section.run");
    assert.equal(await result.locator("figure[data-chart='net_bps'] circle").count(), config.iterations);
    console.log(`     (${config.iterations} iterations in ${(ms / 1000).toFixed(2)} s)`);
    await page.screenshot({ path: path.join(evidence, "whatif.png"), fullPage: true });
  });

  // Every artifact of a run, byte for byte; TUNING_REPORT.json but its engine record
  // (which runtime ran the core), whose core bytes must be the same all the same.
  const engineRecord = /\n  "engine": \{[^}]*\},\n/;
  const coreSha = (text) => text.match(engineRecord)[0].match(/"core_sha256": "(\w+)"/)[1];
  function sameArtifacts(files, dir, what) {
    for (const [name, text] of Object.entries(files)) {
      const want = fs.readFileSync(path.join(dir, name), "utf8");
      if (name === "latest/TUNING_REPORT.json") {
        assert.equal(coreSha(text), coreSha(want), `${what}: another core's bytes`);
        assert.ok(text.replace(engineRecord, "\n") === want.replace(engineRecord, "\n"), `${name} differs from ${what}'s`);
      } else {
        assert.ok(text === want, `${name} differs from ${what}'s`);
      }
    }
  }

  // The Tardis.dev CSVs gzipped, the trades in two gzip members that part mid-line
  // (`cat a.gz b.gz`): the CLI reads on across members, and so must the page.
  const multiMember = (() => {
    const dir = tempDir("mmsoak-gz-members-");
    const [quotes, trades] = tickData.tardis.map((f) => fs.readFileSync(f));
    const cut = Math.floor(trades.length / 2) + 17;
    fs.writeFileSync(path.join(dir, "quotes.csv.gz"), zlib.gzipSync(quotes));
    fs.writeFileSync(path.join(dir, "trades.csv.gz"),
      Buffer.concat([zlib.gzipSync(trades.subarray(0, cut)), zlib.gzipSync(trades.subarray(cut))]));
    return ["quotes.csv.gz", "trades.csv.gz"].map((f) => path.join(dir, f));
  })();

  // Real tick data replayed in the page (files picked, gzip through DecompressionStream)
  // against `mmsoak run --source ticks` on the same files, under wasmtime and natively.
  for (const c of [
    { name: "Tardis.dev CSVs", profile: "aggressive", seed: 1, iterations: 3, iterationSeconds: 60, ticks: tickData.tardis },
    { name: "Binance captures (.gz)", profile: "aggressive", seed: 1, iterations: 8, iterationSeconds: 60, ticks: tickData.binance,
      models: { "queue-model": "risk-averse", latency: "constant:10:30" } },
    { name: "a LOBSTER message + orderbook pair (.gz)", profile: "aggressive", seed: 1, iterations: 3, iterationSeconds: 60,
      ticks: tickData.lobster },
    { name: "Tardis.dev CSVs gzipped in several members", profile: "steady_safe", seed: 1, iterations: 3, iterationSeconds: 60,
      ticks: multiMember, autoTune: false },
  ]) {
    await check(`a tick replay of ${c.name} in the browser = mmsoak run --source ticks, wasmtime and native`, async () => {
      const wasmtime = cliTicks(c);
      const native = cliTicks(c, "native");
      assert.equal(typeof wasmtime, "string", `mmsoak run refused: ${wasmtime.error}`);
      const { files, ms } = await whatIf(page, c);
      assert.deepEqual(Object.keys(files).sort(), [
        ...Array.from({ length: c.iterations }, (_, i) => `latest/ITER_SUMMARY_${i + 1}.json`),
        "latest/TUNING_REPORT.json", "latest/TUNING_STATE.json", "latest/TUNING_STATE.prev.json", "runtime_overrides.json",
      ].sort());
      sameArtifacts(files, wasmtime, "mmsoak run (wasmtime)");
      sameArtifacts(files, native, "mmsoak run --engine native");
      // The i64 nanoseconds JavaScript cannot hold went through untouched (LOBSTER's
      // count from midnight), and the data was really replayed.
      const report = files["latest/TUNING_REPORT.json"];
      assert.match(report, /"source": "ticks"/);
      if (c.ticks !== tickData.lobster) {
        assert.match(report, /"start_ns": 1\d{18},/);
        assert.match(files["latest/ITER_SUMMARY_1.json"], /"window_start_ns": 1\d{18},/);
      }
      assert.doesNotMatch(files["latest/ITER_SUMMARY_1.json"], /"market_trades": 0,/);
      const note = await page.locator("[data-result='A'] .data-note").textContent();
      assert.match(note, /^tick data: \d+ events \(\d+ trades\)/);
      console.log(`     (${c.iterations} × ${c.iterationSeconds} s of ticks in ${(ms / 1000).toFixed(2)} s)`);
      await page.screenshot({ path: path.join(evidence, `whatif-ticks-${c.name.replace(/\W+/g, "-")}.png`), fullPage: true });
    });
  }

  // Bad tick data: one error in the page naming the file and the line, in the CLI's words.
  const spoiled = (name, spoil) => {
    const dir = tempDir("mmsoak-bad-ticks-");
    const files = tickData.tardis.map((f) => path.join(dir, path.basename(f)));
    fs.copyFileSync(tickData.tardis[0], files[0]);
    const lines = fs.readFileSync(tickData.tardis[1]).toString("latin1").split("\n");
    lines[4999] = spoil(lines[4999]);
    fs.writeFileSync(files[1], Buffer.from(lines.join("\n"), "latin1"));
    return { name, files };
  };
  for (const bad of [
    spoiled("a value out of place", (l) => l.replace(/,(buy|sell),/, ",sideways,")),
    spoiled("bytes that are not UTF-8", (l) => l.replace("BTCUSDT", "BTC\xe9USDT")),
  ]) {
    await check(`bad tick data (${bad.name}) gets one clear error naming the file and line, as the CLI's`, async () => {
      const c = { profile: "aggressive", seed: 1, iterations: 3, iterationSeconds: 60, ticks: bad.files };
      const cli = cliTicks(c);
      assert.equal(typeof cli, "object", "mmsoak run accepted bad data");
      assert.match(cli.error, /^binance-futures_trades_2020-02-22_BTCUSDT_first9999\.csv: line 5000: /);
      const { error, shown } = await whatIf(page, c, "A", { expectError: true });
      assert.equal(error, cli.error);
      assert.deepEqual(shown, [cli.error]);
      await page.screenshot({ path: path.join(evidence, `whatif-ticks-bad-${bad.name.replace(/\W+/g, "-")}.png`), fullPage: true });
    });
  }

  await check("tick files the page cannot replay get one clear error naming the file", async () => {
    // A LOBSTER message file needs its orderbook file picked with it.
    const c = { profile: "aggressive", seed: 1, iterations: 3, iterationSeconds: 60, ticks: [tickData.lobster[0]] };
    let { error } = await whatIf(page, c, "A", { expectError: true });
    assert.match(error, /^AMZN_2012-06-21_34200000_57600000_message_5\.csv\.gz: LOBSTER message file without its orderbook file/);
    // A gzip file cut short.
    const dir = tempDir("mmsoak-cut-gz-");
    const cut = path.join(dir, path.basename(tickData.binance[1]));
    const bytes = fs.readFileSync(tickData.binance[1]);
    fs.writeFileSync(cut, bytes.subarray(0, bytes.length >> 1));
    ({ error } = await whatIf(page, { ...c, ticks: [cut] }, "A", { expectError: true }));
    assert.match(error, /^btcusdt_20240719\.gz: line \d+: the gzip stream is truncated$/);
    assert.equal(error, cliTicks({ ...c, ticks: [cut] }).error, "not the CLI's words");
  });

  // Bytes after a gzip file's last member (zero padding, garbage), a member after it cut
  // short or not gzip, a spoiled checksum: the CLI refuses them all (cli/src/data/gz.rs),
  // naming the file, the line and what is wrong (where trailing bytes start); the page
  // too, word for word, though Chromium's DecompressionStream calls them all junk or
  // truncated and drops what it had not handed out.
  const gzipped = fs.readFileSync(tickData.binance[1]);
  const lines = zlib.gunzipSync(gzipped);
  const more = zlib.gzipSync(lines.subarray(0, 5000));
  const spoiledCrc = Buffer.from(gzipped);
  spoiledCrc[spoiledCrc.length - 8] ^= 0xff;
  const at = (n) => `trailing bytes after the end of the gzip stream at byte ${n}: `;
  for (const [what, bytes, words] of [
    ["zero padding", Buffer.concat([gzipped, Buffer.alloc(4096)]), at(gzipped.length) + `"${"\\x00".repeat(16)}"… is not gzip data`],
    ["garbage", Buffer.concat([gzipped, Buffer.from("garbage\n")]), at(gzipped.length) + '"garbage\\n" is not gzip data'],
    ["another member, then zeros", Buffer.concat([gzipped, more, Buffer.alloc(7)]),
      at(gzipped.length + more.length) + `"${"\\x00".repeat(7)}" is not gzip data`],
    ["another member cut short", Buffer.concat([gzipped, more.subarray(0, more.length >> 1)]), "the gzip stream is truncated"],
    ["bytes that start like a member", Buffer.concat([gzipped, Buffer.from([0x1f, 0x8b, 0, 0, 0, 0, 0, 0, 0, 0])]), "invalid gzip header"],
    ["a spoiled checksum", spoiledCrc, "corrupt gzip stream does not have a matching checksum"],
  ]) {
    await check(`a gzip file with ${what} gets the CLI's error, word for word`, async () => {
      const file = path.join(tempDir("mmsoak-gz-end-"), path.basename(tickData.binance[1]));
      fs.writeFileSync(file, bytes);
      const c = { profile: "aggressive", seed: 1, iterations: 3, iterationSeconds: 60, ticks: [file] };
      const cli = cliTicks(c);
      assert.equal(typeof cli, "object", "mmsoak run accepted it");
      assert.match(cli.error, /^btcusdt_20240719\.gz: line \d+: /);
      assert.equal(cli.error.replace(/^.*?: line \d+: /, ""), words);
      const { error, shown } = await whatIf(page, c, "A", { expectError: true });
      assert.equal(error, cli.error);
      assert.deepEqual(shown, [cli.error]);
    });
  }

  // The cases scripts/windows-check.sh compares across Linux native, Linux wasmtime
  // and Windows wasmtime: the browser makes it four ways.
  for (const c of [
    { profile: "aggressive", regime: "mixed", seed: 7, iterations: 8 },
    { profile: "steady_safe", regime: "volatile", seed: 1, iterations: 8 },
    { profile: "ultra_safe", regime: "flash_crash", seed: 42, iterations: 8 },
    { profile: "aggressive", regime: "liquidity_gap", seed: 5, iterations: 8 },
    { profile: "aggressive", regime: "volatile", seed: 3, iterations: 8, autoTune: false },
    // Real Bitstamp BTC/USD bars replayed, as `mmsoak run --source replay --data`.
    { profile: "aggressive", regime: "calm", seed: 11, iterations: 8, data: realBars },
    // The main run's configuration with three guards off: a different run, still the CLI's bytes.
    { ...config, guardsOff: ["cooldown", "oscillation", "freeze"] },
  ]) {
    const variant = (c.autoTune === false ? " untuned" : "") + (c.guardsOff ? ` without ${c.guardsOff.join(",")}` : "") +
      (c.data ? " replaying real bars" : "");
    await check(`browser = CLI for seed ${c.seed} ${c.regime} ${c.profile}${variant}`, async () => {
      const cli = cliRun(c);
      const { files } = await whatIf(page, c);
      const names = Object.keys(files).filter((n) => n !== "latest/TUNING_REPORT.json");
      if (c.guardsOff) assert.notEqual(files["runtime_overrides.json"], read("runtime_overrides.json"), "switching guards off changed nothing");
      assert.equal(names.length, c.iterations + 3);
      for (const name of names) {
        assert.ok(files[name] === fs.readFileSync(path.join(cli, name), "utf8"), `${name} differs`);
      }
    });
  }

  // A market fitted to the Bitstamp sample (`mmsoak market fit`), picked as a file.
  const fitted = path.join(import.meta.dirname, "btcusd_bitstamp_fitted.json");
  await check("a fitted regime file in the browser = mmsoak run --regime FILE, native and wasmtime", async () => {
    const c = { profile: "aggressive", seed: 3, iterations: 8, regimeFile: fitted };
    const native = cliRun(c, ["--engine", "native"]);
    const wasmtime = cliRun(c);
    const { files } = await whatIf(page, c);
    assert.equal(Object.keys(files).length, c.iterations + 4);
    sameArtifacts(files, native, "mmsoak run --regime FILE --engine native");
    sameArtifacts(files, wasmtime, "mmsoak run --regime FILE");
    const report = files["latest/TUNING_REPORT.json"];
    assert.match(report, /"regime": "btcusd_bitstamp_fitted\.json",/);
    assert.match(report, /"regime_spec": \{\n\s+"vol_bps_per_sqrt_s": 0\.444439,/);
    // The fitted numbers are what ran: calm (the numbers a fitted regime starts from) differs.
    const calm = cliRun({ ...c, regimeFile: null, regime: "calm" });
    assert.notEqual(files["latest/ITER_SUMMARY_1.json"], fs.readFileSync(path.join(calm, "latest/ITER_SUMMARY_1.json"), "utf8"));
    // The file's name, origin and key numbers are shown.
    const table = page.locator("[data-config='A'] table.regime-file");
    assert.equal(await table.locator("caption").textContent(), "btcusd_bitstamp_fitted (fitted from btcusd_bitstamp_1min_a.csv)");
    assert.match(await table.textContent(), /volatility \(bps\/√s\)0\.444439/);
    await page.screenshot({ path: path.join(evidence, "whatif-regime-file.png"), fullPage: true });
  });

  await check("a bad regime file gets one clear error naming the field and value, as mmsoak run's", async () => {
    const dir = tempDir("mmsoak-bad-regime-");
    const text = fs.readFileSync(fitted, "utf8");
    for (const [name, spoilt, want] of [
      ["branching.json", text.replace('"hawkes_branching": 0.3', '"hawkes_branching": 1.5'),
        "spec.hawkes_branching = 1.5: must be between 0 and 0.99"],
      ["depth.json", text.replace('"top_depth": 2.0', '"top_depth": "deep"'), 'spec.top_depth = "deep": expected a number'],
      ["schema.json", text.replace("mmsoak.regime/1", "mmsoak.regime/2"), 'schema "mmsoak.regime/2": expected "mmsoak.regime/1"'],
    ]) {
      fs.writeFileSync(path.join(dir, name), spoilt);
      const cli = cliRefused(["run", "--regime", name, "--iterations", "1", "--out", path.join(dir, "soak")], dir);
      assert.equal(cli.code, 2, `mmsoak run --regime ${name}: exit ${cli.code}`);
      assert.equal(cli.error, `--regime ${name}: ${want}`);
      await page.click("#tab-whatif");
      await page.selectOption("#A-regime", "fitted");
      await page.setInputFiles("#A-regime-file", path.join(dir, name));
      const shown = page.locator("[data-config='A'] .error");
      await shown.filter({ hasText: name }).waitFor();
      assert.deepEqual(await shown.allTextContents(), [`${name}: ${want}`]);
      assert.equal(await page.locator("[data-config='A'] table.regime-file").count(), 0, "a bad file's numbers shown");
    }
    // Running without a good file says what is missing; nothing runs.
    await page.click("#run");
    await page.locator(".whatif > p.error").filter({ hasText: "choose a regime file" }).waitFor();
    await page.screenshot({ path: path.join(evidence, "whatif-regime-file-bad.png"), fullPage: true });
    await page.selectOption("#A-regime", "calm");
  });

  // `mmsoak run --export-html`: one file, opened from disk with every request refused.
  await check("the HTML report opens offline with every chart and the threshold section", async () => {
    const dir = tempDir("mmsoak-html-");
    const html = path.join(dir, "report.html");
    cliRun({ ...config, iterations: 8 }, ["--compare-baseline", "--export-html", html, "--export-md", path.join(dir, "report.md")]);
    const charts = fs.readdirSync(path.join(dir, "report_charts")).length;
    const offline = await context.newPage();
    const url = pathToFileURL(html).href;
    // Every request is refused but the report file itself.
    const requested = [];
    await offline.route("**/*", (route) => {
      if (route.request().url() === url) return route.continue();
      requested.push(route.request().url());
      return route.abort();
    });
    const pageErrors = [];
    offline.on("pageerror", (e) => pageErrors.push(e.message));
    offline.on("requestfailed", (r) => requested.push(r.url()));
    await offline.goto(url);
    assert.ok(charts >= 10, `${charts} charts`);
    assert.equal(await offline.locator("figure[data-chart] svg").count(), charts);
    for (const svg of await offline.locator("figure[data-chart] svg").all()) {
      const box = await svg.boundingBox();
      assert.ok(box && box.width > 300 && box.height > 50, "a chart is not drawn");
    }
    assert.ok(await offline.locator("h2", { hasText: "Thresholds" }).isVisible());
    assert.equal(await offline.locator("p.thresholds").textContent(), "No thresholds.");
    assert.equal(await offline.locator(".timeline .cell").count(), 8);
    assert.ok(await offline.locator("table.baseline").isVisible());
    assert.equal(await offline.locator("table.iterations tr").count(), 9);
    assert.deepEqual(requested, [], "the report asked the network for something");
    assert.deepEqual(pageErrors, []);
    await offline.screenshot({ path: path.join(evidence, "html-report.png"), fullPage: true });
    await offline.close();
  });

  await check("A/B runs two configurations side by side", async () => {
    await page.setChecked("#ab", true);
    await page.selectOption("#B-profile", "ultra_safe");
    await page.selectOption("#B-regime", "volatile");
    await page.fill("#B-seed", "5");
    await page.fill("#B-iterations", "12");
    await page.evaluate(() => { delete window.mmsoakRuns.A; delete window.mmsoakRuns.B; });
    await page.click("#run");
    await page.waitForFunction(() => window.mmsoakRuns.A && window.mmsoakRuns.B, null, { timeout: 120_000 });
    const [a, b] = await page.evaluate(() => [window.mmsoakRuns.A, window.mmsoakRuns.B]);
    assert.notEqual(a["latest/ITER_SUMMARY_1.json"], b["latest/ITER_SUMMARY_1.json"]);
    assert.equal(await page.locator("[data-result] section.run").count(), 2);
    await page.screenshot({ path: path.join(evidence, "whatif-ab.png"), fullPage: true });
  });

  // `mmsoak sweep merge` output opened in the sweep tab: every run in a sortable
  // table, the Pareto chart with every scenario, an effect table per varied axis.
  await check("the sweep tab opens a merged sweep: sortable runs, Pareto chart, effects", async () => {
    const merged = cliSweep(path.join(root, "examples/sweeps/small.toml"));
    const summary = JSON.parse(fs.readFileSync(path.join(merged, "summary.json"), "utf8"));
    const runs = fs.readFileSync(path.join(merged, "results.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    await page.click("#tab-sweep");
    await page.setInputFiles("#sweep-files", [path.join(merged, "summary.json"), path.join(merged, "results.jsonl")]);
    const view = page.locator("section.sweep-view");
    await view.waitFor();
    assert.match(await view.locator(".headline").textContent(),
      new RegExp(`^${summary.runs} runs .* rescue ${summary.rescue.count}/${summary.rescue.of} .* harm ${summary.harm.count}/${summary.harm.of}`));
    assert.equal(await view.locator("table.runs tbody tr").count(), runs.length);
    const column = async (name) => {
      const k = await view.locator("table.runs thead th").evaluateAll((ths, n) => ths.findIndex((t) => t.dataset.column === n), name);
      return view.locator(`table.runs tbody tr td:nth-child(${k + 1})`).allTextContents();
    };
    assert.deepEqual((await column("index")).map(Number), runs.map((r) => r.index));
    await view.locator('th[data-column="net_bps_mean"] button').click();
    const asc = (await column("net_bps_mean")).map(Number);
    assert.deepEqual(asc, [...asc].sort((a, b) => a - b), "ascending after one click");
    assert.equal(await view.locator('th[data-column="net_bps_mean"]').getAttribute("aria-sort"), "ascending");
    await view.locator('th[data-column="net_bps_mean"] button').click();
    const desc = (await column("net_bps_mean")).map(Number);
    assert.deepEqual(desc, [...asc].sort((a, b) => b - a), "descending after two");
    assert.equal(desc[0].toFixed(2), Math.max(...runs.map((r) => r.net_bps_mean)).toFixed(2));
    await view.locator('th[data-column="label"] button').click();
    const labels = await column("label");
    assert.deepEqual(labels, [...labels].sort());
    const pareto = view.locator('figure[data-chart="pareto"] svg');
    assert.equal(await pareto.locator("circle").count(), summary.scenarios.length);
    assert.equal(await pareto.locator('circle[fill="#1a7f37"]').count(), summary.pareto.length);
    for (const p of summary.pareto) {
      assert.equal(await pareto.locator(`circle[fill="#1a7f37"][data-label="${p.label}"]`).count(), 1, `front: ${p.label}`);
    }
    assert.deepEqual(await view.locator("table.effect").evaluateAll((t) => t.map((x) => x.dataset.axis)).then((a) => a.sort()),
      summary.effects.map((e) => e.axis).sort());
    await page.screenshot({ path: path.join(evidence, "sweep.png"), fullPage: true });
    await page.setInputFiles("#sweep-files", [path.join(merged, "summary.json")]);
    await page.locator(".sweep .error").waitFor();
    assert.match(await page.locator(".sweep .error").textContent(), /choose summary\.json and results\.jsonl/);
  });

  await check("no errors in the page", async () => assert.deepEqual(errors, []));
} finally {
  await context.close();
  server.stop();
}
console.log(`screenshots in ${evidence}`);
process.exit(failed ? 1 : 0);
