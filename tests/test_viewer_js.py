"""The browser's protocol code (server/viewer/static/js: msgpack.js, snapshot.js) run in node against the
golden vectors and against snapshot chains from the Python reference encoder (random views, seeded)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from protocol.codec import encode
from protocol.messages import MAX_FRAME_BYTES
from protocol.snapshot import KindView, encode_snapshot

ROOT = Path(__file__).resolve().parents[1]
JS = ROOT / "server" / "viewer" / "tests_js"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is missing: apt-get install nodejs")


def node(*args: str) -> dict:
    proc = subprocess.run(["node", *args], cwd=JS, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_js_codec_passes_the_golden_vectors() -> None:
    summary = node("vectors.mjs", str(ROOT / "protocol" / "vectors"))
    assert summary["decoded"] >= 40 and summary["encoded"] >= 5 and summary["columns"] >= 5 and summary["views"] == 4


def _random_view(rng: np.random.Generator, ids_pool: np.ndarray, spread: int) -> dict[str, KindView]:
    view = {}
    for kind in ("npc", "creature", "player")[: int(rng.integers(1, 4))]:
        ids = np.sort(rng.choice(ids_pool, size=int(rng.integers(0, min(len(ids_pool), 3000))), replace=False))
        view[kind] = KindView(ids, rng.integers(-spread, spread, size=(len(ids), 3)))
    return view


def _moved(rng: np.random.Generator, view: dict[str, KindView], ids_pool: np.ndarray) -> dict[str, KindView]:
    out = {}
    for kind, v in view.items():
        keep = v.ids[rng.random(len(v.ids)) > 0.1]
        new = rng.choice(ids_pool, size=int(rng.integers(0, 50)), replace=False)
        ids = np.union1d(keep, new)
        old = dict(zip(v.ids.tolist(), v.q.tolist(), strict=True))
        q = np.array([old.get(i, [0, 0, 0]) for i in ids.tolist()], np.int64).reshape(-1, 3)
        q += rng.integers(-40, 41, size=q.shape)
        out[kind] = KindView(ids, q)
    if rng.random() < 0.3 and len(out) > 1:
        out.pop(next(iter(out)))
    return out


def test_js_decoder_matches_the_reference_encoder(tmp_path: Path) -> None:
    rng = np.random.Generator(np.random.PCG64(20261122))
    chains = []
    for c in range(6):
        pool = np.unique(np.concatenate([rng.integers(1, 2**20, 4000), rng.integers(2**31, 2**32, 200)]))
        spread = [64, 2**20, 2**40][c % 3]  # small deltas, whole-map positions, wide 64-bit columns
        views, frames = [_random_view(rng, pool, spread)], []
        for _ in range(4):
            views.append(_moved(rng, views[-1], pool))
        for t, view in enumerate(views, start=1):
            baseline = views[t - 2] if t > 1 else None
            parts = encode_snapshot(t, t - 1 if baseline is not None else 0, 0, float(t), view, baseline,
                                    max_bytes=MAX_FRAME_BYTES if c % 2 else 4000)  # odd chains: many parts
            frames.append([encode(p).hex() for p in parts])
        chains.append({"frames": frames,
                       "views": [{k: {"ids": v.ids.tolist(), "q": v.q.tolist()} for k, v in view.items()}
                                 for view in views]})
    assert any(len(parts) > 1 for chain in chains for parts in chain["frames"])
    data = tmp_path / "chains.json"
    data.write_text(json.dumps({"chains": chains}))
    assert node("crosscheck.mjs", str(data)) == {"ticks": 30}
