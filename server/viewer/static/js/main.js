// Wires the page: connect (spectator, or admin with ?token=), terrain, live map, panels, controls, replay.
// Test hooks: window.viewer exposes the connection, the map and the last answers (tests/test_viewer_browser.py).
import { Connection, RpcFailure } from "./connection.js";
import { WorldMap, ROLE_COLORS } from "./map.js";
import { LineChart } from "./charts.js";
import { parseRecording, replayFrame } from "./replay.js";
import { f64 } from "./msgpack.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const state = { inspect: null, settlement: null, metrics: null, summary: null, errors: [], notices: [], lastAdmin: null };
window.viewer = { state, ready: false };

function status(text, bad = false) { const el = $("status"); el.textContent = text; el.className = bad ? "bad" : ""; }
function esc(s) { return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c])); }
function bar(label, v) {
  const pct = Math.round(Math.max(0, Math.min(1, v)) * 100);
  return `<div class="bar"><span>${esc(label)}</span><div><i style="width:${pct}%"></i></div><b>${v.toFixed(2)}</b></div>`;
}

function resize(map) {
  const c = map.canvas, r = c.parentElement.getBoundingClientRect();
  c.width = Math.max(200, Math.floor(r.width)); c.height = Math.max(200, Math.floor(r.height));
}

async function loadTerrain(conn, map) {
  const first = await conn.call("viewer.terrain", { chunk: 0 });
  const n = first.n, biome = new Uint8Array(n * n), shade = new Uint8Array(n * n);
  const put = (c) => { biome.set(c.biome, c.row0 * n); shade.set(c.shade, c.row0 * n); };
  put(first);
  for (let i = 1; i < first.chunks; i++) put(await conn.call("viewer.terrain", { chunk: i }));
  map.setTerrain(first, biome, shade);
  return first;
}

function renderInspect(d) {
  const needs = Object.entries(d.needs || {}).map(([k, v]) => bar(k, v)).join("");
  const scores = [...(d.scores || [])].sort((a, b) => b.score - a.score).slice(0, 6).map((s) => `<li><b>${esc(s.action)}</b> ${Number(s.score).toFixed(3)}<ul>${
    (s.considerations || []).map((c) => `<li>${esc(c.input)} = ${Number(c.value).toFixed(2)} → ${esc(c.curve)} → ${Number(c.score).toFixed(2)}</li>`).join("")}</ul></li>`).join("");
  const memories = (d.memories || []).slice(0, 12).map((m) => `<li>${esc(m.kind)} ${esc(m.subject)}→${esc(m.object)} (salience ${Number(m.salience).toFixed(2)}, tick ${m.tick}, ${m.hops} hops)</li>`).join("");
  const carry = Object.entries(d.carry || {}).map(([g, u]) => `${esc(g)} ${Number(u).toFixed(1)}`).join(", ") || "nothing";
  return `<h3>${esc(d.name)} <small>#${d.id}</small></h3>
    <p>${esc(d.role)} · faction <b>${esc(d.faction)}</b> · home ${esc(d.town ?? d.home)}<br>health ${Number(d.health).toFixed(2)} · coins ${Number(d.coins).toFixed(1)} · carries ${carry}</p>
    <p>doing <b class="action">${esc(d.action?.name)}</b> (score ${Number(d.action?.score ?? 0).toFixed(3)}, since tick ${d.action?.since_tick})</p>
    <h4>Needs</h4>${needs}<h4>Utility</h4><ul class="scores">${scores}</ul>
    <h4>Relationships</h4><canvas id="relgraph" width="300" height="180"></canvas><h4>Memories</h4><ul>${memories}</ul>`;
}

function drawRelations(d) {
  const c = $("relgraph");
  if (!c) return;
  const ctx = c.getContext("2d"), rel = (d.relations || []).slice(0, 12);
  ctx.fillStyle = "#161b22"; ctx.fillRect(0, 0, c.width, c.height);
  const cx = c.width / 2, cy = c.height / 2;
  rel.forEach((r, i) => {
    const a = (2 * Math.PI * i) / Math.max(1, rel.length), x = cx + Math.cos(a) * 70, y = cy + Math.sin(a) * 62;
    ctx.strokeStyle = r.affinity >= 0 ? "#3fb950" : "#f85149"; ctx.lineWidth = 1 + 3 * Math.abs(r.affinity);
    ctx.beginPath(); ctx.moveTo(cx, cy); ctx.lineTo(x, y); ctx.stroke();
    ctx.fillStyle = "#c9d1d9"; ctx.font = "10px sans-serif"; ctx.textAlign = "center"; ctx.fillText(r.name, x, y + (y > cy ? 12 : -4));
  });
  ctx.fillStyle = "#ffcc33"; ctx.beginPath(); ctx.arc(cx, cy, 6, 0, 2 * Math.PI); ctx.fill();
}

