// Colyseus bots for benchmarks/net_load.py: N clients join, send "move" at 10 Hz, count the bytes they
// receive and the latency of each state patch (client wall clock minus state.time). Prints JSON.
"use strict";
const { Client } = require("colyseus.js");

const [url, count, duration] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const stats = { bytes: 0, patches: 0, latency: [], connected: 0 };

async function bot(i) {
  const client = new Client(url);
  const room = await client.joinOrCreate("arena");
  stats.connected += 1;
  const ws = room.connection.transport.ws;
  const original = ws.onmessage;
  ws.onmessage = (event) => {
    stats.bytes += event.data.byteLength + (event.data.byteLength < 126 ? 2 : 4);
    original(event);
  };
  room.onStateChange((state) => {
    stats.patches += 1;
    if (state.time) stats.latency.push(Date.now() - state.time * 1000);
  });
  let angle = i;
  const timer = setInterval(() => {
    if (Math.random() < 0.1) angle = Math.random() * 2 * Math.PI;
    room.send("move", [Math.cos(angle), Math.sin(angle)]);
  }, 100);
  return { room, timer };
}

async function main() {
  const bots = [];
  for (let i = 0; i < count; i++) {
    bots.push(await bot(i));
  }
  const start = { bytes: stats.bytes, patches: stats.patches };
  stats.latency = [];
  process.stdout.write("ready\n");
  await new Promise((r) => setTimeout(r, duration * 1000));
  const sorted = stats.latency.slice().sort((a, b) => a - b);
  const pct = (q) => sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : 0;
  process.stdout.write(JSON.stringify({
    connected: stats.connected,
    bytes_per_client_per_s: (stats.bytes - start.bytes) / count / duration,
    patches_per_client_per_s: (stats.patches - start.patches) / count / duration,
    latency_ms_p50: pct(0.5), latency_ms_p99: pct(0.99),
  }) + "\n");
  for (const b of bots) { clearInterval(b.timer); b.room.leave(); }
  setTimeout(() => process.exit(0), 200);
}
main().catch((e) => { console.error(e); process.exit(1); });
