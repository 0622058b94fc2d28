// The live map: terrain image, entities interpolated between received views, pan/zoom, picking.
// Render time lags the newest snapshot by `delay` seconds so there is (almost) always a view on each
// side; positions past the newest view are extrapolated for at most one interval, then held (as in
// clients/python/worldloom_client/interpolation.py). Entities are drawn per colour in one batch.

export const KIND_STYLE = {
  creature: { size: 3, color: "#f2efe6" },
  npc: { size: 5, color: "#ffcc33" },
  player: { size: 8, color: "#ff3df5" },
  prop: { size: 4, color: "#8b5a2b" },
};
export const ROLE_COLORS = ["#ffcc33", "#4dd2ff", "#ff7a45", "#9cff57", "#c78bff", "#ff4d6d", "#3dffc5", "#ffe0f0",
  "#7f8cff", "#d9a066"];

export class WorldMap {
  constructor(canvas, { delay = 0.1, quantum = 1 / 64 } = {}) {
    this.canvas = canvas; this.ctx = canvas.getContext("2d", { alpha: false });
    this.delay = delay; this.quantum = quantum;
    this.views = []; // [{time, view}] oldest first
    this.offset = null; // server seconds - local seconds
    this.terrain = null; this.terrainImage = null; this.settlements = [];
    this.cam = { x: 0, y: 0, scale: 2 }; // metres at the centre, pixels per metre
    this.npcColor = new Map(); // id -> colour index (from npc.summary)
    this.creatureSpecies = new Map(); // id -> species index (from viewer.species)
    this.selected = 0;
    this.speciesColors = [];
    this.drawn = {}; // kind -> {ids, xs, ys, n} of the last frame, for picking and tests
    this.frameMs = []; this.intervalMs = []; this.lastFrame = 0;
    this.hold = false; // replay mode drives positions itself
    this.bindInput();
  }

  pushView(serverTime, view) {
    const local = performance.now() / 1000;
    const sample = serverTime - local;
    this.offset = this.offset === null ? sample : Math.max(sample, this.offset - 0.002);
    const last = this.views[this.views.length - 1];
    if (last && serverTime <= last.time) { if (serverTime === last.time) last.view = view; return; }
    this.views.push({ time: serverTime, view });
    if (this.views.length > 16) this.views.shift();
  }

  setTerrain(meta, biome, shade) {
    const n = meta.n;
    const img = new ImageData(n, n);
    const palette = meta.palette.map((c) => [parseInt(c.slice(1, 3), 16), parseInt(c.slice(3, 5), 16), parseInt(c.slice(5, 7), 16)]);
    for (let row = 0; row < n; row++) {
      for (let col = 0; col < n; col++) {
        const src = row * n + col;
        const dst = ((n - 1 - row) * n + col) * 4; // row 0 is the south edge: draw it at the bottom
        const rgb = palette[biome[src]] || [128, 128, 128];
        const k = shade ? 0.75 + 0.5 * (shade[src] / 255) : 1;
        img.data[dst] = Math.min(255, rgb[0] * k); img.data[dst + 1] = Math.min(255, rgb[1] * k);
        img.data[dst + 2] = Math.min(255, rgb[2] * k); img.data[dst + 3] = 255;
      }
    }
    const off = document.createElement("canvas");
    off.width = n; off.height = n;
    off.getContext("2d").putImageData(img, 0, 0);
    this.terrain = meta; this.terrainImage = off;
    this.settlements = meta.settlements || [];
    this.fit();
  }

  fit() {
    const h = this.terrain ? this.terrain.half_extent : 100;
    this.cam = { x: 0, y: 0, scale: Math.min(this.canvas.width, this.canvas.height) / (2 * h) };
  }

  toScreen(x, y) {
    return [(x - this.cam.x) * this.cam.scale + this.canvas.width / 2, (this.cam.y - y) * this.cam.scale + this.canvas.height / 2];
  }

