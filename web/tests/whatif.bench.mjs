// Measures (prints, never asserts) a 96-iteration what-if in headless Chromium:
// the worker's wall time from start to TUNING_REPORT, best of 3.
import { browser, cliRun, serve, whatIf } from "./harness.mjs";

const config = { profile: "steady_safe", regime: "volatile", seed: 1, iterations: 96 };
const server = await serve(cliRun({ ...config, iterations: 1 }));
const { context, page } = await browser();
try {
  await page.goto(server.url);
  const times = [];
  for (let k = 0; k < 3; k++) times.push((await whatIf(page, config)).ms);
  console.log(`96-iteration what-if (volatile) in headless Chromium: ${times.map((t) => (t / 1000).toFixed(2)).join(" s, ")} s; best ${(Math.min(...times) / 1000).toFixed(2)} s`);
} finally {
  await context.close();
  server.stop();
}
