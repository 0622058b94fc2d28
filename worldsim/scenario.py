"""Scenario files: a world described in TOML (size, seed, terrain, biomes, weather, species, goods,
settlements, resource nodes, physics props), decoded into typed, validated structs.

Why this design: msgspec decodes the TOML straight into frozen Structs with ``forbid_unknown_fields``, so a
typo'd key or a wrong type is caught with a path (``$.species.sheep.reproduce``) before any world exists;
cross-references (a predator's prey, a node's biome, a weather transition) are checked afterwards with the
same error type. Named things are TOML tables keyed by name (``[species.sheep]``), which keeps files
readable, gives overrides a natural dotted key (``species.sheep.reproduce=0.05``) and fixes the order
(file order = activation order). Alternatives rejected: YAML (a second parser and implicit typing, e.g.
``no`` -> False) and JSON Schema (a second description of the same structs that can drift).

Every error is a ``ScenarioError`` naming the file, the key and what was expected.
"""

from __future__ import annotations

import math
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct

from .errors import ScenarioError

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
"""Bundled scenarios (``meadow.toml`` is the default world)."""

Positive = Annotated[float, Meta(gt=0)]
NonNeg = Annotated[float, Meta(ge=0)]
Unit = Annotated[float, Meta(ge=0, le=1)]
Name = Annotated[str, Meta(min_length=1, max_length=32, pattern=r"^[A-Za-z][A-Za-z0-9_ -]*$")]


