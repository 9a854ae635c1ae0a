// Drives the control room in headless Debian Chromium (playwright-core, no Playwright browser download)
// against running services. Started by tests/e2e/test_ui_e2e.py, which owns the services.
//
// Protocol with the Python side: one JSON object per stdout line.
//   {"event": "log", "message": ...}                      progress
//   {"event": "need", "action": "inject-surge", ...}      Python injects, then answers {"ok": true} on stdin
//   {"event": "result", ...checks}                        every check passed (exit 0)
//   {"event": "error", "message": ...}                    a check failed (exit 1; failure screenshot saved)
//
// Env: UI_URL, API_KEY (admin), VIEWER_KEY, SCREENSHOT (png path), FAILURE_SCREENSHOT, CHROMIUM (default /usr/bin/chromium).

import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
// playwright-core is a devDependency of the frontend (installed by `npm ci` there).
const require = createRequire(path.join(here, '..', '..', 'frontend', 'package.json'));
const { chromium } = require('playwright-core');

const UI_URL = process.env.UI_URL;
const API_KEY = process.env.API_KEY;
const VIEWER_KEY = process.env.VIEWER_KEY;
const SCREENSHOT = process.env.SCREENSHOT;
const FAILURE_SCREENSHOT = process.env.FAILURE_SCREENSHOT ?? SCREENSHOT.replace(/\.png$/, '-failure.png');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const WARMUP_SPEED = process.env.WARMUP_SPEED ?? '300';
const WATCH_SPEED = process.env.WATCH_SPEED ?? '60';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // WebGL2 through SwiftShader: deck.gl renders on the CPU in a GPU-less container.
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
];

const emit = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const log = (message) => emit({ event: 'log', message });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const stdinLines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();

/** Ask the Python side to do something only it can (write the live-state contract in Redis). */
async function need(action, details) {
  emit({ event: 'need', action, ...details });
  const { value, done } = await stdinLines.next();
  if (done) throw new Error(`no answer to ${action}`);
  const answer = JSON.parse(value);
  if (!answer.ok) throw new Error(`${action} failed on the test side: ${answer.error}`);
  return answer;
}

class CheckFailed extends Error {}

function check(condition, message) {
  if (!condition) throw new CheckFailed(message);
}

