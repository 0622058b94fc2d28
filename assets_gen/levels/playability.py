"""Playability check: can a player walk from the start, collect the keys, open the doors and exit?

Why this design: a fixed-point search — flood from the start with every locked door closed, pick up
the keys reached, open their doors, flood again — decides lock-and-key puzzles exactly for any layout
in at most (keys + 1) floods. The result is reported with the level, never used to hide a failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .paths import bfs_distances
from .tiles import Tile


@dataclass
class Playability:
    """Outcome of ``check_playable``: ``playable`` plus what was reached and what was not."""

    playable: bool
    exit_reachable: bool
    keys_reached: list[int]
    doors_opened: list[int]
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"playable": self.playable, "exit_reachable": self.exit_reachable,
                "keys_reached": self.keys_reached, "doors_opened": self.doors_opened, "problems": self.problems}


def check_playable(tiles: np.ndarray, placements: list[dict]) -> Playability:
    """Check ``tiles`` (h, w) with ``placements`` (dicts with ``type``, ``x``, ``y``, keys/doors ``key``)."""
    by_type: dict[str, list[dict]] = {}
    for item in placements:
        by_type.setdefault(item["type"], []).append(item)
    problems = []
    starts, exits = by_type.get("start", []), by_type.get("exit", [])
    if len(starts) != 1 or len(exits) != 1:
        return Playability(False, False, [], [], [f"need exactly one start and one exit, got {len(starts)} "
                                                  f"and {len(exits)}"])
    doors = {d["key"]: (d["y"], d["x"]) for d in by_type.get("door", [])}
    keys = {k["key"]: (k["y"], k["x"]) for k in by_type.get("key", [])}
    passable = tiles == Tile.FLOOR
    for key, (r, c) in doors.items():
        if tiles[r, c] != Tile.DOOR:
            problems.append(f"door {key} at ({c}, {r}) is not a door tile")
    start, goal = (starts[0]["y"], starts[0]["x"]), (exits[0]["y"], exits[0]["x"])
    held: set[int] = set()
    while True:
        dist = bfs_distances(passable, *start)
        reached = {k for k, (r, c) in keys.items() if dist[r, c] >= 0} - held
        if not reached:
            break
        held |= reached
        for key in reached:
            if key in doors:
                passable[doors[key]] = True
    exit_ok = bool(dist[goal] >= 0)
    missing = sorted(set(keys) - held)
    if missing:
        problems.append(f"keys {missing} cannot be reached")
    if not exit_ok:
        problems.append("the exit cannot be reached")
    opened = sorted(k for k in doors if k in held)
    return Playability(exit_ok and not problems, exit_ok, sorted(held), opened, problems)