async function inspectNpc(conn, map, id) {
  map.selected = id;
  $("inspector").innerHTML = `<p>inspecting #${id}…</p>`;
  try {
    const d = await conn.call("npc.inspect", { id });
    state.inspect = d;
    $("inspector").innerHTML = renderInspect(d);
    drawRelations(d);
  } catch (err) {
    state.inspect = { error: err.reason || String(err), code: err.code };
    $("inspector").innerHTML = `<p class="bad">${esc(err.reason || err)}</p>`;
  }
}

async function showSettlement(conn, name) {
  try {
    const d = await conn.call("viewer.settlement", { name });
    state.settlement = d;
    $("inspector").innerHTML = `<h3>${esc(d.name)}</h3><p>${d.goods.map((g) => `${esc(g)}: ${d.now.stock[g].toFixed(0)} units @ ${d.now.price[g].toFixed(2)}`).join("<br>")}</p>
      <canvas id="sprice" width="300" height="140"></canvas><canvas id="sstock" width="300" height="140"></canvas>`;
    const price = new LineChart($("sprice"), { title: "price" }), stock = new LineChart($("sstock"), { title: "stock" });
    for (const g of d.goods) {
      price.set(g, d.ticks.map((t, i) => [t, d.price[g][i]])); stock.set(g, d.ticks.map((t, i) => [t, d.stock[g][i]]));
    }
    price.draw(); stock.draw();
  } catch (err) { $("inspector").innerHTML = `<p class="bad">${esc(err.reason || err)}</p>`; }
}

function setupControls(conn, meta, map) {
  const panel = $("controls");
  if (conn.role !== "admin") { panel.innerHTML = "<p class=muted>Controls need the admin role: open with ?token=&lt;admin token&gt;.</p>"; return; }
  panel.innerHTML = `<button id=c-pause>pause</button><button id=c-resume>resume</button><button id=c-step>step</button>
    <label>speed <select id=c-speed>${[0.25, 0.5, 1, 2, 4, 8].map((s) => `<option ${s === 1 ? "selected" : ""}>${s}</option>`).join("")}</select></label>
    <label>weather <select id=c-weather>${meta.weathers.map((w) => `<option>${esc(w)}</option>`).join("")}</select></label>
    <button id=c-spawn>spawn wanderer at centre</button><button id=c-kill>kill selected</button>
    <button id=c-trigger>trigger event</button><button id=c-save>save</button><button id=c-load>load</button><div id=c-out class=muted></div>`;
  const run = async (method, p = null) => {
    try { const r = await conn.call(method, p); state.lastAdmin = { method, result: r }; $("c-out").textContent = `${method}: ok (tick ${r.tick})`; return r; }
    catch (err) { state.lastAdmin = { method, error: err.reason, code: err.code }; $("c-out").textContent = `${method}: ${err.reason}`; return null; }
  };
  $("c-pause").onclick = () => run("admin.pause");
  $("c-resume").onclick = () => run("admin.resume");
  $("c-step").onclick = () => run("admin.step", { ticks: 1 });
  $("c-speed").onchange = (e) => run("admin.speed", { factor: f64(Number(e.target.value)) });
  $("c-weather").onchange = (e) => run("admin.weather", { name: e.target.value });
  $("c-spawn").onclick = () => run("admin.spawn", { kind: "wanderer", x: f64(map.cam.x), y: f64(map.cam.y), count: 5 });
  $("c-kill").onclick = () => map.selected && run("admin.kill", { id: map.selected });
  $("c-trigger").onclick = () => run("admin.trigger", { event: "designer.poke", data: {} });
  $("c-save").onclick = () => run("admin.save");
  $("c-load").onclick = () => run("admin.load");
}

