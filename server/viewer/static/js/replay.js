// Replays of headless runs: parse positions.wlrec (server/viewer/recording.py) and feed frames to the map.
export function parseRecording(buffer) {
  const bytes = new Uint8Array(buffer), dv = new DataView(buffer);
  const magic = String.fromCharCode(...bytes.subarray(0, 5));
  if (magic !== "WLREC") throw new Error("not a Worldloom position recording");
  const hlen = dv.getUint32(8, true);
  const meta = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + hlen)));
  let at = 12 + hlen;
  const n = meta.tiles;
  const biome = bytes.slice(at, at + n * n);
  at += n * n;
  const frames = [];
  while (at < bytes.length) {
    const tick = dv.getUint32(at, true); at += 4;
    const kinds = {};
    for (const kind of meta.kinds) {
      const count = dv.getUint32(at, true); at += 4;
      const ids = new Float64Array(new Uint32Array(buffer.slice(at, at + 4 * count))); at += 4 * count;
      const xy = new Int16Array(buffer.slice(at, at + 4 * count)); at += 4 * count;
      kinds[kind] = { ids, xy };
    }
    frames.push({ tick, kinds });
  }
  return { meta, biome, frames };
}

// Positions of frame i blended toward frame i + 1 by alpha: {kind: {ids, xs, ys, n}}.
export function replayFrame(rec, i, alpha) {
  const a = rec.frames[i], b = rec.frames[Math.min(i + 1, rec.frames.length - 1)];
  const s = rec.meta.scale, out = {};
  for (const [kind, fa] of Object.entries(a.kinds)) {
    const fb = b.kinds[kind];
    const n = fa.ids.length, xs = new Float64Array(n), ys = new Float64Array(n);
    let j = 0;
    for (let k = 0; k < n; k++) {
      let x = fa.xy[2 * k], y = fa.xy[2 * k + 1];
      if (fb && alpha > 0) {
        while (j < fb.ids.length && fb.ids[j] < fa.ids[k]) j++;
        if (j < fb.ids.length && fb.ids[j] === fa.ids[k]) { x += (fb.xy[2 * j] - x) * alpha; y += (fb.xy[2 * j + 1] - y) * alpha; }
      }
      xs[k] = x * s; ys[k] = y * s;
    }
    out[kind] = { ids: fa.ids, xs, ys, n };
  }
  return out;
}
