// Minimal live line charts on a canvas: named series of (x, y) samples, auto-scaled, with a legend.
const COLORS = ["#4dd2ff", "#ff7a45", "#9cff57", "#ffcc33", "#c78bff", "#ff4d6d", "#3dffc5", "#d9a066"];

export class LineChart {
  constructor(canvas, { title = "", capacity = 300 } = {}) {
    this.canvas = canvas; this.title = title; this.capacity = capacity; this.series = new Map();
    this.cursor = null; // an x to mark with a vertical line (the replay's current tick)
  }
  push(name, x, y) {
    if (!this.series.has(name)) this.series.set(name, []);
    const s = this.series.get(name);
    s.push([x, y]);
    if (s.length > this.capacity) s.shift();
  }
  set(name, points) { this.series.set(name, points.slice(-this.capacity)); }
  draw() {
    const { canvas } = this, ctx = canvas.getContext("2d");
    const w = canvas.width, h = canvas.height, pad = 26;
    ctx.fillStyle = "#161b22"; ctx.fillRect(0, 0, w, h);
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const pts of this.series.values()) for (const [x, y] of pts) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
    ctx.fillStyle = "#c9d1d9"; ctx.font = "11px sans-serif"; ctx.textAlign = "left";
    ctx.fillText(this.title, 4, 12);
    if (!Number.isFinite(x0)) return;
    if (y1 === y0) { y1 += 1; y0 -= 1; }
    if (x1 === x0) x1 += 1;
    const X = (x) => pad + ((x - x0) / (x1 - x0)) * (w - pad - 6), Y = (y) => h - 14 - ((y - y0) / (y1 - y0)) * (h - 34);
    ctx.fillStyle = "#8b949e"; ctx.fillText(y1.toPrecision(3), 2, 24); ctx.fillText(y0.toPrecision(3), 2, h - 16);
    if (this.cursor !== null) {
      ctx.strokeStyle = "#ffffff88"; ctx.lineWidth = 1; ctx.beginPath();
      ctx.moveTo(X(this.cursor), 16); ctx.lineTo(X(this.cursor), h - 14); ctx.stroke();
    }
    let i = 0;
    for (const [name, pts] of this.series) {
      const color = COLORS[i % COLORS.length];
      ctx.strokeStyle = color; ctx.lineWidth = 1.5; ctx.beginPath();
      pts.forEach(([x, y], k) => (k ? ctx.lineTo(X(x), Y(y)) : ctx.moveTo(X(x), Y(y))));
      ctx.stroke();
      ctx.fillStyle = color; ctx.fillText(name, pad + 4 + (i % 3) * ((w - pad) / 3), h - 2 - Math.floor(i / 3) * 11);
      i++;
    }
  }
}
