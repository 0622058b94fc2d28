// A small MessagePack codec for the Worldloom protocol (docs/protocol.md, "Encoding").
// Decodes every MessagePack type except ext; integers beyond 2^53 become BigInt. Encodes maps, arrays,
// strings, booleans, nil, Uint8Array (bin), integers in the smallest format and other numbers as float 64,
// which is what the server's decoder expects. Written for the viewer: no dependency, no build step.

const utf8d = new TextDecoder("utf-8", { fatal: true });
const utf8e = new TextEncoder();

export class MsgpackError extends Error {}

export function decode(buffer) {
  const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const need = (n) => { if (at + n > bytes.length) throw new MsgpackError("truncated MessagePack"); };
  const u64 = (signed) => {
    need(8);
    const v = signed ? view.getBigInt64(at, false) : view.getBigUint64(at, false);
    at += 8;
    return (v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(-Number.MAX_SAFE_INTEGER)) ? Number(v) : v;
  };
  const str = (n) => { need(n); const s = utf8d.decode(bytes.subarray(at, at + n)); at += n; return s; };
  const bin = (n) => { need(n); const b = bytes.slice(at, at + n); at += n; return b; };
  const arr = (n, depth) => { const out = new Array(n); for (let i = 0; i < n; i++) out[i] = value(depth); return out; };
  const map = (n, depth) => {
    const out = {};
    for (let i = 0; i < n; i++) { const k = value(depth); out[String(k)] = value(depth); }
    return out;
  };
  function value(depth) {
    if (depth > 64) throw new MsgpackError("MessagePack nested too deep");
    need(1);
    const b = bytes[at++];
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    if ((b & 0xe0) === 0xa0) return str(b & 0x1f);
    if ((b & 0xf0) === 0x90) return arr(b & 0x0f, depth + 1);
    if ((b & 0xf0) === 0x80) return map(b & 0x0f, depth + 1);
    let n;
    switch (b) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: need(1); n = bytes[at]; at += 1; return bin(n);
      case 0xc5: need(2); n = view.getUint16(at); at += 2; return bin(n);
      case 0xc6: need(4); n = view.getUint32(at); at += 4; return bin(n);
      case 0xca: need(4); n = view.getFloat32(at); at += 4; return n;
      case 0xcb: need(8); n = view.getFloat64(at); at += 8; return n;
      case 0xcc: need(1); return bytes[at++];
      case 0xcd: need(2); n = view.getUint16(at); at += 2; return n;
      case 0xce: need(4); n = view.getUint32(at); at += 4; return n;
      case 0xcf: return u64(false);
      case 0xd0: need(1); n = view.getInt8(at); at += 1; return n;
      case 0xd1: need(2); n = view.getInt16(at); at += 2; return n;
      case 0xd2: need(4); n = view.getInt32(at); at += 4; return n;
      case 0xd3: return u64(true);
      case 0xd9: need(1); n = bytes[at]; at += 1; return str(n);
      case 0xda: need(2); n = view.getUint16(at); at += 2; return str(n);
      case 0xdb: need(4); n = view.getUint32(at); at += 4; return str(n);
      case 0xdc: need(2); n = view.getUint16(at); at += 2; return arr(n, depth + 1);
      case 0xdd: need(4); n = view.getUint32(at); at += 4; return arr(n, depth + 1);
      case 0xde: need(2); n = view.getUint16(at); at += 2; return map(n, depth + 1);
      case 0xdf: need(4); n = view.getUint32(at); at += 4; return map(n, depth + 1);
      default: throw new MsgpackError(`unsupported MessagePack byte 0x${b.toString(16)}`);
    }
  }
  const out = value(0);
  if (at !== bytes.length) throw new MsgpackError("trailing bytes after the MessagePack value");
  return out;
}

export function encode(value) {
  const chunks = [];
  let size = 0;
  const push = (arr) => { chunks.push(arr); size += arr.length; };
  const u8 = (...xs) => push(Uint8Array.from(xs));
  const be = (n, bytes, setter) => {
    const b = new Uint8Array(bytes);
    new DataView(b.buffer)[setter](0, n);
    push(b);
  };
  function int(n) {
    if (n >= 0) {
      if (n <= 0x7f) return u8(n);
      if (n <= 0xff) return u8(0xcc, n);
      if (n <= 0xffff) { u8(0xcd); return be(n, 2, "setUint16"); }
      if (n <= 0xffffffff) { u8(0xce); return be(n, 4, "setUint32"); }
      u8(0xcf); return be(BigInt(n), 8, "setBigUint64");
    }
    if (n >= -32) return u8(n + 0x100);
    if (n >= -0x80) { u8(0xd0); return be(n, 1, "setInt8"); }
    if (n >= -0x8000) { u8(0xd1); return be(n, 2, "setInt16"); }
    if (n >= -0x80000000) { u8(0xd2); return be(n, 4, "setInt32"); }
    u8(0xd3); return be(BigInt(n), 8, "setBigInt64");
  }
  function any(v) {
    if (v === null || v === undefined) return u8(0xc0);
    if (v === true) return u8(0xc3);
    if (v === false) return u8(0xc2);
    if (typeof v === "bigint") { u8(v < 0n ? 0xd3 : 0xcf); return be(v, 8, v < 0n ? "setBigInt64" : "setBigUint64"); }
    if (typeof v === "number") {
      if (Number.isSafeInteger(v)) return int(v);
      if (Number.isInteger(v) && v >= -(2 ** 63) && v < 2 ** 64) return any(BigInt(v)); // an int beyond 2^53
      u8(0xcb); return be(v, 8, "setFloat64");
    }
    if (typeof v === "string") {
      const b = utf8e.encode(v);
      if (b.length < 32) u8(0xa0 | b.length);
      else if (b.length <= 0xff) u8(0xd9, b.length);
      else if (b.length <= 0xffff) { u8(0xda); be(b.length, 2, "setUint16"); }
      else { u8(0xdb); be(b.length, 4, "setUint32"); }
      return push(b);
    }
    if (v instanceof Uint8Array) {
      if (v.length <= 0xff) u8(0xc4, v.length);
      else if (v.length <= 0xffff) { u8(0xc5); be(v.length, 2, "setUint16"); }
      else { u8(0xc6); be(v.length, 4, "setUint32"); }
      return push(v);
    }
    if (Array.isArray(v)) {
      if (v.length < 16) u8(0x90 | v.length); else { u8(0xdc); be(v.length, 2, "setUint16"); }
      for (const x of v) any(x);
      return undefined;
    }
    if (v instanceof Float64Wrapper) { u8(0xcb); return be(v.value, 8, "setFloat64"); }
    const keys = Object.keys(v);
    if (keys.length < 16) u8(0x80 | keys.length); else { u8(0xde); be(keys.length, 2, "setUint16"); }
    for (const k of keys) { any(k); any(v[k]); }
    return undefined;
  }
  any(value);
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

// Wrap a number that must travel as float 64 even when it is integral (e.g. coordinates like 0.0).
export class Float64Wrapper { constructor(value) { this.value = value; } }
export const f64 = (x) => new Float64Wrapper(x);