class _Table(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base: unknown keys are errors; every field has a documented default or is required."""


class WorldSettings(_Table, frozen=True):
    """Size and clocks. The map is ``tiles`` x ``tiles`` square tiles of ``tile_size`` metres."""

    name: str = "Unnamed world"
    seed: Annotated[int, Meta(ge=0, le=2**63 - 1)] = 1
    tiles: Annotated[int, Meta(ge=4, le=4096)] = 64
    tile_size: Positive = 2.0
    tick_rate: Annotated[int, Meta(ge=1, le=240)] = 20
    capacity: Annotated[int, Meta(ge=16, le=1 << 20)] = 1 << 16
    ecology_interval: Positive = 1.0  # seconds between ecology steps
    economy_interval: Positive = 5.0  # seconds between market updates
    day_length: Positive = 600.0  # seconds per in-game day
    start_hour: Annotated[float, Meta(ge=0, lt=24)] = 8.0
    night_growth: Unit = 1.0 / 3.0  # grass growth at night relative to noon (1: no day/night effect)
    wanderers: Annotated[int, Meta(ge=0)] = 0  # walkers with no needs (placeholders until npc/ drives them)


class TerrainSettings(_Table, frozen=True):
    """Seeded fractal value noise for height and moisture, both normalised to [0, 1]."""

    octaves: Annotated[int, Meta(ge=1, le=10)] = 5
    scale: Positive = 24.0  # tiles per largest feature
    persistence: Annotated[float, Meta(gt=0, le=1)] = 0.5
    moisture_scale: Positive = 32.0
    relief: NonNeg = 20.0  # metres between the lowest and the highest point


class Biome(_Table, frozen=True):
    """A terrain class, chosen by the first biome (file order) whose height/moisture ranges contain the tile.

    ``grass_regrowth`` is the ecology steps a grazed tile needs to grow back (0: nothing grows here);
    ``growth`` scales regrowth speed.
    """

    min_height: Unit = 0.0
    max_height: Unit = 1.0
    min_moisture: Unit = 0.0
    max_moisture: Unit = 1.0
    passable: bool = True
    grass_regrowth: NonNeg = 20.0
    growth: NonNeg = 1.0
    color: str = "#88aa55"


class Weather(_Table, frozen=True):
    """A weather state: how it modulates growth and creature metabolism, and where it goes next.

    ``next`` maps weather names to relative weights for the transition after ``duration`` seconds.
    """

    duration: Positive = 120.0
    growth: NonNeg = 1.0
    metabolism: NonNeg = 1.0
    next: dict[str, NonNeg] = {}


class Species(_Table, frozen=True):
    """A fauna species on the tile grid. ``diet`` is ``"grass"`` (a grazer) or another species' name (a hunter).

    Each ecology step a creature moves to a random passable neighbour tile (8-neighbourhood), loses
    ``metabolism`` energy (times the weather's), eats (grass on its tile, or one prey on its tile, gaining
    ``energy_gain``), dies below zero energy or past ``max_age`` steps (0: no limit), and otherwise
    reproduces with probability ``reproduce`` if it has at least ``reproduce_energy``, halving its energy
    with the newborn. A creature with more than ``sated_above`` energy does not eat (0: always eats) --
    sated predators spare prey, which damps the boom-and-bust cycle. ``habitat`` lists the biomes it may
    enter (empty: every passable biome); prey whose habitat includes a refuge its hunter avoids keep the
    cycle from collapsing. ``immigration`` is the expected number of newcomers per ecology step (a
    Poisson draw) arriving on habitat tiles at the map edge with ``energy_gain`` energy -- the world is
    not an island, so a local extinction is not forever.
    """

    diet: str = "grass"
    count: Annotated[int, Meta(ge=0)] = 0
    energy_gain: NonNeg = 4.0
    metabolism: NonNeg = 1.0
    reproduce: Unit = 0.04
    reproduce_energy: NonNeg = 0.0
    max_age: Annotated[int, Meta(ge=0)] = 0
    sated_above: NonNeg = 0.0
    habitat: list[str] = []
    immigration: NonNeg = 0.0
    color: str = "#ffffff"


class Good(_Table, frozen=True):
    """A tradeable good with its reference price (coins per unit)."""

    base_price: Positive = 1.0


class Settlement(_Table, frozen=True):
    """A town with a market. Position in metres; per-good stock (units), production and consumption
    (units per economy step), and ``target_steps`` economy steps of consumption it wants in stock (prices
    rise as stock falls below that and fall above it)."""

    x: float = 0.0
    y: float = 0.0
    population: Annotated[int, Meta(ge=0)] = 10
    stock: dict[str, NonNeg] = {}
    produces: dict[str, NonNeg] = {}
    consumes: dict[str, NonNeg] = {}
    target_steps: Positive = 20.0


class ResourceNodes(_Table, frozen=True):
    """``count`` harvestable nodes of ``good`` scattered on tiles of ``biome``; each holds up to ``amount``
    units and regrows ``regen`` units per economy step."""

    good: str
    biome: str
    count: Annotated[int, Meta(ge=0, le=100_000)] = 10
    amount: Positive = 50.0
    regen: NonNeg = 1.0


class PhysicsSettings(_Table, frozen=True):
    """Rigid bodies simulated by pybullet: ``crates`` dropped at random spots, ``towers`` of stacked boxes."""

    enabled: bool = True
    substeps: Annotated[int, Meta(ge=1, le=16)] = 4
    crates: Annotated[int, Meta(ge=0, le=2000)] = 0
    towers: Annotated[int, Meta(ge=0, le=100)] = 0
    tower_height: Annotated[int, Meta(ge=1, le=20)] = 5


class Scenario(_Table, frozen=True):
    """A whole world description (see ``worldsim/scenarios/meadow.toml`` for an annotated example)."""

    world: WorldSettings = WorldSettings()
    terrain: TerrainSettings = TerrainSettings()
    biomes: dict[Name, Biome] = {}
    weather: dict[Name, Weather] = {}
    species: dict[Name, Species] = {}
    goods: dict[Name, Good] = {}
    settlements: dict[Name, Settlement] = {}
    resources: dict[Name, ResourceNodes] = {}
    physics: PhysicsSettings = PhysicsSettings()
    systems: dict[Name, dict[str, Any]] = {}
    """Attached systems by name (``[systems.npc]``), each table validated by that system (worldsim.systems)."""
    source: str = "<scenario>"
    """Where it came from (set by the loader; not a file key)."""

    @property
    def half_extent(self) -> float:
        """Half the side of the world square, metres."""
        return self.world.tiles * self.world.tile_size / 2.0


DEFAULT_BIOMES: dict[str, Biome] = {
    "grassland": Biome(),
}
DEFAULT_WEATHER: dict[str, Weather] = {"clear": Weather(next={"clear": 1.0})}


def _check_references(s: Scenario) -> None:
    """Cross-reference checks msgspec cannot express. Raises ``ScenarioError`` naming the key."""
    def fail(key: str, expected: str) -> None:
        raise ScenarioError(s.source, key, expected)

    for name, w in s.weather.items():
        for target, weight in w.next.items():
            if target not in s.weather:
                fail(f"weather.{name}.next.{target}", f"one of the weather names {sorted(s.weather)}")
            if not math.isfinite(weight):
                fail(f"weather.{name}.next.{target}", "a finite weight")
        if w.next and sum(w.next.values()) <= 0:
            fail(f"weather.{name}.next", "at least one positive weight")
    for name, b in s.biomes.items():
        if b.min_height > b.max_height:
            fail(f"biomes.{name}.min_height", f"<= max_height ({b.max_height})")
        if b.min_moisture > b.max_moisture:
            fail(f"biomes.{name}.min_moisture", f"<= max_moisture ({b.max_moisture})")
    if not any(b.passable for b in s.biomes.values()):
        fail("biomes", "at least one passable biome")
    for name, sp in s.species.items():
        if sp.diet != "grass" and sp.diet not in s.species:
            fail(f"species.{name}.diet", f'"grass" or one of the species {sorted(s.species)}')
        if sp.diet == name:
            fail(f"species.{name}.diet", "a species other than itself")
        for biome in sp.habitat:
            if biome not in s.biomes:
                fail(f"species.{name}.habitat", f"biome names from {sorted(s.biomes)}, not {biome!r}")
        if sp.habitat and not any(s.biomes[b].passable for b in sp.habitat):
            fail(f"species.{name}.habitat", "at least one passable biome")
    if len(s.species) > 32:
        fail("species", "at most 32 species")
    for name, town in s.settlements.items():
        for field in ("stock", "produces", "consumes"):
            for good in getattr(town, field):
                if good not in s.goods:
                    fail(f"settlements.{name}.{field}.{good}", f"one of the goods {sorted(s.goods)}")
        if abs(town.x) > s.half_extent or abs(town.y) > s.half_extent:
            fail(f"settlements.{name}.x", f"a position inside the world (|x|, |y| <= {s.half_extent} m)")
    for name, r in s.resources.items():
        if r.good not in s.goods:
            fail(f"resources.{name}.good", f"one of the goods {sorted(s.goods)}")
        if r.biome not in s.biomes:
            fail(f"resources.{name}.biome", f"one of the biomes {sorted(s.biomes)}")
    creatures = sum(sp.count for sp in s.species.values()) + s.world.wanderers
    if creatures > s.world.capacity:
        fail("world.capacity", f">= the {creatures} creatures and wanderers the scenario starts with")


def _path_to_key(path: str) -> str:
    """msgspec's ``$.species.sheep.count`` or ``$.a[0]`` -> ``species.sheep.count`` / ``a[0]``."""
    return path.removeprefix("$").removeprefix(".") or "(top level)"


_NAMED_SECTIONS: dict[str, type[Struct]] = {
    "biomes": Biome, "weather": Weather, "species": Species, "goods": Good, "settlements": Settlement,
    "resources": ResourceNodes,
}


def convert_table(value: Any, cls: Any, source: str, prefix: str,
                  documented_in: str = "worldsim/scenario.py") -> Any:
    """``msgspec.convert`` with its error turned into a ``ScenarioError`` whose key starts at ``prefix``
    (also used by attached systems for their ``[systems.<name>]`` tables, documented in ``documented_in``)."""
    try:
        return msgspec.convert(value, cls, strict=False)
    except msgspec.ValidationError as exc:
        message, _, where = str(exc).partition(" - at `")
        key = _path_to_key(where.rstrip("`")) if where else ""
        if message.startswith("Object contains unknown field"):
            key = ".".join(p for p in (key, message.split("`")[1]) if p and p != "(top level)")
            message = f"a known key (this one is not; the keys are documented in {documented_in})"
        else:
            message = message.replace("`", "")
            message = message[0].lower() + message[1:] if message.startswith("Expected") else message
            message = message.removeprefix("expected ")
        full = ".".join(p for p in (prefix, key) if p and p != "(top level)") or "(top level)"
        raise ScenarioError(source, full, message) from None


def from_dict(data: dict[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate a parsed scenario mapping. Raises ``ScenarioError`` naming ``source``, the key and what was expected."""
    for section, cls in _NAMED_SECTIONS.items():  # per entry first, so errors name the entry
        entries = data.get(section, {})
        if not isinstance(entries, dict):
            raise ScenarioError(source, section, "a table of named entries, e.g. [" + section + ".name]")
        for name, entry in entries.items():
            convert_table(name, Name, source, f"{section}.{name} (name)")
            convert_table(entry, cls, source, f"{section}.{name}")
    scenario = convert_table({**data, "source": source}, Scenario, source, "")
    if not scenario.biomes:
        scenario = msgspec.structs.replace(scenario, biomes=DEFAULT_BIOMES)
    if not scenario.weather:
        scenario = msgspec.structs.replace(scenario, weather=DEFAULT_WEATHER)
    _check_references(scenario)
    return scenario


def parse_value(text: str) -> Any:
    """A command-line override value: TOML scalar syntax (``0.05``, ``true``, ``"x"``), else a bare string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any], source: str) -> dict[str, Any]:
    """A copy of ``data`` with each dotted ``key`` (``species.sheep.reproduce``) set to its value.

    Raises ``ScenarioError`` if a key's parent is not a table.
    """
    out = _deep_copy(data)
    for key, value in overrides.items():
        parts = key.split(".")
        if not all(parts):
            raise ScenarioError(source, key, "a dotted key such as species.sheep.reproduce")
        node = out
        for i, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ScenarioError(source, ".".join(parts[: i + 1]), "a table to set keys in, found a value")
            node = child
        node[parts[-1]] = value
    return out


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


def resolve_path(path: str | os.PathLike[str]) -> Path:
    """A scenario path as given, else a bundled scenario by name (``meadow`` -> scenarios/meadow.toml)."""
    candidate = Path(path)
    if candidate.exists():
        return candidate
    bundled = SCENARIO_DIR / (candidate.name if candidate.suffix == ".toml" else f"{candidate.name}.toml")
    return bundled if bundled.exists() else candidate


def load_scenario(path: str | os.PathLike[str], overrides: dict[str, Any] | None = None) -> Scenario:
    """Read and validate a TOML scenario file (or a bundled scenario name), applying dotted-key overrides.

    Raises:
        ScenarioError: unreadable file, TOML syntax error (with line/column), unknown key, wrong type or
            range, or a broken cross-reference — always naming the file and the key.
    """
    resolved = resolve_path(path)
    source = os.fspath(resolved)
    try:
        text = resolved.read_text(encoding="utf-8")
    except FileNotFoundError:
        bundled = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.toml")))
        raise ScenarioError(source, "(file)", f"an existing TOML file or a bundled scenario ({bundled})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(source, "(file)", f"a readable UTF-8 text file ({exc})") from None
    return loads(text, source, overrides)


def loads(text: str, source: str = "<scenario>", overrides: dict[str, Any] | None = None) -> Scenario:
    """Validate scenario TOML text. Raises ``ScenarioError``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, "(syntax)", f"valid TOML ({exc})") from None
    if overrides:
        data = apply_overrides(data, overrides, source)
    return from_dict(data, source)


def to_json(scenario: Scenario) -> bytes:
    """Canonical JSON of a scenario without its ``source`` (saves embed it; the hash digests it)."""
    return msgspec.json.encode(msgspec.structs.replace(scenario, source=""))


def from_json(data: bytes, source: str) -> Scenario:
    """Inverse of ``to_json``. Raises ``ScenarioError``."""
    try:
        raw = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise ScenarioError(source, "(embedded scenario)", f"valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise ScenarioError(source, "(embedded scenario)", "a JSON object")
    raw.pop("source", None)
    return from_dict(raw, source)