async function pollPanels(conn, charts) {
  try {
    const m = await conn.call("viewer.metrics");
    state.metrics = m;
    const s = m.server;
    $("stats").innerHTML = `tick <b id=tick>${m.tick}</b> · ${esc(m.weather)} · hour ${m.world.hour.toFixed(1)} · tick ${s.tick_ms.p50.toFixed(2)}/${s.tick_ms.p99.toFixed(2)} ms (p50/p99)
      · ${s.clients} clients · ${(s.bytes_out_per_s / 1024).toFixed(1)} KiB/s out · ${s.paused ? "<b class=bad>paused</b>" : `x${s.speed}`}`;
    for (const [k, v] of Object.entries(m.world)) {
      if (k.startsWith("population.")) charts.pop.push(k.slice(11), m.tick, v);
      if (k.startsWith("entities.")) charts.ent.push(k.slice(9), m.tick, v);
      if (k.startsWith("price.")) charts.price.push(k.slice(6), m.tick, v);
    }
    Object.values(charts).forEach((c) => c.draw());
  } catch (err) { state.errors.push(String(err)); }
  try { state.summary = await conn.call("npc.summary"); } catch (err) { state.summary = { error: err.reason }; }
  try { state.quests = await conn.call("quest.list"); $("quests").innerHTML = renderQuests(state.quests); }
  catch (err) { $("quests").innerHTML = `<p class=muted>${esc(err.reason || err)}</p>`; }
  try { state.director = await conn.call("director.state"); renderDirector(state.director); }
  catch (err) { $("director").innerHTML = `<p class=muted>${esc(err.reason || err)}</p>`; }
}

async function loadSpecies(conn, map) {
  const species = new Map();
  let first;
  try {
    for (let chunk = 0, chunks = 1; chunk < chunks; chunk++) {
      const d = await conn.call("viewer.species", { chunk });
      first = first || d; chunks = d.chunks;
      const ids = new DataView(d.ids.buffer, d.ids.byteOffset, d.ids.byteLength);
      for (let i = 0; i < d.species.length; i++) species.set(ids.getUint32(4 * i, true), d.species[i]);
    }
  } catch (err) { state.errors.push(String(err)); return; }
  map.speciesColors = first.colors;
  map.creatureSpecies = species;
  $("species").innerHTML = first.names.map((n, i) => `<span style="color:${first.colors[i]}">● ${esc(n)}</span>`).join(" ");
}

const STEP_COLORS = { done: "#3fb950", active: "#ffcc33", failed: "#f85149" };

