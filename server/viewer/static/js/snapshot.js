// Snapshot decoding (docs/protocol.md, "Snapshots"): bit-packed columns, KindBlocks applied to the
// acknowledged baseline view, and an assembler that gathers the parts of a tick. The JavaScript twin of
// protocol/snapshot.py. A view is {kind: {ids: Float64Array (n, ascending), q: Float64Array (n*3)}}.

export class SnapshotError extends Error {}

const ID_LIMIT = 2 ** 32;

// Column [base, bits, count, data] -> Float64Array of count values (exact below 2^53).
export function unpackColumn(col) {
  const [base = 0, bits = 0, count = 0, data = new Uint8Array(0)] = col || [];
  if (!(bits >= 0 && bits <= 64) || !(count >= 0 && count <= 1 << 20)) throw new SnapshotError("bad column header");
  if (data.length !== Math.ceil((bits * count) / 8)) throw new SnapshotError("column data length mismatch");
  const out = new Float64Array(count);
  const b = Number(base);
  if (bits === 0) { out.fill(b); return out; }
  if (bits <= 32) {
    let bit = 0;
    for (let i = 0; i < count; i++) {
      let v = 0, got = 0;
      while (got < bits) {
        const byte = data[bit >> 3], off = bit & 7, take = Math.min(8 - off, bits - got);
        v += ((byte >> off) & ((1 << take) - 1)) * 2 ** got;
        got += take; bit += take;
      }
      out[i] = b + v;
    }
    return out;
  }
  const bigBase = BigInt(base);
  let bit = 0;
  for (let i = 0; i < count; i++) {
    let v = 0n;
    for (let got = 0; got < bits;) {
      const byte = data[bit >> 3], off = bit & 7, take = Math.min(8 - off, bits - got);
      v |= BigInt((byte >> off) & ((1 << take) - 1)) << BigInt(got);
      got += take; bit += take;
    }
    out[i] = Number(BigInt.asIntN(64, v + bigBase));
  }
  return out;
}

function lowerBound(ids, x) {
  let lo = 0, hi = ids.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (ids[mid] < x) lo = mid + 1; else hi = mid; }
  return lo;
}

function applyBlock(block, base) {
  const [, lo, hi, dxc, dyc, dzc, changes] = block;
  const lo_ = Number(lo), hi_ = Number(hi);
  let baseIds = new Float64Array(0), baseQ = new Float64Array(0);
  if (base) {
    const i0 = lowerBound(base.ids, lo_), i1 = lowerBound(base.ids, hi_);
    baseIds = base.ids.subarray(i0, i1); baseQ = base.q.subarray(i0 * 3, i1 * 3);
  }
  const empty = new Float64Array(0);
  const [entered, ex, ey, ez, removed] = changes ? [0, 1, 2, 3, 4].map((i) => unpackColumn(changes[i])) : [empty, empty, empty, empty, empty];
  if (ex.length !== entered.length || ey.length !== entered.length || ez.length !== entered.length) {
    throw new SnapshotError("entered ids and positions differ in count");
  }
  const keep = new Uint8Array(baseIds.length).fill(1);
  let kept = baseIds.length;
  for (let j = 0; j < removed.length; j++) {
    const r = lowerBound(baseIds, removed[j]);
    if (r >= baseIds.length || baseIds[r] !== removed[j] || !keep[r]) throw new SnapshotError("removed id not in the baseline");
    keep[r] = 0; kept--;
  }
  const dx = unpackColumn(dxc), dy = unpackColumn(dyc), dz = unpackColumn(dzc);
  if (dx.length !== kept || dy.length !== kept || dz.length !== kept) throw new SnapshotError("delta count differs from kept ids");
  const n = kept + entered.length;
  const ids = new Float64Array(n), q = new Float64Array(n * 3);
  let a = 0, e = 0, k = 0, o = 0;
  while (a < baseIds.length || e < entered.length) {
    while (a < baseIds.length && !keep[a]) a++;
    const takeBase = a < baseIds.length && (e >= entered.length || baseIds[a] < entered[e]);
    if (takeBase) {
      ids[o] = baseIds[a];
      q[o * 3] = baseQ[a * 3] + dx[k]; q[o * 3 + 1] = baseQ[a * 3 + 1] + dy[k]; q[o * 3 + 2] = baseQ[a * 3 + 2] + dz[k];
      a++; k++; o++;
    } else if (e < entered.length) {
      if (entered[e] < lo_ || entered[e] >= hi_ || (o > 0 && ids[o - 1] >= entered[e])) throw new SnapshotError("entered ids out of order");
      ids[o] = entered[e]; q[o * 3] = ex[e]; q[o * 3 + 1] = ey[e]; q[o * 3 + 2] = ez[e];
      e++; o++;
    } else break;
  }
  return { ids, q };
}

