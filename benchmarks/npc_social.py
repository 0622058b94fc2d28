"""Benchmark the NPC memory, relationship and gossip kernels at 100k NPCs (issue #4).

Prints, per operation, the median and p99 wall time of one call over all NPCs, and the same work done by a
plain-Python peer (per-NPC dicts, the way one would write it without columns) with the ratio.

    .venv/bin/python benchmarks/npc_social.py [--npcs 100000] [--repeats 30]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from numpy.random import PCG64, Generator

from npc.gossip import GossipParams, exchange
from npc.memory import MemoryKind, MemoryStore
from npc.social import Relations


def timed(fn, repeats: int) -> np.ndarray:
    """Wall times in ms of ``repeats`` calls of fn() (after one warm-up call)."""
    fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return np.array(out)


def python_remember(stores: list[dict], rows, facts, saliences, slots: int) -> None:
    """Peer: per NPC a dict fact -> [salience, ...], evicting the least salient when full."""
    for r, f, s in zip(rows.tolist(), facts.tolist(), saliences.tolist(), strict=True):
        mem = stores[r]
        if f in mem:
            mem[f][0] = max(mem[f][0], s)
        elif len(mem) < slots:
            mem[f] = [s, 0, 0]
        else:
            weakest = min(mem, key=lambda k: mem[k][0])
            if s > mem[weakest][0]:
                del mem[weakest]
                mem[f] = [s, 0, 0]


def python_decay(stores: list[dict], factor: float) -> None:
    """Peer: multiply every salience, drop the faint ones."""
    for mem in stores:
        for f in [f for f, m in mem.items() if m[0] * factor < 0.05]:
            del mem[f]
        for m in mem.values():
            m[0] *= factor


def python_interact(ties: list[dict], rows, others, deltas) -> None:
    """Peer: per NPC a dict other -> [affinity, trust, meetings]."""
    for r, o, d in zip(rows.tolist(), others.tolist(), deltas.tolist(), strict=True):
        t = ties[r].setdefault(o, [0.0, 0.0, 0])
        t[0] = min(1.0, max(-1.0, t[0] + d))
        t[2] += 1


def python_exchange(stores: list[dict], ties: list[dict], pairs, draws, ids, p_tell: float, slots: int) -> None:
    """Peer: per pair, the speaker's most salient memory that is news to the listener, told with p_tell."""
    for (s, listener), u in zip(pairs.tolist(), draws[:, 0].tolist(), strict=True):
        if s == listener:
            continue
        heard = stores[listener]
        news = [(m[0], f) for f, m in stores[s].items() if f not in heard or heard[f][1] > m[1] + 1]
        if not news or u >= p_tell:
            continue
        sal, fact = max(news)
        python_remember(stores, np.array([listener]), np.array([fact]), np.array([sal * 0.85]), slots)
        python_interact(ties, np.array([s, listener]), np.array([ids[listener], ids[s]]), np.array([0.02, 0.02]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--npcs", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    n, reps = args.npcs, args.repeats
    rng = Generator(PCG64(1))
    ids = (np.int64(1) << 20) | np.arange(n, dtype=np.int64)  # generation 1, row r (worldsim.ids)
    store, rel = MemoryStore(n, 8), Relations(n, 16)
    # a lived-in state: every row holds 8 memories and 16 ties, so eviction paths run
    for _ in range(8):
        store.remember(np.arange(n), rng.integers(1, 7, n), rng.integers(1, 1000, n), salience=rng.random(n))
    for _ in range(16):
        rel.interact(np.arange(n), rng.choice(ids, n), rng.normal(0, 0.3, n), 0.05, 0)

    rows = rng.integers(0, n, n)
    facts = rng.integers(1, 2000, n)
    sal = rng.random(n).astype(np.float32)
    others = rng.choice(ids, n)
    deltas = rng.normal(0, 0.1, n).astype(np.float32)
    pairs = rng.integers(0, n, (n, 2))
    draws = rng.random((n, 4))
    # neighbours meet: rows of one settlement are close together, so pairs are a few rows apart
    near = np.arange(n)
    local = np.stack([near, np.clip(near + rng.integers(-50, 51, n), 0, n - 1)], axis=1)
    few = rng.integers(0, n, (10_000, 2))
    params = GossipParams(p_tell=0.5)

    results = {
        f"remember  ({n} memories)": timed(lambda: store.remember(rows, MemoryKind.RUMOUR, facts, salience=sal), reps),
        f"decay     ({n}x8 slots, 1 min)": timed(lambda: store.decay(1 / 60), reps),
        f"interact  ({n} changes)": timed(lambda: rel.interact(rows, others, deltas, 0.01, 5), reps),
        f"exchange  ({n} random pairs)": timed(lambda: exchange(store, rel, pairs, draws, ids, 5, params), reps),
        f"exchange  ({n} neighbour pairs)": timed(lambda: exchange(store, rel, local, draws, ids, 5, params), reps),
        "exchange  (10000 random pairs)": timed(lambda: exchange(store, rel, few, draws[:10_000], ids, 5, params),
                                                reps),
        f"best      ({n} rows)": timed(lambda: store.best(MemoryKind.THREAT), reps),
        f"density   ({n} rows)": timed(lambda: rel.density(ids, 0.3), max(3, reps // 10)),
    }
    # plain-Python peer on the same work
    py_mem = [dict() for _ in range(n)]
    for _ in range(8):
        python_remember(py_mem, np.arange(n), rng.integers(1, 1000, n), rng.random(n), 8)
    py_ties = [dict() for _ in range(n)]
    peers = {
        f"remember  ({n} memories)": timed(lambda: python_remember(py_mem, rows, facts, sal.astype(float), 8), 3),
        f"decay     ({n}x8 slots, 1 min)": timed(lambda: python_decay(py_mem, 0.999), 3),
        f"interact  ({n} changes)": timed(lambda: python_interact(py_ties, rows, others, deltas), 3),
        f"exchange  ({n} random pairs)": timed(
            lambda: python_exchange(py_mem, py_ties, pairs, draws, ids.tolist(), 0.5, 8), 3),
    }
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"npc memory / social / gossip kernels, {n} NPCs, {reps} repeats (ms per call), "
          f"{os.cpu_count()} cores, load average {load:.1f}")
    print(f"{'operation':38s} {'min':>8s} {'median':>8s} {'p99':>8s} {'python peer':>12s} {'ratio':>7s}")
    for name, t in results.items():
        peer = peers.get(name)
        extra = f"{np.median(peer):12.1f} {np.median(peer) / np.median(t):6.0f}x" if peer is not None else ""
        print(f"{name:38s} {t.min():8.2f} {np.median(t):8.2f} {np.percentile(t, 99):8.2f} {extra}")


if __name__ == "__main__":
    main()
