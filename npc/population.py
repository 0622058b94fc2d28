"""Where NPCs live and work: homes, work spots, market, tavern and patrol rounds per NPC, and their names.

Placement draws only from the stream it is given (the world's ``npc.init``), in a fixed order, so the same
seed places the same town. Positions are metres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

PATROL_POINTS = 4
PATROL_RADIUS = 30.0
"""Guards walk a square of waypoints this far (metres) from their settlement's centre."""

_ONSETS = ("b", "br", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "st", "t", "th", "w", "v", "c")
_VOWELS = ("a", "e", "i", "o", "u", "ae", "ia", "ou", "y")
_CODAS = ("", "n", "r", "l", "s", "th", "m", "d", "ck", "nd", "rt")


def make_name(rng: np.random.Generator) -> str:
    """A pronounceable two-syllable given name."""
    parts = []
    for _ in range(2):
        parts.append(_ONSETS[rng.integers(len(_ONSETS))] + _VOWELS[rng.integers(len(_VOWELS))]
                     + _CODAS[rng.integers(len(_CODAS))])
    return "".join(parts).capitalize()


@dataclass
class Placement:
    """Arrays for n NPCs: ``home`` (n, 2) spawn and rest spot, ``places`` (n, 4, 2) home/work/market/tavern,
    ``patrol`` (n, PATROL_POINTS, 2), ``work_node`` (n,) resource node index or -1, ``town`` (n,) settlement
    index, ``role`` (n,) role index, ``names`` list."""

    home: npt.NDArray[np.float64]
    places: npt.NDArray[np.float64]
    patrol: npt.NDArray[np.float64]
    work_node: npt.NDArray[np.int64]
    town: npt.NDArray[np.int64]
    role: npt.NDArray[np.int64]
    names: list[str]


def place_population(rng: np.random.Generator, towns: list[tuple[int, list[tuple[int, int]]]],
                     town_xy: npt.NDArray[np.float64], role_work_good: list[int], role_hostile: list[bool],
                     node_good: npt.NDArray[np.int64], node_xy: npt.NDArray[np.float64],
                     passable: callable, half_extent: float, home_radius: float, camp_distance: float,
                     field_distance: tuple[float, float]) -> Placement:
    """Place every NPC. ``towns``: [(settlement index, [(role index, count), ...]), ...] in file order;
    ``passable(x, y) -> bool``; ``role_work_good`` good index per role (-1: no job)."""
    homes, places, patrols, nodes, town_of, roles, names = [], [], [], [], [], [], []
    h = half_extent - 1.0

    def clip(p: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.clip(p, -h, h)

    def near(centre: npt.NDArray[np.float64], lo: float, hi: float) -> npt.NDArray[np.float64]:
        for _ in range(16):  # prefer passable ground; give up gracefully on a waterlogged map
            angle = rng.uniform(0, 2 * math.pi)
            radius = math.sqrt(rng.uniform(lo * lo, hi * hi))
            p = clip(centre + radius * np.array([math.cos(angle), math.sin(angle)]))
            if passable(p[0], p[1]):
                return p
        return clip(centre.copy())

    for town, counts in towns:
        centre = town_xy[town]
        tavern = near(centre, 4.0, 8.0)
        camp = near(centre, camp_distance, camp_distance * 1.2)
        patrol = np.array([clip(centre + PATROL_RADIUS * np.array([math.cos(a), math.sin(a)]))
                           for a in np.linspace(0, 2 * math.pi, PATROL_POINTS, endpoint=False) + math.pi / 4])
        for role, count in counts:
            for _ in range(count):
                home = near(camp, 0.0, 6.0) if role_hostile[role] else near(centre, 3.0, home_radius)
                good = role_work_good[role]
                node = -1
                work = home.copy()
                if good >= 0:
                    candidates = np.flatnonzero(node_good == good)
                    if len(candidates):
                        d = np.hypot(*(node_xy[candidates] - home).T)
                        node = int(candidates[np.argmin(d)])
                        work = node_xy[node].copy()
                    else:
                        work = near(centre, *field_distance)
                homes.append(home)
                places.append(np.stack([home, work, centre.copy(), tavern]))
                patrols.append(patrol)
                nodes.append(node)
                town_of.append(town)
                roles.append(role)
                names.append(make_name(rng))
    n = len(homes)
    return Placement(
        home=np.array(homes, dtype=np.float64).reshape(n, 2),
        places=np.array(places, dtype=np.float64).reshape(n, 4, 2),
        patrol=np.array(patrols, dtype=np.float64).reshape(n, PATROL_POINTS, 2),
        work_node=np.array(nodes, dtype=np.int64), town=np.array(town_of, dtype=np.int64),
        role=np.array(roles, dtype=np.int64), names=names)
