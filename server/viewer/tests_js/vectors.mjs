// The viewer's MessagePack codec and snapshot decoder against the golden vectors (protocol/vectors/,
// docs/protocol.md "Golden vectors"): decode every frame and compare it with its JSON; re-encode the
// client messages the viewer sends (hello, ack, rpc) byte for byte; unpack every column_*.json; apply
// the snapshot chain and the split parts (in reverse order) and compare with the *.view.json views.
// Prints a JSON summary; exits 1 on the first mismatch. Run: node vectors.mjs ../../../protocol/vectors
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { decode, encode } from "../static/js/msgpack.js";
import { SnapshotAssembler, unpackColumn } from "../static/js/snapshot.js";

const dir = process.argv[2];
const read = (name) => readFileSync(join(dir, name));
const json = (name) => JSON.parse(read(name).toString());
// JSON with integers beyond 2^53 kept exact as BigInt (JSON.parse would round them to doubles).
const exactJson = (name) => JSON.parse(read(name).toString().replace(/([:[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g, '$1"__big__$2"'),
  (k, v) => (typeof v === "string" && v.startsWith("__big__") ? BigInt(v.slice(7)) : v));
const fail = (msg) => { console.error(`MISMATCH: ${msg}`); process.exit(1); };

// Decoded value -> plain JSON-like value (bytes as base64, BigInt as Number) for comparison.
function plain(v) {
  if (v instanceof Uint8Array) return Buffer.from(v).toString("base64");
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

function same(a, b, path, lenient) {
  if (Array.isArray(b)) {
    if (!Array.isArray(a)) fail(`${path}: expected an array`);
    if (!lenient && a.length !== b.length) fail(`${path}: length ${a.length} != ${b.length}`);
    b.forEach((x, i) => { if (i < a.length) same(a[i], x, `${path}[${i}]`, lenient); });
    return;
  }
  if (b && typeof b === "object") {
    for (const [k, x] of Object.entries(b)) {
      if (!(k in a)) { if (lenient) continue; fail(`${path}.${k}: missing`); }
      same(a[k], x, `${path}.${k}`, lenient);
    }
    return;
  }
  if (typeof b === "number" ? Number(a) !== b : a !== b) fail(`${path}: ${a} != ${b}`);
}

const files = readdirSync(dir);
const summary = { decoded: 0, encoded: 0, columns: 0, views: 0 };
for (const f of files.filter((x) => x.endsWith(".json") && !x.includes(".view.") && !x.startsWith("column_"))) {
  const name = f.slice(0, -5), vec = json(f);
  const bytes = read(`${name}.msgpack`);
  const decoded = plain(decode(new Uint8Array(bytes)));
  same(decoded, vec.message, name, Boolean(vec.decode_only));
  summary.decoded++;
  if (!vec.decode_only && ["hello", "ack", "rpc"].includes(vec.type) && vec.direction === "client") {
    const out = Buffer.from(encode(exactJson(f).message));
    if (!out.equals(bytes)) fail(`${name}: encoded ${out.toString("hex")} != ${bytes.toString("hex")}`);
    summary.encoded++;
  }
}
for (const f of files.filter((x) => x.startsWith("column_"))) {
  const c = json(f);
  const got = unpackColumn([c.base, c.bits, c.count, new Uint8Array(Buffer.from(c.data, "hex"))]);
  same(Array.from(got), c.values, f, false);
  summary.columns++;
}
const views = new Map();
function check(viewName, assembled) {
  const expect = json(viewName);
  if (!assembled || assembled.tick !== expect.tick) fail(`${viewName}: tick ${assembled && assembled.tick} != ${expect.tick}`);
  const kinds = Object.keys(assembled.view).sort();
  same(kinds, Object.keys(expect.kinds).sort(), `${viewName} kinds`, false);
  for (const [kind, k] of Object.entries(expect.kinds)) {
    const v = assembled.view[kind];
    same(Array.from(v.ids), k.ids, `${viewName}.${kind}.ids`, false);
    same(Array.from(v.q), k.q.flat(), `${viewName}.${kind}.q`, false);
  }
  summary.views++;
}
const chain = new SnapshotAssembler();
for (const name of ["snapshot_full", "snapshot_delta", "snapshot_kind_gone"]) {
  views.set(name, chain.feed(decode(new Uint8Array(read(`${name}.msgpack`)))));
  check(`${name}.view.json`, views.get(name));
}
const split = new SnapshotAssembler();
const parts = json("snapshot_split.view.json").parts;
let done = null;
for (const name of [...parts].reverse()) done = split.feed(decode(new Uint8Array(read(`${name}.msgpack`)))) || done;
check("snapshot_split.view.json", done);
console.log(JSON.stringify(summary));