export function applyBlocks(baseline, blocks) {
  const byKind = new Map();
  for (const block of blocks) {
    const lo = Number(block[1]), hi = Number(block[2]);
    if (!(lo >= 0 && lo <= hi && hi <= ID_LIMIT)) throw new SnapshotError("bad block range");
    if (!byKind.has(block[0])) byKind.set(block[0], []);
    byKind.get(block[0]).push(block);
  }
  const out = {};
  for (const [kind, list] of byKind) {
    list.sort((x, y) => Number(x[1]) - Number(y[1]));
    const pieces = [];
    let prevHi = 0;
    for (const block of list) {
      if (Number(block[1]) < prevHi) throw new SnapshotError("overlapping block ranges");
      prevHi = Number(block[2]);
      pieces.push(applyBlock(block, baseline ? baseline[kind] : null));
    }
    if (pieces.length === 1) { out[kind] = pieces[0]; continue; }
    const n = pieces.reduce((s, p) => s + p.ids.length, 0);
    const ids = new Float64Array(n), q = new Float64Array(n * 3);
    let o = 0;
    for (const p of pieces) { ids.set(p.ids, o); q.set(p.q, o * 3); o += p.ids.length; }
    out[kind] = { ids, q };
  }
  return out;
}

// Gathers snapshot parts; feed() returns {tick, time, view} when a tick completes (then send Ack).
export class SnapshotAssembler {
  constructor(history = 64) { this.history = history; this.views = new Map(); this.pending = new Map(); this.latest = null; }
  feed(snap) {
    const tick = Number(snap.tick), part = snap.part ?? 0, parts = snap.parts ?? 1, baseline = Number(snap.baseline);
    if (!(part >= 0 && part < parts)) throw new SnapshotError("part out of range");
    if (this.latest && tick <= this.latest.tick) return null;
    if (baseline !== 0 && (baseline >= tick || !this.views.has(baseline))) {
      this.pending.delete(tick);
      throw new SnapshotError(`unknown baseline ${baseline}`);
    }
    let p = this.pending.get(tick);
    if (!p) {
      p = { baseline, parts, time: snap.time, received: new Map() };
      this.pending.set(tick, p);
      while (this.pending.size > 4) this.pending.delete(Math.min(...this.pending.keys()));
    } else if (p.baseline !== baseline || p.parts !== parts || p.received.has(part)) {
      this.pending.delete(tick);
      throw new SnapshotError("parts disagree or repeat");
    }
    p.received.set(part, snap.blocks || []);
    if (p.received.size < parts) return null;
    this.pending.delete(tick);
    const blocks = [];
    for (let i = 0; i < parts; i++) blocks.push(...p.received.get(i));
    const view = applyBlocks(baseline ? this.views.get(baseline) : null, blocks);
    this.views.set(tick, view);
    while (this.views.size > this.history) this.views.delete(this.views.keys().next().value);
    for (const t of [...this.pending.keys()]) if (t < tick) this.pending.delete(t);
    this.latest = { tick, time: p.time, view };
    return this.latest;
  }
}
