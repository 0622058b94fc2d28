// The viewer as a protocol client (docs/protocol.md): Hello as spectator or admin, snapshot assembly with
// Ack, RPC calls as promises, events. Protocol version and schema hash come from /viewer/config.json, so
// the page always speaks the schema of the server that served it.
import { decode, encode } from "./msgpack.js";
import { SnapshotAssembler, SnapshotError } from "./snapshot.js";

export class RpcFailure extends Error {
  constructor(method, code, message) { super(`${method}: ${message} (code ${code})`); this.code = code; this.reason = message; }
}

export class Connection extends EventTarget {
  constructor({ url, role, token, config }) {
    super();
    this.url = url; this.role = role; this.token = token || ""; this.config = config;
    this.assembler = new SnapshotAssembler();
    this.calls = new Map(); this.nextId = 1;
    this.welcome = null; this.bytesIn = 0; this.snapshots = 0; this.badSnapshots = 0; this.applyMs = [];
  }

  open() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      ws.binaryType = "arraybuffer";
      this.ws = ws;
      ws.onopen = () => this.send({
        t: "hello", protocol: this.config.protocol, schema: this.config.schema, client: "worldloom-viewer",
        version: "0.1.0", role: this.role, token: this.token, resume: "", name: "viewer", methods: [],
      });
      ws.onmessage = (ev) => {
        if (typeof ev.data === "string") return;
        this.bytesIn += ev.data.byteLength;
        const received = performance.now();
        let msg;
        try { msg = decode(ev.data); } catch (err) { console.warn("undecodable frame", err); return; }
        if (msg.t === "welcome") { this.welcome = msg; resolve(msg); return; }
        if (msg.t === "error" && !this.welcome) { reject(new Error(`refused: ${msg.message} (code ${msg.code})`)); return; }
        this.handle(msg, received);
      };
      ws.onclose = (ev) => {
        if (!this.welcome) reject(new Error(`connection closed (${ev.code}) before welcome`));
        for (const [, c] of this.calls) c.reject(new RpcFailure(c.method, 0, "connection closed"));
        this.calls.clear();
        this.dispatchEvent(new CustomEvent("close", { detail: ev.code }));
      };
    });
  }

  send(msg) { if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(encode(msg)); }

  // received: performance.now() when the frame arrived (snapshot timing includes its decode)
  handle(msg, received = performance.now()) {
    switch (msg.t) {
      case "snap": {
        const t0 = received;
        let done = null;
        try { done = this.assembler.feed(msg); } catch (err) {
          if (!(err instanceof SnapshotError)) throw err;
          this.badSnapshots++;
          return;
        }
        if (done) {
          this.applyMs.push(performance.now() - t0);
          if (this.applyMs.length > 600) this.applyMs.shift();
          this.snapshots++;
          this.send({ t: "ack", tick: done.tick });
          this.dispatchEvent(new CustomEvent("view", { detail: done }));
        }
        return;
      }
      case "rpc_result": {
        const call = this.calls.get(msg.id);
        if (!call) return;
        this.calls.delete(msg.id);
        if (msg.code) call.reject(new RpcFailure(call.method, msg.code, msg.message || "")); else call.resolve(msg.result);
        return;
      }
      case "event": this.dispatchEvent(new CustomEvent("event", { detail: msg })); return;
      case "error": this.dispatchEvent(new CustomEvent("notice", { detail: msg })); return;
      case "bye": this.dispatchEvent(new CustomEvent("bye", { detail: msg })); return;
      default:
    }
  }

  call(method, params = null, deadlineMs = 5000) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject, method });
      this.send({ t: "rpc", id, method, params, deadline_ms: deadlineMs });
      setTimeout(() => {
        if (this.calls.delete(id)) reject(new RpcFailure(method, 10, "no answer in time"));
      }, deadlineMs + 1000);
    });
  }
}