async function waitFor(what, probe, { timeoutMs = 30_000, intervalMs = 250 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await probe();
    if (last) return last;
    await sleep(intervalMs);
  }
  throw new CheckFailed(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}

const snapshot = (page) => page.evaluate(() => window.__rideshare?.snapshot() ?? null);
const domText = (page, testId) => page.locator(`[data-testid="${testId}"]`).innerText();

async function simState(page) {
  return (await domText(page, 'sim-state')).trim().toLowerCase();
}

async function setSpeed(page, speed) {
  await page.fill('[data-testid="speed-input"]', String(speed));
  await page.click('[data-testid="control-speed"]');
  await waitFor(`speed ${speed}×`, async () => (await page.evaluate(() => document.body.innerText)).includes(`now ${Number(speed).toFixed(1)}×`), {
    timeoutMs: 10_000,
  });
}

function movedDrivers(before, after) {
  let moved = 0;
  for (const [id, [lon, lat]] of Object.entries(before.drivers)) {
    const now = after.drivers[id];
    if (now && (Math.abs(now[0] - lon) > 1e-7 || Math.abs(now[1] - lat) > 1e-7)) moved += 1;
  }
  return moved;
}

/** Mean RGB of a small square of the rendered page around (x, y), decoded by the browser itself. */
async function pixel(page, x, y) {
  const half = 2;
  const png = await page.screenshot({ clip: { x: x - half, y: y - half, width: 2 * half + 1, height: 2 * half + 1 } });
  return page.evaluate(async (b64) => {
    const image = new Image();
    image.src = `data:image/png;base64,${b64}`;
    await image.decode();
    const canvas = document.createElement('canvas');
    canvas.width = image.width;
    canvas.height = image.height;
    const context = canvas.getContext('2d');
    context.drawImage(image, 0, 0);
    const data = context.getImageData(0, 0, image.width, image.height).data;
    const sum = [0, 0, 0];
    for (let i = 0; i < data.length; i += 4) for (let c = 0; c < 3; c += 1) sum[c] += data[i + c];
    const n = data.length / 4;
    return sum.map((v) => Math.round(v / n));
  }, png.toString('base64'));
}

/** A zone fully on screen, drawn by the surge layer at its centre, not under the legend, with no surge yet. */
async function pickVisibleZone(page) {
  return page.evaluate(() => {
    const hook = window.__rideshare;
    const current = hook.snapshot().surge;
    for (const zoneId of hook.zoneIds()) {
      if ((current[zoneId] ?? 1) > 1.2) continue;
      const centre = hook.zoneCenter(zoneId);
      const point = centre && hook.project(centre[0], centre[1]);
      if (!point) continue;
      const [x, y] = point.map(Math.round);
      const element = document.elementFromPoint(x, y);
      if (!element || element.tagName !== 'CANVAS') continue;
      if (hook.pickZone(x, y) !== zoneId) continue;
      return { zoneId, x, y };
    }
    return null;
  });
}

async function setLayer(page, layer, visible) {
  const box = page.locator(`[data-testid="layer-${layer}"]`);
  if ((await box.isChecked()) !== visible) await box.click();
}

async function run(page) {
  const results = {};

  await page.goto(`${UI_URL}/?key=${encodeURIComponent(API_KEY)}`);
  const first = await waitFor('the WebSocket snapshot', async () => {
    const s = await snapshot(page);
    return s && s.connection === 'open' && s.frames > 0 && s.state ? s : null;
  });
  log(`connected: state ${first.state}, ${first.frames} frame(s)`);
  await waitFor('the districts base layer', () => page.evaluate(() => window.__rideshare.zoneIds().length > 0), { timeoutMs: 15_000 });
  results.zones = await page.evaluate(() => window.__rideshare.zoneIds().length);
  check(first.state === 'created', `a fresh simulation should be "created", got ${first.state}`);
  check(await page.locator('[data-testid="control-pause"]').isDisabled(), 'Pause must be disabled before the start');

  // Start button.
  await page.click('[data-testid="control-start"]');
  await waitFor('state running after Start', async () => (await simState(page)) === 'running', { timeoutMs: 15_000 });
  results.started = true;
  log('started');

  // Warm up fast (drivers start their shifts over the early morning), then watch at a calmer speed.
  await setSpeed(page, WARMUP_SPEED);
  const busy = await waitFor(
    'drivers on the map, some of them on the move',
    async () => {
      const s = await snapshot(page);
      const drivers = Object.values(s.drivers);
      return drivers.length >= 3 && drivers.some(([, , status]) => status !== 'available') ? s : null;
    },
    { timeoutMs: 90_000, intervalMs: 500 },
  );
  log(`${Object.keys(busy.drivers).length} drivers on the map`);
  await setSpeed(page, WATCH_SPEED);

  // Moving drivers: positions differ between two reads of the app's state.
  let moved = 0;
  let before = await snapshot(page);
  for (let attempt = 0; attempt < 5 && moved === 0; attempt += 1) {
    await sleep(2500);
    const after = await snapshot(page);
    moved = movedDrivers(before, after);
    before = after;
  }
  check(moved > 0, 'no driver moved on the map between two reads 2.5 s apart');
  results.drivers_on_map = Object.keys(before.drivers).length;
  results.drivers_moved = moved;
  const domCount = Number((await domText(page, 'driver-count')).replace(/,/g, ''));
  check(Math.abs(domCount - results.drivers_on_map) <= 5, `the stats panel shows ${domCount} drivers, the map ${results.drivers_on_map}`);
  log(`${moved} driver(s) moved`);

  // Topology panel: the Faust worker's graph, proxied by the API.
  results.topology_nodes = await waitFor('the Faust topology graph', async () => {
    const n = await page.locator('[data-testid="topology-node"]').count();
    return n > 0 ? n : null;
  }, { timeoutMs: 20_000 });

  // Surge colours: hide what is drawn above the zones, inject a surge for one zone through the
  // live-state contract (Redis hash + channel), and read the rendered pixel before and after.
  for (const layer of ['drivers', 'riders', 'routes', 'density']) await setLayer(page, layer, false);
  await sleep(500);
  const zone = await waitFor('a zone visible on screen', () => pickVisibleZone(page), { timeoutMs: 10_000 });
  const colourBefore = await pixel(page, zone.x, zone.y);
  const simTimeMs = (await snapshot(page)).simTimeMs ?? Date.now();
  await need('inject-surge', { zone_id: zone.zoneId, multiplier: 3.0, window_end: simTimeMs + 3_600_000 });
  await waitFor(`surge 3.0 for zone ${zone.zoneId} in the app`, async () => (await snapshot(page)).surge[zone.zoneId] === 3, { timeoutMs: 15_000 });
  const layerColour = await page.evaluate((id) => window.__rideshare.zoneColor(id), zone.zoneId);
  check(JSON.stringify(layerColour) === JSON.stringify([215, 25, 28, 200]), `zone fill should be the 3.0× colour, got ${layerColour}`);
  const colourAfter = await waitFor(
    'the zone to be drawn in the surge colour',
    async () => {
      const c = await pixel(page, zone.x, zone.y);
      return c[0] - c[2] > colourBefore[0] - colourBefore[2] + 60 ? c : null;
    },
    { timeoutMs: 10_000, intervalMs: 300 },
  );
  results.surge = { zone: zone.zoneId, pixel_before: colourBefore, pixel_after: colourAfter };
  const hottest = await page.locator('.surge-list').innerText();
  check(hottest.includes('3.00×'), `the "Highest surge" list should show 3.00×, shows: ${hottest}`);
  log(`zone ${zone.zoneId} pixel ${colourBefore} -> ${colourAfter}`);
  for (const layer of ['drivers', 'riders', 'routes']) await setLayer(page, layer, true);

  // Click-to-inspect a driver: the inspector loads its details from the API.
  const inspected = await waitFor('a driver to inspect by clicking it', async () => {
    const target = await page.evaluate(() => {
      for (const [id, [lon, lat]] of Object.entries(window.__rideshare.snapshot().drivers)) {
        const point = window.__rideshare.project(lon, lat);
        if (point && document.elementFromPoint(point[0], point[1])?.tagName === 'CANVAS') return { id, x: point[0], y: point[1] };
      }
      return null;
    });
    if (!target) return null;
    await page.mouse.click(target.x, target.y);
    const panel = page.locator('[data-testid="inspector"]');
    if ((await panel.count()) === 0) return null;
    const text = await panel.innerText();
    return /^driver /i.test(text.trim()) && text.includes('dna') ? text.split('\n')[0] : null;
  }, { timeoutMs: 20_000, intervalMs: 1000 });
  results.inspected = inspected;

  // Two-phase pause: DRAINING, then PAUSED; simulated time stops.
  await page.click('[data-testid="control-pause"]');
  const seen = new Set();
  await waitFor('state paused after Pause', async () => {
    const state = await simState(page);
    seen.add(state);
    return state === 'paused';
  }, { timeoutMs: 60_000, intervalMs: 100 });
  results.pause_states = [...seen];
  const t1 = (await snapshot(page)).simTimeMs;
  await sleep(1500);
  const t2 = (await snapshot(page)).simTimeMs;
  check(t1 === t2, `simulated time kept moving while paused (${t1} -> ${t2})`);
  check(await page.locator('[data-testid="control-resume"]').isEnabled(), 'Resume must be enabled when paused');
  log(`paused (saw ${results.pause_states.join(' -> ')})`);

  await page.click('[data-testid="control-resume"]');
  await waitFor('state running after Resume', async () => (await simState(page)) === 'running', { timeoutMs: 15_000 });
  await waitFor('simulated time moving again', async () => ((await snapshot(page)).simTimeMs ?? 0) > t2, { timeoutMs: 15_000 });
  results.resumed = true;

  // A viewer key watches but may not control: the API answers 403 and the UI says why.
  const viewer = await page.context().newPage();
  await viewer.goto(`${UI_URL}/?key=${encodeURIComponent(VIEWER_KEY)}`);
  await waitFor('the viewer page to be live', async () => (await viewer.locator('[data-testid="sim-state"]').innerText()).trim() === 'running', {
    timeoutMs: 20_000,
  });
  await viewer.click('[data-testid="control-pause"]');
  results.viewer_message = await waitFor('the viewer to be told it may only watch', async () => {
    const text = await viewer.locator('.controls .error').innerText().catch(() => '');
    return text.includes('may only watch') ? text : null;
  }, { timeoutMs: 10_000 });
  await viewer.close();
  check((await simState(page)) === 'running', 'a viewer key must not pause the simulation');

  // The README screenshot: every layer on, inspector closed so the topology panel shows.
  await setLayer(page, 'density', true);
  await page.click('[data-testid="inspector"] button.close');
  await sleep(1500);
  fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT });
  results.screenshot = SCREENSHOT;
  return results;
}

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rideshare-e2e-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: CHROMIUM,
  headless: true,
  args: CHROMIUM_ARGS,
  viewport: { width: 1440, height: 900 },
});
const page = context.pages()[0] ?? (await context.newPage());
const pageErrors = [];
page.on('pageerror', (error) => pageErrors.push(error.message));
let exitCode = 0;
try {
  const results = await run(page);
  check(pageErrors.length === 0, `uncaught errors in the page: ${pageErrors.join('; ')}`);
  emit({ event: 'result', ...results });
} catch (error) {
  exitCode = 1;
  emit({ event: 'error', message: error instanceof Error ? error.message : String(error), page_errors: pageErrors });
  await page.screenshot({ path: FAILURE_SCREENSHOT }).catch(() => undefined);
} finally {
  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
  stdinLines.return?.();
}
process.exit(exitCode);
