// Drives Debian's chromium through playwright-core against a running Worldloom server and prints one JSON
// object with what it observed. Used by tests/test_viewer_browser.py and benchmarks/viewer_frames.py.
//   node drive.mjs check BASE_URL ADMIN_TOKEN OUT_DIR      spectator + admin checks, screenshots
//   node drive.mjs bench BASE_URL SECONDS OUT_DIR           frame times with whatever the server holds
//   node drive.mjs replay BASE_URL RUN OUT_DIR              open a recorded run, scrub to the first and last frame
import { chromium } from "playwright-core";

const [mode, base, arg, outDir] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => { if (!xs.length) return null; const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };

async function openPage(browser, url) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const logs = [];
  page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => logs.push(`pageerror: ${e.message} ${e.stack || ""}`));
  await page.goto(url);
  await page.waitForFunction(() => window.viewer && (window.viewer.ready || window.viewer.failed), null, { timeout: 30000 });
  const failed = await page.evaluate(() => window.viewer.failed || null);
  if (failed) throw new Error(`page failed: ${failed}\n${logs.join("\n")}`);
  return { page, logs };
}

const positions = (page) => page.evaluate(() => {
  const out = {};
  for (const [kind, d] of Object.entries(window.viewer.map.drawn)) {
    out[kind] = { n: d.n, ids: Array.from(d.ids.slice(0, d.n)), xs: Array.from(d.xs.slice(0, d.n)), ys: Array.from(d.ys.slice(0, d.n)) };
  }
  return out;
});

function moved(a, b) {
  let same = 0, count = 0;
  for (const kind of Object.keys(a)) {
    if (!b[kind]) continue;
    const at = new Map(a[kind].ids.map((id, i) => [id, [a[kind].xs[i], a[kind].ys[i]]]));
    b[kind].ids.forEach((id, i) => {
      const p = at.get(id);
      if (!p) return;
      same++;
      if (Math.hypot(p[0] - b[kind].xs[i], p[1] - b[kind].ys[i]) > 0.05) count++;
    });
  }
  return { common: same, moved: count };
}

async function check(browser) {
  const result = {};
  const { page: spec, logs } = await openPage(browser, `${base}/viewer/`);
  await spec.waitForFunction(() => Object.values(window.viewer.map.drawn).reduce((s, d) => s + d.n, 0) > 0, null, { timeout: 15000 });
  const p1 = await positions(spec);
  await spec.screenshot({ path: `${outDir}/spectator-1.png` });
  await sleep(1000);
  const p2 = await positions(spec);
  await spec.screenshot({ path: `${outDir}/spectator-2.png` });
  result.entities = Object.fromEntries(Object.entries(p2).map(([k, v]) => [k, v.n]));
  result.motion = moved(p1, p2);
  result.controlsText = await spec.textContent("#controls");
  result.spectatorAdmin = await spec.evaluate(async () => {
    try { await window.viewer.conn.call("admin.pause"); return { ok: true }; } catch (e) { return { ok: false, code: e.code, reason: e.reason }; }
  });
  const npcId = p2.npc && p2.npc.n ? p2.npc.ids[0] : 0;
  result.npcId = npcId;
  if (npcId) {
    await spec.evaluate((id) => window.viewer.inspectNpc(id), npcId);
    await spec.waitForFunction(() => window.viewer.state.inspect, null, { timeout: 5000 });
    result.inspect = await spec.evaluate(() => window.viewer.state.inspect);
    result.inspectorText = await spec.textContent("#inspector");
    await spec.screenshot({ path: `${outDir}/inspector.png` });
  }
  const settlement = await spec.evaluate(() => (window.viewer.map.settlements[0] || {}).name || null);
  if (settlement) {
    await spec.evaluate((n) => window.viewer.showSettlement(n), settlement);
    await spec.waitForFunction(() => window.viewer.state.settlement, null, { timeout: 5000 });
    result.settlement = await spec.evaluate(() => ({ name: window.viewer.state.settlement.name, samples: window.viewer.state.settlement.ticks.length }));
  }
  await spec.waitForFunction(() => window.viewer.state.quests !== undefined || document.getElementById("quests").textContent, null, { timeout: 5000 });
  result.questsText = await spec.textContent("#quests");
  result.directorText = await spec.textContent("#director");
  result.spectatorLogs = logs.filter((l) => l.startsWith("pageerror") || l.startsWith("error"));

  const { page: adm } = await openPage(browser, `${base}/viewer/?token=${encodeURIComponent(arg)}`);
  await adm.click("#c-pause");
  await adm.waitForFunction(() => window.viewer.state.lastAdmin && window.viewer.state.lastAdmin.method === "admin.pause", null, { timeout: 5000 });
  result.pause = await adm.evaluate(() => window.viewer.state.lastAdmin);
  const tickA = await adm.evaluate(async () => (await window.viewer.conn.call("viewer.metrics")).tick);
  await sleep(700);
  const tickB = await adm.evaluate(async () => (await window.viewer.conn.call("viewer.metrics")).tick);
  result.pausedTicks = [tickA, tickB];
  await adm.selectOption("#c-weather", { index: 1 });
  await adm.waitForFunction(() => window.viewer.state.lastAdmin.method === "admin.weather", null, { timeout: 5000 });
  result.weather = await adm.evaluate(() => window.viewer.state.lastAdmin);
  await adm.click("#c-resume");
  await adm.waitForFunction(() => window.viewer.state.lastAdmin.method === "admin.resume", null, { timeout: 5000 });
  await sleep(1200);
  await adm.screenshot({ path: `${outDir}/admin.png` });
  result.resumedTick = await adm.evaluate(async () => (await window.viewer.conn.call("viewer.metrics")).tick);
  return result;
}