  toWorld(px, py) {
    return [(px - this.canvas.width / 2) / this.cam.scale + this.cam.x, this.cam.y - (py - this.canvas.height / 2) / this.cam.scale];
  }

  bindInput() {
    let drag = null;
    const c = this.canvas;
    c.addEventListener("mousedown", (e) => { drag = { x: e.offsetX, y: e.offsetY, moved: false }; });
    c.addEventListener("mousemove", (e) => {
      if (!drag) return;
      const dx = e.offsetX - drag.x, dy = e.offsetY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
      if (drag.moved) {
        this.cam.x -= dx / this.cam.scale; this.cam.y += dy / this.cam.scale;
        drag.x = e.offsetX; drag.y = e.offsetY;
      }
    });
    c.addEventListener("mouseup", (e) => {
      if (drag && !drag.moved) this.dispatchPick(e.offsetX, e.offsetY);
      drag = null;
    });
    c.addEventListener("wheel", (e) => {
      e.preventDefault();
      const [wx, wy] = this.toWorld(e.offsetX, e.offsetY);
      this.cam.scale = Math.min(200, Math.max(0.2, this.cam.scale * Math.exp(-e.deltaY * 0.0015)));
      const [nx, ny] = this.toWorld(e.offsetX, e.offsetY);
      this.cam.x += wx - nx; this.cam.y += wy - ny;
    }, { passive: false });
  }

  // Nearest drawn entity (within 10 px) or settlement (within 14 px) to a screen point.
  pick(px, py) {
    let best = null, bestD = 100;
    for (const [kind, d] of Object.entries(this.drawn)) {
      for (let i = 0; i < d.n; i++) {
        const [sx, sy] = this.toScreen(d.xs[i], d.ys[i]);
        const dd = (sx - px) ** 2 + (sy - py) ** 2;
        if (dd < bestD) { bestD = dd; best = { type: "entity", kind, id: d.ids[i] }; }
      }
    }
    for (const s of this.settlements) {
      const [sx, sy] = this.toScreen(s.x, s.y);
      if ((sx - px) ** 2 + (sy - py) ** 2 < 196 && (!best || best.kind !== "npc")) best = { type: "settlement", name: s.name };
    }
    return best;
  }

  dispatchPick(px, py) {
    const hit = this.pick(px, py);
    if (hit) this.canvas.dispatchEvent(new CustomEvent("pick", { detail: hit }));
  }

  // Interpolated positions of every kind at server time t: {kind: {ids, xs, ys, n}}.
  sample(t) {
    const vs = this.views;
    if (!vs.length) return {};
    let i = vs.length - 1;
    while (i > 0 && vs[i].time > t) i--;
    let a, b, alpha;
    if (t <= vs[0].time || vs.length === 1) { a = b = vs[0]; alpha = 0; if (t > vs[0].time) a = b = vs[vs.length - 1]; }
    else if (i === vs.length - 1) {
      a = vs[i - 1]; b = vs[i];
      alpha = 1 + Math.min((t - b.time) / Math.max(1e-6, b.time - a.time), 1);
    } else { a = vs[i]; b = vs[i + 1]; alpha = (t - a.time) / (b.time - a.time); }
    const q = this.quantum, out = {};
    for (const [kind, kb] of Object.entries(b.view)) {
      const ka = a.view[kind];
      const n = kb.ids.length;
      const prev = this.drawn[kind];
      const xs = prev && prev.xs.length >= n ? prev.xs : new Float64Array(Math.max(16, n * 1.5));
      const ys = prev && prev.ys.length >= n ? prev.ys : new Float64Array(xs.length);
      let j = 0;
      for (let k = 0; k < n; k++) {
        const id = kb.ids[k];
        let x = kb.q[k * 3], y = kb.q[k * 3 + 1];
        if (ka && a !== b) {
          while (j < ka.ids.length && ka.ids[j] < id) j++;
          if (j < ka.ids.length && ka.ids[j] === id) {
            const x0 = ka.q[j * 3], y0 = ka.q[j * 3 + 1];
            x = x0 + (x - x0) * alpha; y = y0 + (y - y0) * alpha;
          }
        }
        xs[k] = x * q; ys[k] = y * q;
      }
      out[kind] = { ids: kb.ids, xs, ys, n };
    }
    return out;
  }

