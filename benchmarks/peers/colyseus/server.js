// Colyseus peer for benchmarks/net_load.py: the same reference work as Worldloom's server.
// NPCs wander in a square world toward random targets at 2 m/s; each client owns an avatar moved at
// 5 m/s by "move" messages; state is patched to every client at 20 Hz. Positions are float32 (the
// usual Colyseus choice); `time` (server wall clock, float64) lets clients measure latency, as
// Worldloom's Snapshot.time does. On SIGTERM it prints one JSON line of figures and exits.
"use strict";
const { Server, Room } = require("@colyseus/core");
const { WebSocketTransport } = require("@colyseus/ws-transport");
const { Schema, MapSchema, defineTypes } = require("@colyseus/schema");

const HALF = Number(process.env.HALF_EXTENT || 40);
const NPCS = Number(process.env.NPCS || 150);
const DT_MS = 50;

class Entity extends Schema {}
defineTypes(Entity, { x: "float32", y: "float32" });

class WorldState extends Schema {
  constructor() {
    super();
    this.entities = new MapSchema();
    this.time = 0;
  }
}
defineTypes(WorldState, { entities: { map: Entity }, time: "float64" });

// a small seeded generator so runs are repeatable (mulberry32)
let seed = 1;
function random() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const uniform = () => (random() * 2 - 1) * HALF;

const figures = { ticks: 0, tickMs: [], started: 0, cpu: null };

class Arena extends Room {
  onCreate() {
    this.maxClients = 5000;
    this.autoDispose = false;
    this.setState(new WorldState());
    this.npcs = [];
    for (let i = 0; i < NPCS; i++) {
      const e = new Entity();
      e.x = uniform();
      e.y = uniform();
      this.state.entities.set(`n${i}`, e);
      this.npcs.push({ e, tx: uniform(), ty: uniform() });
    }
    this.players = new Map();
    this.onMessage("move", (client, m) => {
      const p = this.players.get(client.sessionId);
      if (!p || !Array.isArray(m)) return;
      let [mx, my] = m;
      const len = Math.hypot(mx, my);
      if (len > 1) { mx /= len; my /= len; }
      p.vx = mx * 5;
      p.vy = my * 5;
    });
    this.setPatchRate(DT_MS);
    this.setSimulationInterval(() => this.step(), DT_MS);
  }

  step() {
    const t0 = process.hrtime.bigint();
    const dt = DT_MS / 1000;
    for (const n of this.npcs) {
      const dx = n.tx - n.e.x, dy = n.ty - n.e.y, d = Math.hypot(dx, dy);
      if (d < 0.5) { n.tx = uniform(); n.ty = uniform(); continue; }
      const s = Math.min(2 * dt, d) / d;
      n.e.x += dx * s;
      n.e.y += dy * s;
    }
    for (const p of this.players.values()) {
      p.e.x = Math.max(-HALF, Math.min(HALF, p.e.x + p.vx * dt));
      p.e.y = Math.max(-HALF, Math.min(HALF, p.e.y + p.vy * dt));
    }
    this.lastStepNs = process.hrtime.bigint() - t0;
  }

  broadcastPatch() {
    const t0 = process.hrtime.bigint();
    this.state.time = Date.now() / 1000; // stamped when the patch is built, like Snapshot.time
    const result = super.broadcastPatch();
    const ns = Number(process.hrtime.bigint() - t0 + (this.lastStepNs || 0n));
    if (figures.started) {
      figures.ticks += 1;
      figures.tickMs.push(ns / 1e6);
    }
    return result;
  }

  onJoin(client) {
    const e = new Entity();
    e.x = uniform();
    e.y = uniform();
    this.state.entities.set(client.sessionId, e);
    this.players.set(client.sessionId, { e, vx: 0, vy: 0 });
  }

  onLeave(client) {
    this.state.entities.delete(client.sessionId);
    this.players.delete(client.sessionId);
  }
}

async function main() {
  const server = new Server({ transport: new WebSocketTransport() });
  server.define("arena", Arena);
  await server.listen(0, "127.0.0.1");
  const port = server.transport.server.address().port;
  process.stdout.write(`listening ${port}\n`);
  process.on("SIGUSR1", () => { // measurement window starts
    figures.started = Date.now();
    figures.cpu = process.cpuUsage();
    figures.ticks = 0;
    figures.tickMs = [];
  });
  process.on("SIGTERM", () => {
    const cpu = process.cpuUsage(figures.cpu || undefined);
    const sorted = figures.tickMs.slice().sort((a, b) => a - b);
    const pct = (q) => sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : 0;
    console.log(JSON.stringify({
      ticks: figures.ticks,
      cpu_ms_per_tick: (cpu.user + cpu.system) / 1000 / Math.max(1, figures.ticks),
      tick_ms_p50: pct(0.5), tick_ms_p99: pct(0.99),
    }));
    process.exit(0);
  });
}
main();