async function bench(browser) {
  const seconds = Number(arg);
  const { page } = await openPage(browser, `${base}/viewer/`);
  await page.waitForFunction(() => Object.values(window.viewer.map.drawn).reduce((s, d) => s + d.n, 0) > 0, null, { timeout: 30000 });
  await page.evaluate(() => { const m = window.viewer.map; m.frameMs.length = 0; m.intervalMs.length = 0; window.viewer.conn.applyMs.length = 0; window.viewer.conn.snapshots0 = window.viewer.conn.snapshots; window.viewer.t0 = performance.now(); });
  await sleep(seconds * 1000);
  const r = await page.evaluate(() => {
    const m = window.viewer.map, c = window.viewer.conn;
    return { elapsed: (performance.now() - window.viewer.t0) / 1000, frameMs: m.frameMs.slice(), intervalMs: m.intervalMs.slice(), applyMs: c.applyMs.slice(), snapshots: c.snapshots - c.snapshots0,
      bad: c.badSnapshots, drawn: Object.values(m.drawn).reduce((s, d) => s + d.n, 0) };
  });
  await page.screenshot({ path: `${outDir}/bench.png` });
  return { seconds: r.elapsed, drawn: r.drawn, frames: r.frameMs.length, snapshots: r.snapshots, badSnapshots: r.bad,
    draw_ms: { p50: pct(r.frameMs, 50), p95: pct(r.frameMs, 95), max: pct(r.frameMs, 100) },
    frame_interval_ms: { p50: pct(r.intervalMs, 50), p95: pct(r.intervalMs, 95) },
    snapshot_apply_ms: { p50: pct(r.applyMs, 50), p95: pct(r.applyMs, 95), max: pct(r.applyMs, 100) } };
}

async function replay(browser) {
  const { page, logs } = await openPage(browser, `${base}/viewer/?replay=${encodeURIComponent(arg)}`);
  const frames = await page.evaluate(() => window.viewer.recording.frames.length);
  const at = async (i) => {
    await page.evaluate((k) => window.viewer.seek(k), i);
    await sleep(100);
    return page.evaluate(() => ({ tick: Number(document.getElementById("tick").textContent),
      scrub: Number(document.getElementById("scrub").value),
      drawn: Object.fromEntries(Object.entries(window.viewer.map.drawn).map(([k, d]) => [k, { n: d.n, x0: d.n ? d.xs[0] : null, id0: d.n ? d.ids[0] : null }])) }));
  };
  const first = await at(0);
  await page.screenshot({ path: `${outDir}/replay-first.png` });
  const last = await at(frames - 1);
  await page.screenshot({ path: `${outDir}/replay-last.png` });
  const metrics = await page.evaluate(() => window.viewer.state.replayMetrics || null);
  return { frames, first, last, metrics, errors: logs.filter((l) => l.startsWith("pageerror") || l.startsWith("error")) };
}

const browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
try {
  const out = mode === "bench" ? await bench(browser) : mode === "replay" ? await replay(browser) : await check(browser);
  console.log(JSON.stringify(out));
} finally {
  await browser.close();
}
