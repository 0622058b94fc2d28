"""Loot tables and item stats scaled to difficulty.

Why this design: a rarity is drawn first from weights tilted towards rarer tiers as difficulty rises
(``weight_i = base_i * exp(TILT * difficulty * i)``), then an item kind, then stats that grow linearly
with difficulty and multiply by rarity. The table is returned with the rolls so designers can see the
odds they get at a difficulty. Item names come from the Markov name model plus the kind's noun.
"""

from __future__ import annotations

import numpy as np

from worldsim.rng import RngStreams

from .names import NamesParams, _one_name, chain
from .params import LootParams

RARITIES = ("common", "uncommon", "rare", "epic", "legendary")
BASE_WEIGHTS = np.array([60.0, 25.0, 10.0, 4.0, 1.0])
RARITY_POWER = np.array([1.0, 1.25, 1.6, 2.1, 3.0])
TILT = 1.0
KINDS = {  # kind: (noun, main stat, base value of the main stat, base price in gold)
    "weapon": ("Blade", "damage", 8.0, 20.0),
    "armor": ("Mail", "armor", 5.0, 25.0),
    "potion": ("Draught", "healing", 20.0, 8.0),
    "ring": ("Band", "magic", 3.0, 40.0),
    "scroll": ("Scroll", "spell_power", 12.0, 15.0),
    "gem": ("Gem", "value_bonus", 1.0, 60.0),
}
KIND_WEIGHTS = np.array([3.0, 2.5, 4.0, 1.0, 1.5, 1.0])


def rarity_odds(difficulty: float) -> dict[str, float]:
    """Probability of each rarity at ``difficulty`` in [0, 1]."""
    weights = BASE_WEIGHTS * np.exp(TILT * difficulty * np.arange(len(RARITIES)))
    odds = weights / weights.sum()
    return {name: round(float(p), 4) for name, p in zip(RARITIES, odds, strict=True)}


def loot_table(difficulty: float) -> dict[str, object]:
    """The table in force at ``difficulty``: rarity odds, kind odds, and the main-stat range per kind."""
    scale = 1.0 + 1.5 * difficulty
    kinds = KIND_WEIGHTS / KIND_WEIGHTS.sum()
    return {
        "difficulty": difficulty,
        "rarity_odds": rarity_odds(difficulty),
        "kind_odds": {k: round(float(p), 4) for k, p in zip(KINDS, kinds, strict=True)},
        "stat_ranges": {k: {"stat": stat, "min": round(base * scale * 0.9, 2),
                            "max": round(float(base * scale * 1.1 * RARITY_POWER[-1]), 2)}
                        for k, (_noun, stat, base, _price) in KINDS.items()},
    }


def roll_item(rng: np.random.Generator, difficulty: float) -> dict[str, object]:
    """One item: kind, rarity, level, main stat, price and name, all drawn from ``rng``."""
    odds = np.array(list(rarity_odds(difficulty).values()))
    tier = int(np.searchsorted(np.cumsum(odds), rng.random() * odds.sum(), side="right"))
    tier = min(tier, len(RARITIES) - 1)
    kind_index = int(np.searchsorted(np.cumsum(KIND_WEIGHTS), rng.random() * KIND_WEIGHTS.sum(), side="right"))
    kind = list(KINDS)[min(kind_index, len(KINDS) - 1)]
    noun, stat, base, price = KINDS[kind]
    jitter = float(rng.uniform(0.9, 1.1))
    value = base * (1.0 + 1.5 * difficulty) * RARITY_POWER[tier] * jitter
    stem = ""
    while not 4 <= len(stem) <= 10:
        stem = _one_name(chain("item"), rng, 10)
    return {
        "name": f"{stem.capitalize()} {noun}", "kind": kind, "rarity": RARITIES[tier],
        "level": 1 + round(19 * difficulty), stat: round(float(value), 2),
        "price": round(float(price * RARITY_POWER[tier] ** 2 * (1.0 + difficulty) * jitter), 1),
    }


def generate_loot(p: LootParams) -> dict[str, object]:
    """``{"table": loot_table(d), "items": [p.count items]}`` from stream "loot" of ``p.seed``."""
    rng = RngStreams(p.seed).stream("loot")
    return {"table": loot_table(p.difficulty), "items": [roll_item(rng, p.difficulty) for _ in range(p.count)]}


__all__ = ["NamesParams", "generate_loot", "loot_table", "rarity_odds", "roll_item"]
