"""Parameters of every generator, checked at the boundary into frozen dataclasses.

Why this design: the library, the CLI and the service all accept plain mappings (JSON/MessagePack
shaped) and turn them into one typed dataclass per generator here, so a bad value is refused once, with
a ``ParameterError`` naming the parameter and the accepted range, before any work starts. Unknown keys
are refused too (a typo must not silently fall back to a default).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from .errors import ParameterError

MAX_SEED = (1 << 64) - 1
LEVEL_ALGORITHMS = ("bsp", "caves", "wfc", "templates")
CURVES = ("flat", "linear", "rising", "sawtooth", "peak")
NAME_KINDS = ("place", "person", "item")
MAX_KEYS = 6


def _int(params: Mapping[str, Any], key: str, default: int, lo: int, hi: int, prefix: str = "") -> int:
    value = params.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParameterError(prefix + key, f"must be an integer in [{lo}, {hi}], got {value!r}")
    if not lo <= value <= hi:
        raise ParameterError(prefix + key, f"must be in [{lo}, {hi}], got {value}")
    return value


def _float(params: Mapping[str, Any], key: str, default: float, lo: float, hi: float) -> float:
    value = params.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ParameterError(key, f"must be a number in [{lo}, {hi}], got {value!r}")
    if not lo <= value <= hi:
        raise ParameterError(key, f"must be in [{lo}, {hi}], got {value}")
    return float(value)


def _choice(params: Mapping[str, Any], key: str, default: str, allowed: Sequence[str]) -> str:
    value = params.get(key, default)
    if value not in allowed:
        raise ParameterError(key, f"unknown value {value!r}; choose one of {', '.join(allowed)}")
    return str(value)


def _check_keys(params: Mapping[str, Any], cls: type, prefix: str = "") -> None:
    if not isinstance(params, Mapping):
        raise ParameterError(prefix.rstrip(".") or "params",
                             f"must be a map of parameter names to values, got {type(params).__name__}")
    known = {f.name for f in fields(cls)}
    for key in params:
        if key not in known:
            raise ParameterError(f"{prefix}{key!s}" or repr(key), f"unknown parameter; known: {', '.join(sorted(known))}")


# ---------------------------------------------------------------- terrain
@dataclass(frozen=True)
class TerrainParams:
    """Heightmap generation.

    size: cells per side, 2^n+1 in [17, 4097] (the sizes Unity's RAW import accepts).
    octaves/frequency/roughness: fractal noise layers, lattice cells across the map for the first
        layer, amplitude kept per layer (persistence; higher = rougher).
    sea_level: fraction of the height range under water, [0, 1].
    island: fade the edges into the sea.
    droplets: hydraulic erosion droplets (None = size^2 / 16); thermal_iterations: talus passes.
    river_threshold: upstream cells for a river (None = max(size, size^2 / 1500)).
    height_scale / cell_size: metres for the full height range / between neighbouring samples (mesh).
    mesh_resolution: vertices per side of the exported .glb mesh (the heightmap is resampled).
    """

    seed: int = 0
    size: int = 257
    octaves: int = 6
    frequency: float = 3.0
    roughness: float = 0.5
    sea_level: float = 0.35
    island: bool = False
    droplets: int | None = None
    thermal_iterations: int = 10
    river_threshold: int | None = None
    height_scale: float = 120.0
    cell_size: float = 2.0
    mesh_resolution: int = 129

    @property
    def droplet_count(self) -> int:
        return self.size * self.size // 16 if self.droplets is None else self.droplets

    @property
    def river_cells(self) -> int:
        return max(self.size, self.size * self.size // 1500) if self.river_threshold is None else self.river_threshold


def terrain_params(params: Mapping[str, Any], max_size: int = 4097) -> TerrainParams:
    """Validate a mapping into ``TerrainParams``. Raises ``ParameterError`` naming the bad key."""
    _check_keys(params, TerrainParams)
    size = _int(params, "size", 257, -(2**31), 2**31)
    if size < 17 or size > max_size or (size - 1) & (size - 2):
        raise ParameterError("size", f"must be 2^n+1 between 17 and {max_size} (e.g. 257, 513, 1025), got {size}")
    island = params.get("island", False)
    if not isinstance(island, bool):
        raise ParameterError("island", f"must be true or false, got {island!r}")
    droplets = params.get("droplets")
    if droplets is not None:
        droplets = _int(params, "droplets", 0, 0, 4 * size * size)
    river = params.get("river_threshold")
    if river is not None:
        river = _int(params, "river_threshold", 0, 1, size * size)
    return TerrainParams(
        seed=_int(params, "seed", 0, 0, MAX_SEED), size=size,
        octaves=_int(params, "octaves", 6, 1, 12),
        frequency=_float(params, "frequency", 3.0, 0.25, 256.0),
        roughness=_float(params, "roughness", 0.5, 0.05, 0.95),
        sea_level=_float(params, "sea_level", 0.35, 0.0, 1.0), island=island, droplets=droplets,
        thermal_iterations=_int(params, "thermal_iterations", 10, 0, 500), river_threshold=river,
        height_scale=_float(params, "height_scale", 120.0, 0.01, 100000.0),
        cell_size=_float(params, "cell_size", 2.0, 0.001, 10000.0),
        mesh_resolution=_int(params, "mesh_resolution", min(129, size), 2, min(size, 1025)),
    )


# ---------------------------------------------------------------- levels
@dataclass(frozen=True)
class LevelTargets:
    """What the designer asks for; the generator reports how close it came to each.

    enemies/treasure/traps: counts; keys: key+locked-door pairs on the critical path (0..MAX_KEYS);
    path_length: wanted steps from start to exit (None = as long as the layout allows).
    """

    enemies: int = 6
    treasure: int = 3
    traps: int = 2
    keys: int = 1
    path_length: int | None = None


@dataclass(frozen=True)
class LevelParams:
    """Level/dungeon generation.

    algorithm: bsp | caves | wfc | templates. width/height: tiles (16..256).
    difficulty: overall difficulty in [0, 1] (scales enemy strength and loot).
    curve: difficulty along the critical path: a name (flat, linear, rising, sawtooth, peak) or 2..32
        control points in [0, 1] sampled evenly from the entrance (first) to the exit (last).
    sample: WFC input as rows of '#' (wall) and '.' (floor); None = the bundled sample.
    pattern_size: WFC overlapping pattern size N (2..4).
    """

    seed: int = 0
    algorithm: str = "bsp"
    width: int = 32
    height: int = 32
    difficulty: float = 0.5
    curve: str | tuple[float, ...] = "rising"
    targets: LevelTargets = field(default_factory=LevelTargets)
    sample: tuple[str, ...] | None = None
    pattern_size: int = 3


def _curve(value: Any) -> str | tuple[float, ...]:
    if isinstance(value, str):
        if value not in CURVES:
            raise ParameterError("curve", f"unknown curve {value!r}; choose one of {', '.join(CURVES)} "
                                          "or give 2..32 numbers in [0, 1]")
        return value
    if isinstance(value, (list, tuple)) and 2 <= len(value) <= 32 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and 0 <= v <= 1
            for v in value):
        return tuple(float(v) for v in value)
    raise ParameterError("curve", f"must be a curve name ({', '.join(CURVES)}) or 2..32 numbers in [0, 1], "
                                  f"got {value!r}")


def _sample(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or not 3 <= len(value) <= 64:
        raise ParameterError("sample", "must be 3..64 rows of '#' and '.' characters")
    rows = tuple(value)
    width = len(rows[0]) if isinstance(rows[0], str) else 0
    for i, row in enumerate(rows):
        if not isinstance(row, str) or len(row) != width or not 3 <= width <= 64 or set(row) - {"#", "."}:
            raise ParameterError(f"sample[{i}]", "every row must be a string of '#' and '.' of the same "
                                                 "length (3..64)")
    if "." not in "".join(rows) or "#" not in "".join(rows):
        raise ParameterError("sample", "needs both walls '#' and floor '.'")
    return rows


def level_params(params: Mapping[str, Any]) -> LevelParams:
    """Validate a mapping into ``LevelParams``; refuses impossible targets up front.

    Raises ``ParameterError`` naming the parameter (``targets.keys``) and why.
    """
    _check_keys(params, LevelParams)
    algorithm = _choice(params, "algorithm", "bsp", LEVEL_ALGORITHMS)
    width = _int(params, "width", 32, 16, 256)
    height = _int(params, "height", 32, 16, 256)
    raw_targets = params.get("targets") or {}
    _check_keys(raw_targets, LevelTargets, "targets.")
    area = width * height
    capacity = area // 5
    path = raw_targets.get("path_length")
    if path is not None:
        path = _int(raw_targets, "path_length", 0, 1, 2**31, "targets.")
        if path > area // 2:
            raise ParameterError("targets.path_length", f"{path} steps cannot fit a {width}x{height} level "
                                                        f"(at most {area // 2}); lower it or enlarge the level")
    targets = LevelTargets(
        enemies=_int(raw_targets, "enemies", 6, 0, 2**31, "targets."),
        treasure=_int(raw_targets, "treasure", 3, 0, 2**31, "targets."),
        traps=_int(raw_targets, "traps", 2, 0, 2**31, "targets."),
        keys=_int(raw_targets, "keys", 1, 0, MAX_KEYS, "targets."), path_length=path)
    placed = targets.enemies + targets.treasure + targets.traps + 2 * targets.keys + 2
    if placed > capacity:
        raise ParameterError("targets", f"asks for {placed} placements but a {width}x{height} level holds at "
                                        f"most {capacity} (one per 5 tiles); ask for fewer enemies, "
                                        "treasure or traps, or enlarge the level")
    pattern_size = _int(params, "pattern_size", 3, 2, 4)
    sample = _sample(params.get("sample"))
    if sample is not None and (len(sample) < pattern_size or len(sample[0]) < pattern_size):
        raise ParameterError("sample", f"must be at least pattern_size ({pattern_size}) rows and columns")
    return LevelParams(
        seed=_int(params, "seed", 0, 0, MAX_SEED), algorithm=algorithm, width=width, height=height,
        difficulty=_float(params, "difficulty", 0.5, 0.0, 1.0), curve=_curve(params.get("curve", "rising")),
        targets=targets, sample=sample, pattern_size=pattern_size)


# ---------------------------------------------------------------- loot and names
@dataclass(frozen=True)
class LootParams:
    """Loot drops: ``count`` items for ``difficulty`` in [0, 1] (rarity odds and stats scale with it)."""

    seed: int = 0
    difficulty: float = 0.5
    count: int = 10


def loot_params(params: Mapping[str, Any]) -> LootParams:
    _check_keys(params, LootParams)
    return LootParams(seed=_int(params, "seed", 0, 0, MAX_SEED),
                      difficulty=_float(params, "difficulty", 0.5, 0.0, 1.0),
                      count=_int(params, "count", 10, 1, 500))


@dataclass(frozen=True)
class NamesParams:
    """Names from a seeded Markov chain: ``kind`` place | person | item, ``count`` distinct names."""

    seed: int = 0
    kind: str = "place"
    count: int = 10
    min_length: int = 4
    max_length: int = 10


def names_params(params: Mapping[str, Any]) -> NamesParams:
    _check_keys(params, NamesParams)
    lo = _int(params, "min_length", 4, 2, 20)
    hi = _int(params, "max_length", 10, 2, 24)
    if hi < lo:
        raise ParameterError("max_length", f"must be >= min_length ({lo}), got {hi}")
    return NamesParams(seed=_int(params, "seed", 0, 0, MAX_SEED), kind=_choice(params, "kind", "place", NAME_KINDS),
                       count=_int(params, "count", 10, 1, 500), min_length=lo, max_length=hi)
