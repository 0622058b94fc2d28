"""Browser frame time of the web viewer with many entities on screen, streamed at 20 Hz.

Boots a real server (bare world, ``--entities`` wanderers, 20 Hz), opens ``/viewer/`` in Debian's headless
chromium (playwright-core, ``server/viewer/tests_js/drive.mjs bench``) and prints, over ``--seconds``:
the page's draw time per animation frame (interpolate + draw every entity), the interval between frames,
and the time to decode and apply one snapshot. Target (issue #10): 10k entities at 20 Hz without the page
falling behind, i.e. draw + snapshot work well inside a 16.7 ms frame and snapshots applied at ~20/s.
No peer: no other viewer speaks this protocol. Needs ``server/viewer/install-runtime.sh``.

    .venv/bin/python benchmarks/viewer_frames.py --entities 10000 --seconds 8
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server.testing import boot  # noqa: E402

DRIVER = ROOT / "server" / "viewer" / "tests_js" / "drive.mjs"


async def measure(entities: int, seconds: float, out: Path) -> dict:
    async with boot(npc_count=entities, half_extent=400.0, tick_rate=20) as srv:
        await srv.wait_for_ticks(5, timeout=60)
        proc = await asyncio.create_subprocess_exec(
            "node", str(DRIVER), "bench", f"http://127.0.0.1:{srv.port}", str(seconds), str(out),
            cwd=str(DRIVER.parent), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=seconds + 120)
        if proc.returncode != 0:
            raise SystemExit(f"drive.mjs failed: {stderr.decode()[-2000:]}\nfix: run server/viewer/install-runtime.sh")
        result = json.loads(stdout.decode().strip().splitlines()[-1])
        result["server_tick_ms"] = srv.server.metrics.tick_percentiles_ms()
        return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entities", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--json", action="store_true", help="print the raw JSON only")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        r = asyncio.run(measure(args.entities, args.seconds, Path(tmp)))
    if args.json:
        print(json.dumps(r))
        return 0
    snaps_per_s = r["snapshots"] / r["seconds"]
    print(f"viewer_frames: {r['drawn']} entities drawn, {r['frames']} frames and {r['snapshots']} snapshots "
          f"in {r['seconds']:.1f} s ({snaps_per_s:.1f} snapshots/s applied, {r['badSnapshots']} unusable)")
    print(f"  draw per frame   p50 {r['draw_ms']['p50']:.2f} ms  p95 {r['draw_ms']['p95']:.2f} ms  max {r['draw_ms']['max']:.2f} ms")
    print(f"  frame interval   p50 {r['frame_interval_ms']['p50']:.2f} ms  p95 {r['frame_interval_ms']['p95']:.2f} ms")
    print(f"  snapshot apply   p50 {r['snapshot_apply_ms']['p50']:.2f} ms  p95 {r['snapshot_apply_ms']['p95']:.2f} ms")
    print(f"  server tick      p50 {r['server_tick_ms']['p50']:.2f} ms  p99 {r['server_tick_ms']['p99']:.2f} ms")
    print("  target: 10k entities at 20 Hz without falling behind (draw + apply inside a 16.7 ms frame, ~20 snapshots/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