  frame() {
    const t0 = performance.now();
    if (this.lastFrame) { this.intervalMs.push(t0 - this.lastFrame); if (this.intervalMs.length > 600) this.intervalMs.shift(); }
    this.lastFrame = t0;
    if (!this.hold && this.offset !== null) this.drawn = this.sample(t0 / 1000 + this.offset - this.delay);
    this.draw();
    this.frameMs.push(performance.now() - t0);
    if (this.frameMs.length > 600) this.frameMs.shift();
  }

  draw() {
    const { ctx, canvas, cam } = this;
    ctx.fillStyle = "#10141a";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (this.terrainImage) {
      const h = this.terrain.half_extent;
      const [x0, y0] = this.toScreen(-h, h);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(this.terrainImage, x0, y0, 2 * h * cam.scale, 2 * h * cam.scale);
    }
    const w = canvas.width, hgt = canvas.height;
    const cx = w / 2, cy = hgt / 2, s = cam.scale;
    for (const kind of ["creature", "prop", "npc", "player"]) {
      const d = this.drawn[kind];
      if (!d) continue;
      const style = KIND_STYLE[kind];
      const size = Math.max(2, Math.min(style.size * Math.sqrt(s / 2), style.size * 3)), half = size / 2;
      const lookup = kind === "npc" ? this.npcColor : kind === "creature" ? this.creatureSpecies : null;
      if (lookup && lookup.size) {
        const colors = kind === "npc" ? ROLE_COLORS : this.speciesColors;
        const buckets = colors.map(() => []);
        const fallback = [];
        for (let i = 0; i < d.n; i++) {
          const c = lookup.get(d.ids[i]);
          (c === undefined || c >= colors.length ? fallback : buckets[c]).push(i);
        }
        buckets.push(fallback);
        buckets.forEach((list, c) => {
          ctx.fillStyle = c < colors.length ? colors[c] : style.color;
          for (const i of list) ctx.fillRect((d.xs[i] - cam.x) * s + cx - half, (cam.y - d.ys[i]) * s + cy - half, size, size);
        });
        continue;
      }
      ctx.fillStyle = style.color;
      for (let i = 0; i < d.n; i++) {
        const px = (d.xs[i] - cam.x) * s + cx, py = (cam.y - d.ys[i]) * s + cy;
        if (px < -size || py < -size || px > w + size || py > hgt + size) continue;
        ctx.fillRect(px - half, py - half, size, size);
      }
      if (kind === "player") {
        ctx.strokeStyle = "#ffffff"; ctx.lineWidth = 1.5;
        for (let i = 0; i < d.n; i++) ctx.strokeRect((d.xs[i] - cam.x) * s + cx - half, (cam.y - d.ys[i]) * s + cy - half, size, size);
      }
    }
    ctx.font = "12px sans-serif"; ctx.textAlign = "center";
    for (const st of this.settlements) {
      const [px, py] = this.toScreen(st.x, st.y);
      ctx.fillStyle = "#1b1b1b"; ctx.strokeStyle = "#ffe9a8"; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.arc(px, py, 7, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
      ctx.fillStyle = "#ffe9a8"; ctx.fillText(st.name, px, py - 11);
    }
    if (this.selected) {
      for (const d of Object.values(this.drawn)) {
        for (let i = 0; i < d.n; i++) {
          if (d.ids[i] !== this.selected) continue;
          const [px, py] = this.toScreen(d.xs[i], d.ys[i]);
          ctx.strokeStyle = "#ff2b2b"; ctx.lineWidth = 2;
          ctx.beginPath(); ctx.arc(px, py, 11, 0, 2 * Math.PI); ctx.stroke();
        }
      }
    }
  }
}
