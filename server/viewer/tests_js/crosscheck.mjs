// Applies snapshot chains written by the Python reference encoder (tests/test_viewer_js.py) with the
// viewer's decoder and compares every resulting view with the reference. Input: a JSON file
// {chains: [{frames: [[hex part, ...] per tick], views: [{kind: {ids, q}} per tick]}]}, parts of a tick fed
// in reverse order. Prints {"ticks": n}; exits 1 on the first mismatch.
import { readFileSync } from "node:fs";
import { decode } from "../static/js/msgpack.js";
import { SnapshotAssembler } from "../static/js/snapshot.js";

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
let ticks = 0;
input.chains.forEach((chain, c) => {
  const asm = new SnapshotAssembler();
  chain.frames.forEach((parts, t) => {
    let done = null;
    for (const hex of [...parts].reverse()) done = asm.feed(decode(new Uint8Array(Buffer.from(hex, "hex")))) || done;
    const want = chain.views[t];
    if (!done) { console.error(`chain ${c} tick ${t}: incomplete`); process.exit(1); }
    const kinds = Object.keys(done.view).sort().join(",");
    if (kinds !== Object.keys(want).sort().join(",")) { console.error(`chain ${c} tick ${t}: kinds ${kinds}`); process.exit(1); }
    for (const [kind, w] of Object.entries(want)) {
      const v = done.view[kind];
      const ids = Array.from(v.ids).join(","), q = Array.from(v.q).join(",");
      if (ids !== w.ids.join(",") || q !== w.q.flat().join(",")) {
        console.error(`chain ${c} tick ${t} kind ${kind}: view differs`); process.exit(1);
      }
    }
    ticks++;
  });
});
console.log(JSON.stringify({ ticks }));
