"""Scenario files: bundled ones load, every kind of mistake names the file, the key and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worldsim import SCENARIO_DIR, ScenarioError, load_scenario
from worldsim.scenario import from_json, loads, parse_value, to_json


@pytest.mark.parametrize("path", sorted(SCENARIO_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_bundled_scenarios_load_and_round_trip(path: Path) -> None:
    scenario = load_scenario(path)
    assert (scenario.species or scenario.systems) and scenario.biomes and scenario.weather
    assert from_json(to_json(scenario), "x") == scenario.__class__(**{**_fields(scenario), "source": "x"})


def _fields(scenario):  # noqa: ANN001, ANN202
    return {f: getattr(scenario, f) for f in scenario.__struct_fields__}


def test_bundled_name_resolves() -> None:
    assert load_scenario("meadow").world.name == "Meadow"


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("[world]\ntiles = 'big'\n", "world.tiles", "int, got str"),
        ("[world]\ntiles = 2\n", "world.tiles", "int >= 4"),
        ("[world]\ntiels = 64\n", "world.tiels", "a known key"),
        ("[species.sheep]\nreproduce = 1.5\n", "species.sheep.reproduce", "float <= 1.0"),
        ("[species.wolf]\ndiet = 'cats'\n", "species.wolf.diet", '"grass" or one of the species'),
        ("[species.wolf]\ndiet = 'wolf'\n", "species.wolf.diet", "a species other than itself"),
        ("[weather.sun]\nnext = { rain = 1.0 }\n", "weather.sun.next.rain", "one of the weather names"),
        ("[goods.food]\n[settlements.A]\nstock = { gold = 1 }\n", "settlements.A.stock.gold", "one of the goods"),
        ("[goods.food]\n[settlements.A]\nx = 1e6\n", "settlements.A.x", "a position inside the world"),
        ("[goods.wood]\n[resources.trees]\ngood = 'wood'\nbiome = 'jungle'\n", "resources.trees.biome",
         "one of the biomes"),
        ("[biomes.sea]\npassable = false\n", "biomes", "at least one passable biome"),
        ("[world]\ncapacity = 16\n[species.sheep]\ncount = 100\n", "world.capacity", ">= the 100 creatures"),
        ("species = 3\n", "species", "a table of named entries"),
        ("[world\n", "(syntax)", "valid TOML"),
    ],
)
def test_mistakes_name_file_key_and_expectation(text: str, key: str, expected: str) -> None:
    with pytest.raises(ScenarioError) as info:
        loads(text, "worlds/bad.toml")
    err = info.value
    assert err.source == "worlds/bad.toml" and err.key == key and expected in err.expected
    assert "worlds/bad.toml" in str(err) and key in str(err)


def test_missing_file_lists_the_bundled_scenarios(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="meadow") as info:
        load_scenario(tmp_path / "nope.toml")
    assert info.value.key == "(file)"


def test_overrides_use_dotted_keys_and_are_validated() -> None:
    s = load_scenario("meadow", overrides={"species.wolf.reproduce": 0.01, "world.tiles": 200})
    assert s.species["wolf"].reproduce == 0.01 and s.world.tiles == 200
    with pytest.raises(ScenarioError, match="species.wolf.reproduce"):
        load_scenario("meadow", overrides={"species.wolf.reproduce": "often"})
    with pytest.raises(ScenarioError, match="world.tiles"):
        load_scenario("meadow", overrides={"world.tiles.x": 1})


def test_parse_value_reads_toml_scalars() -> None:
    assert parse_value("0.05") == 0.05 and parse_value("true") is True and parse_value("12") == 12
    assert parse_value("forest") == "forest" and parse_value('"a b"') == "a b"


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_any_text_loads_or_raises_scenario_error(text: str) -> None:
    try:
        loads(text, "fuzz.toml")
    except ScenarioError as err:
        assert err.source == "fuzz.toml"


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(["world.tiles", "world.seed", "species.sheep.count", "species.wolf.diet",
                                        "terrain.scale", "physics.crates", "weather.clear.duration"]),
                       st.one_of(st.integers(-10, 10**7), st.floats(allow_nan=True), st.text(max_size=5),
                                 st.booleans()), max_size=3))
def test_any_override_loads_or_raises_scenario_error(overrides: dict) -> None:
    try:
        load_scenario("meadow", overrides=overrides)
    except ScenarioError as err:
        assert err.key != "" and "meadow.toml" in err.source