// Active quests; each quest's steps drawn as a chain in graph order, coloured by state.
function renderQuests(d) {
  const quests = d.quests || [];
  if (!quests.length) return "<p class=muted>no active quests</p>";
  return quests.map((q) => `<div class=quest><b>${esc(q.title || q.name || q.id)}</b> <small>${esc(q.state || "")}${q.giver ? ` · from ${esc(q.giver)}` : ""}</small>
    <div class=chain>${(q.steps || []).map((st) => `<span style="border-color:${STEP_COLORS[st.state] || "#8b949e"}">${esc(st.name)}</span>`).join("→")}</div></div>`).join("");
}

// The director's intensity curve per player (one chart), with phase and difficulty.
function renderDirector(d) {
  const players = d.players || [];
  if (!players.length) { $("director").innerHTML = "<p class=muted>no players</p>"; return; }
  $("director").innerHTML = `<canvas id=dchart width=300 height=120></canvas>${players.map((p) => `<div>${esc(p.name || p.id)}: ${esc(p.phase || "")}${p.difficulty !== undefined ? ` · difficulty ${Number(p.difficulty).toFixed(2)}` : ""}</div>`).join("")}`;
  const chart = new LineChart($("dchart"), { title: "intensity" });
  for (const p of players) chart.set(String(p.name || p.id), (p.intensity || []).map((v, i) => [i, v]));
  chart.draw();
}

function applySummary(map) {
  const s = state.summary;
  if (!s || !s.ids) return;
  const by = params.get("colour") === "action" ? s.action : s.role;
  const names = params.get("colour") === "action" ? s.action_names : s.role_names;
  map.npcColor = new Map(s.ids.map((id, i) => [id, by[i]]));
  $("legend").innerHTML = names.map((n, i) => `<span style="color:${ROLE_COLORS[i % ROLE_COLORS.length]}">■ ${esc(n)}</span>`).join(" ");
}

async function live(config, map) {
  const token = params.get("token") || "";
  const role = params.get("role") || (token ? "admin" : "spectator");
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
  const conn = new Connection({ url, role, token, config });
  window.viewer.conn = conn;
  status(`connecting as ${role}…`);
  try { await conn.open(); } catch (err) { status(String(err.message || err), true); return; }
  status(`connected as ${role} (session ${conn.welcome.session})`);
  conn.addEventListener("view", (e) => map.pushView(e.detail.time, e.detail.view));
  conn.addEventListener("notice", (e) => state.notices.push(e.detail));
  conn.addEventListener("close", (e) => status(`disconnected (${e.detail}); reload to reconnect`, true));
  map.canvas.addEventListener("pick", (e) => {
    const hit = e.detail;
    if (hit.type === "settlement") showSettlement(conn, hit.name);
    else if (hit.kind === "npc") inspectNpc(conn, map, hit.id);
    else { map.selected = hit.id; $("inspector").innerHTML = `<p>${esc(hit.kind)} #${hit.id}</p>`; }
  });
  window.viewer.inspectNpc = (id) => inspectNpc(conn, map, id);
  window.viewer.showSettlement = (name) => showSettlement(conn, name);
  const meta = await loadTerrain(conn, map);
  setupControls(conn, meta, map);
  const charts = { pop: new LineChart($("chart-pop"), { title: "population" }), ent: new LineChart($("chart-ent"), { title: "entities" }),
    price: new LineChart($("chart-price"), { title: "prices" }) };
  let polls = 0;
  const tick = async () => {
    await pollPanels(conn, charts); applySummary(map);
    if (polls++ % 3 === 0) await loadSpecies(conn, map);
  };
  await tick();
  setInterval(tick, 1000);
  window.viewer.ready = true;
}

// The run's metrics.csv as charts (population, entities, prices over its ticks); [] when it has none.
async function replayCharts(name) {
  const res = await fetch(`/viewer/replay?run=${encodeURIComponent(name)}&file=metrics`);
  if (!res.ok) return [];
  const lines = (await res.text()).trim().split("\n");
  const head = lines[0].split(",");
  const rows = lines.slice(1).map((l) => l.split(",").map(Number));
  const charts = [["chart-pop", "population", "population."], ["chart-ent", "entities", "entities."], ["chart-price", "prices", "price."]]
    .map(([id, title, prefix]) => {
      const chart = new LineChart($(id), { title, capacity: rows.length });
      head.forEach((h, j) => { if (h.startsWith(prefix)) chart.set(h.slice(prefix.length), rows.map((r) => [r[0], r[j]])); });
      return chart;
    });
  state.replayMetrics = { columns: head.length, rows: rows.length };
  return charts;
}

async function replay(name, map) {
  status(`loading replay ${name}…`);
  const res = await fetch(`/viewer/replay?run=${encodeURIComponent(name)}`);
  if (!res.ok) { status(await res.text(), true); return; }
  const rec = parseRecording(await res.arrayBuffer());
  window.viewer.recording = rec;
  const meta = { n: rec.meta.tiles, half_extent: rec.meta.half_extent, palette: rec.meta.colors, settlements: rec.meta.settlements || [] };
  map.setTerrain(meta, rec.biome, null);
  map.hold = true;
  $("controls").innerHTML = "<p class=muted>Replay of a recorded run: controls act on live worlds only.</p>";
  const charts = await replayCharts(name);
  const scrub = $("scrub");
  scrub.hidden = false; scrub.max = String(rec.frames.length - 1); scrub.value = "0";
  let pos = 0, playing = true;
  const show = () => {
    const i = Math.floor(pos), f = rec.frames[i];
    map.drawn = replayFrame(rec, i, pos - i);
    scrub.value = String(i);
    for (const c of charts) { c.cursor = f.tick; c.draw(); }
    $("stats").innerHTML = `replay <b>${esc(rec.meta.scenario)}</b> seed ${rec.meta.seed} · tick <b id=tick>${f.tick}</b> · frame ${i + 1}/${rec.frames.length}`;
  };
  scrub.oninput = () => { pos = Number(scrub.value); playing = false; show(); };
  $("play").hidden = false;
  $("play").onclick = () => { playing = !playing; };
  const fps = 1 / (rec.meta.every * rec.meta.dt);
  let last = performance.now();
  const step = (now) => {
    if (playing) { pos = Math.min(rec.frames.length - 1, pos + (Math.max(0, now - last) / 1000) * fps); }
    last = now; show();
    requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
  window.viewer.seek = (i) => { pos = Math.max(0, Math.min(rec.frames.length - 1, i)); playing = false; show(); };
  status(`replaying ${name}: ${rec.frames.length} frames`);
  window.viewer.ready = true;
}

async function main() {
  const config = await (await fetch("/viewer/config.json")).json();
  const map = new WorldMap($("map"), { quantum: config.quantum });
  window.viewer.map = map;
  resize(map);
  window.addEventListener("resize", () => resize(map));
  const loop = () => { map.frame(); requestAnimationFrame(loop); };
  requestAnimationFrame(loop);
  if (params.get("replay")) await replay(params.get("replay"), map); else await live(config, map);
}

main().catch((err) => { status(String(err.stack || err), true); window.viewer.failed = String(err); });
export { RpcFailure };
