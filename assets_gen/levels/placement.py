"""Typed placements along the critical path, following a difficulty curve, with a report on the targets.

Why this design: the start is put at the periphery (far end of a breadth-first sweep) and the exit at
the floor tile whose distance from the start is closest to the requested path length, so the critical
path length is met whenever the layout allows it. Every tile gets a progress value t in [0, 1] from
its nearest critical-path tile; enemies and traps are drawn with probability following the curve at
their t and carry the curve's difficulty; treasure goes to side branches (far from the path). Locked
doors are put on the critical path at evenly spaced progress (preferring chokepoints, so they gate),
and key i goes where the player can reach it with doors i.. still locked, which makes every level
solvable by construction; ``check_playable`` verifies it independently.
"""

from __future__ import annotations

import numpy as np

from ..loot import roll_item
from ..params import LevelParams
from .curves import curve_points, evaluate
from .paths import bfs_distances, nearest_source, shortest_path
from .tiles import Tile

SEGMENTS = 8
"""Critical-path segments over which the realised difficulty is compared with the curve."""
SAFE_RADIUS = 3
"""No enemy or trap within this many steps of the start."""


def _pick(rng: np.random.Generator, candidates: np.ndarray, weights: np.ndarray, count: int) -> np.ndarray:
    """Up to ``count`` distinct rows of ``candidates`` drawn with probability proportional to ``weights``."""
    count = min(count, len(candidates))
    if count == 0:
        return candidates[:0]
    chosen = rng.choice(len(candidates), size=count, replace=False, p=weights / weights.sum())
    return candidates[np.sort(chosen)]


def _is_chokepoint(tiles: np.ndarray, cell: tuple[int, int], start: tuple[int, int], goal: tuple[int, int]) -> bool:
    passable = tiles == Tile.FLOOR
    passable[cell] = False
    return bool(bfs_distances(passable, *start)[goal] < 0)


def place(tiles: np.ndarray, p: LevelParams, rng: np.random.Generator) -> tuple[list[dict], list[tuple[int, int]], dict]:
    """Put start, exit, doors, keys, enemies, traps and treasure on ``tiles`` (doors change tiles in place).

    Returns (placements, critical path as [(x, y), ...], report of targets vs achieved).
    """
    targets = p.targets
    floor = np.argwhere(tiles == Tile.FLOOR)
    first = tuple(floor[int(rng.integers(len(floor)))])
    sweep = bfs_distances(tiles == Tile.FLOOR, *first)
    sy, sx = (int(v) for v in np.unravel_index(int(np.argmax(sweep)), sweep.shape))
    start = (sy, sx)
    dist = bfs_distances(tiles == Tile.FLOOR, *start)
    reachable = dist >= 0
    if targets.path_length is None:
        goal_value = int(dist.max())
    else:
        gap = np.where(reachable, np.abs(dist - targets.path_length), np.iinfo(np.int32).max)
        goal_value = int(dist.ravel()[int(np.argmin(gap))])
    ties = np.argwhere(dist == goal_value)
    gy, gx = (int(v) for v in ties[int(rng.integers(len(ties)))])
    goal = (gy, gx)
    path = shortest_path(dist, goal)
    length = len(path) - 1
    occupied = np.zeros(tiles.shape, dtype=bool)
    occupied[start] = occupied[goal] = True
    placements: list[dict] = [{"type": "start", "x": start[1], "y": start[0]},
                              {"type": "exit", "x": goal[1], "y": goal[0], "progress": 1.0}]

    # doors on the critical path, keys where they can be reached with later doors still locked
    path_index = {cell: i for i, cell in enumerate(path)}
    doors: list[tuple[int, int]] = []
    gating = 0
    for j in range(1, targets.keys + 1):
        centre = round(length * j / (targets.keys + 1))
        window = max(1, length // (2 * (targets.keys + 1)))
        candidates = [i for i in range(max(2, centre - window), min(length - 1, centre + window + 1))
                      if not occupied[path[i]] and (not doors or i > path_index[doors[-1]] + 1)]
        if not candidates:
            continue
        candidates.sort(key=lambda i: abs(i - centre))
        chosen = next((i for i in candidates[:8] if _is_chokepoint(tiles, path[i], start, goal)), None)
        gating += chosen is not None
        cell = path[chosen if chosen is not None else candidates[0]]
        tiles[cell] = Tile.DOOR
        occupied[cell] = True
        doors.append(cell)
    labels, side = nearest_source(tiles != Tile.WALL, np.array(path, dtype=np.int64))
    progress = np.where(labels >= 0, labels / max(length, 1), 0.0)
    keys_placed = 0
    for j, door in enumerate(doors, start=1):
        placements.append({"type": "door", "key": j, "x": door[1], "y": door[0],
                           "progress": round(float(progress[door]), 3)})
        open_now = tiles == Tile.FLOOR
        for earlier in doors[:j - 1]:
            open_now[earlier] = True
        here = (bfs_distances(open_now, *start) >= 0) & ~occupied & (tiles == Tile.FLOOR)
        spots = np.argwhere(here)
        if len(spots) == 0:
            continue
        detour = side[here].astype(np.float64)
        best = spots[detour >= detour.max() - 1] if detour.max() > 0 else spots
        cy, cx = (int(v) for v in best[int(rng.integers(len(best)))])
        cell = (cy, cx)
        occupied[cell] = True
        keys_placed += 1
        placements.append({"type": "key", "key": j, "x": cell[1], "y": cell[0],
                           "progress": round(float(progress[cell]), 3)})

    # enemies and traps follow the curve; treasure hides in side branches
    level_at = evaluate(p.curve, progress)
    free = (tiles == Tile.FLOOR) & ~occupied & (dist > SAFE_RADIUS)
    spots = np.argwhere(free)
    enemy_cells = _pick(rng, spots, level_at[free] ** 2 + 0.02, targets.enemies)
    realised = np.zeros(SEGMENTS)
    for r, c in enemy_cells:
        occupied[r, c] = True
        local = float(level_at[r, c])
        power = 1.0 + 9.0 * local * (0.5 + 0.5 * p.difficulty)
        realised[min(SEGMENTS - 1, int(progress[r, c] * SEGMENTS))] += power
        placements.append({"type": "enemy", "x": int(c), "y": int(r), "progress": round(float(progress[r, c]), 3),
                           "difficulty": round(local, 3), "power": round(power, 2)})
    free &= ~occupied
    on_path = np.zeros(tiles.shape, dtype=bool)
    for cell in path[1:-1]:
        on_path[cell] = True
    spots = np.argwhere(free)
    trap_cells = _pick(rng, spots, (level_at[free] + 0.05) * np.where(on_path[free], 4.0, 1.0), targets.traps)
    for r, c in trap_cells:
        occupied[r, c] = True
        local = float(level_at[r, c])
        placements.append({"type": "trap", "x": int(c), "y": int(r), "progress": round(float(progress[r, c]), 3),
                           "difficulty": round(local, 3), "damage": round(5 + 25 * local * (0.5 + 0.5 * p.difficulty), 1)})
    free &= ~occupied
    spots = np.argwhere(free)
    treasure_cells = _pick(rng, spots, side[free].astype(np.float64) + 1.0, targets.treasure)
    for r, c in treasure_cells:
        occupied[r, c] = True
        local = float(min(1.0, 0.5 * p.difficulty + 0.5 * level_at[r, c]))
        placements.append({"type": "treasure", "x": int(c), "y": int(r), "progress": round(float(progress[r, c]), 3),
                           "items": [roll_item(rng, local) for _ in range(1 + int(rng.integers(3)))]})

    wanted = evaluate(p.curve, (np.arange(SEGMENTS) + 0.5) / SEGMENTS)
    curve_error = None
    if realised.max() > 0 and wanted.max() > 0:
        curve_error = round(float(np.abs(realised / realised.max() - wanted / wanted.max()).mean()), 3)
    report = {
        "enemies": {"target": targets.enemies, "placed": int(len(enemy_cells))},
        "treasure": {"target": targets.treasure, "placed": int(len(treasure_cells))},
        "traps": {"target": targets.traps, "placed": int(len(trap_cells))},
        "keys": {"target": targets.keys, "placed": keys_placed, "doors": len(doors), "doors_gating": gating},
        "path_length": {"target": targets.path_length, "achieved": length,
                        "longest_possible": int(dist.max())},
        "curve": {"points": [round(float(v), 3) for v in curve_points(p.curve)],
                  "segment_power": [round(float(v), 2) for v in realised], "mean_abs_error": curve_error},
    }
    return placements, [(c, r) for r, c in path], report
