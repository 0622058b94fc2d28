"""The economy: goods, settlement markets with stock and prices, resource nodes, and caravan trade.

Each economy step (every ``economy_interval`` seconds) every settlement produces and consumes (a shortfall
is a ``shortage`` event), resource nodes regrow, caravans carry goods from where a good is cheapest to where
it is dearest when the price gap beats the transport cost, and prices move toward
``base * (target / stock) ** ELASTICITY`` (clamped), so scarcity raises prices and gluts lower them.
NPCs (npc/) and players act on it through ``harvest`` and ``trade``.

Why plain numpy and no kernel: there are tens of settlements and goods, so a step is a handful of (T, G)
array operations; a Numba kernel would add compile time and nothing else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .errors import InputError
from .scenario import Scenario
from .terrain import Terrain

ELASTICITY = 0.8
"""How strongly price answers scarcity (price ~ (target / stock) ** ELASTICITY)."""
PRICE_BAND = (0.2, 5.0)
"""Prices stay within these multiples of the base price."""
PRICE_SMOOTHING = 0.5
"""Fraction of the gap to the new equilibrium price closed per economy step."""
CARAVAN_UNITS = 10.0
"""Most units one caravan moves per good per economy step."""
TRANSPORT_COST = 0.002
"""Coins per unit per metre a caravan must earn to be worth sending."""


@dataclass
class Economy:
    """Market state. T settlements x G goods arrays; M resource nodes.

    Attributes:
        goods, settlements: names in scenario order. base_price (G,) coins.
        stock, produce, consume, target, price: (T, G) float64 units / units per step / coins.
        town_xy: (T, 2) metres. node_good (M,) int64, node_tile (M,) int64, node_xy (M, 2) metres,
        node_amount, node_max, node_regen: (M,) float64 units.
    """

    goods: list[str]
    settlements: list[str]
    base_price: npt.NDArray[np.float64]
    stock: npt.NDArray[np.float64]
    produce: npt.NDArray[np.float64]
    consume: npt.NDArray[np.float64]
    target: npt.NDArray[np.float64]
    price: npt.NDArray[np.float64]
    town_xy: npt.NDArray[np.float64]
    node_good: npt.NDArray[np.int64]
    node_tile: npt.NDArray[np.int64]
    node_xy: npt.NDArray[np.float64]
    node_amount: npt.NDArray[np.float64]
    node_max: npt.NDArray[np.float64]
    node_regen: npt.NDArray[np.float64]

    @classmethod
    def from_scenario(cls, scenario: Scenario, terrain: Terrain, rng: np.random.Generator) -> Economy:
        """Markets from the scenario; resource nodes placed on random tiles of their biome (from ``rng``)."""
        goods = list(scenario.goods)
        towns = list(scenario.settlements.values())
        t, g = len(towns), len(goods)

        def table(field: str) -> npt.NDArray[np.float64]:
            out = np.zeros((t, g))
            for i, town in enumerate(towns):
                for good, value in getattr(town, field).items():
                    out[i, goods.index(good)] = value
            return out

        consume = table("consumes")
        target = consume * np.array([[town.target_steps] for town in towns]).reshape(t, 1) if t else consume
        base = np.array([scenario.goods[name].base_price for name in goods], dtype=np.float64)
        node_good, node_tile = [], []
        node_max, node_regen = [], []
        biome_names = terrain.biome_names
        flat_biome = terrain.biome.reshape(-1)
        for nodes in scenario.resources.values():
            candidates = np.flatnonzero(flat_biome == biome_names.index(nodes.biome))
            if len(candidates) == 0 or nodes.count == 0:
                continue
            chosen = candidates[rng.integers(0, len(candidates), size=nodes.count)]
            node_tile.extend(chosen.tolist())
            node_good.extend([goods.index(nodes.good)] * nodes.count)
            node_max.extend([nodes.amount] * nodes.count)
            node_regen.extend([nodes.regen] * nodes.count)
        tiles = np.array(node_tile, dtype=np.int64)
        economy = cls(
            goods=goods, settlements=list(scenario.settlements), base_price=base,
            stock=table("stock"), produce=table("produces"), consume=consume, target=target,
            price=np.tile(base, (t, 1)),
            town_xy=np.array([[town.x, town.y] for town in towns], dtype=np.float64).reshape(t, 2),
            node_good=np.array(node_good, dtype=np.int64), node_tile=tiles,
            node_xy=terrain.tile_center(tiles) if len(tiles) else np.zeros((0, 2)),
            node_amount=np.array(node_max, dtype=np.float64), node_max=np.array(node_max, dtype=np.float64),
            node_regen=np.array(node_regen, dtype=np.float64),
        )
        economy._reprice(smoothing=1.0)
        return economy

    # ------------------------------------------------------------------------------ step
    def step(self) -> list[tuple[str, dict[str, object]]]:
        """One economy step. Returns events as (kind, data) pairs: ``shortage``, ``caravan``."""
        events: list[tuple[str, dict[str, object]]] = []
        self.stock += self.produce
        short = self.consume > self.stock
        for t, g in zip(*np.nonzero(short), strict=True):
            events.append(("shortage", {"settlement": self.settlements[t], "good": self.goods[g],
                                        "missing": round(float(self.consume[t, g] - self.stock[t, g]), 3)}))
        self.stock = np.maximum(self.stock - self.consume, 0.0)
        self.node_amount = np.minimum(self.node_amount + self.node_regen, self.node_max)
        events.extend(self._caravans())
        self._reprice(PRICE_SMOOTHING)
        return events

    def _caravans(self) -> list[tuple[str, dict[str, object]]]:
        events: list[tuple[str, dict[str, object]]] = []
        if len(self.settlements) < 2:
            return events
        for g in range(len(self.goods)):
            seller = int(np.argmin(self.price[:, g]))
            buyer = int(np.argmax(self.price[:, g]))
            if seller == buyer:
                continue
            distance = float(np.hypot(*(self.town_xy[buyer] - self.town_xy[seller])))
            margin = self.price[buyer, g] - self.price[seller, g] - TRANSPORT_COST * distance
            spare = self.stock[seller, g] - self.target[seller, g]
            units = min(CARAVAN_UNITS, spare)
            if margin <= 0 or units <= 0:
                continue
            self.stock[seller, g] -= units
            self.stock[buyer, g] += units
            events.append(("caravan", {"good": self.goods[g], "from": self.settlements[seller],
                                       "to": self.settlements[buyer], "units": round(float(units), 3),
                                       "price": round(float(self.price[buyer, g]), 4)}))
        return events

    def _reprice(self, smoothing: float) -> None:
        if self.price.size == 0:
            return
        scarcity = np.where(self.target > 0, self.target / np.maximum(self.stock, 1e-3), 1.0)
        equilibrium = self.base_price * np.clip(scarcity ** ELASTICITY, PRICE_BAND[0], PRICE_BAND[1])
        self.price += smoothing * (equilibrium - self.price)

    # -------------------------------------------------------------------------- commands
    def harvest(self, node: int, units: float) -> float:
        """Take up to ``units`` from resource node ``node``; returns the units taken. Raises ``InputError``."""
        if not 0 <= node < len(self.node_amount):
            raise InputError(f"no resource node {node} (there are {len(self.node_amount)})")
        units = _amount(units, "harvest units")
        taken = min(units, float(self.node_amount[node]))
        self.node_amount[node] -= taken
        return taken

    def trade(self, settlement: int, good: int, units: float) -> float:
        """Sell (``units`` > 0) to or buy (< 0) from a market at its current price; returns coins paid to the
        trader (negative when buying). Stock is never driven below zero. Raises ``InputError``."""
        self._check(settlement, good)
        if not math.isfinite(units):
            raise InputError(f"trade units must be finite, got {units}")
        if units < 0 and -units > self.stock[settlement, good]:
            raise InputError(f"{self.settlements[settlement]} has only {self.stock[settlement, good]:.1f} "
                             f"{self.goods[good]}; cannot sell {-units} to you")
        price = float(self.price[settlement, good])
        self.stock[settlement, good] += units
        return units * price

    def _check(self, settlement: int, good: int) -> None:
        if not 0 <= settlement < len(self.settlements):
            raise InputError(f"no settlement {settlement} (there are {len(self.settlements)})")
        if not 0 <= good < len(self.goods):
            raise InputError(f"no good {good} (there are {len(self.goods)})")

    # ---------------------------------------------------------------------------- state
    def arrays(self) -> dict[str, npt.NDArray]:
        """State arrays (saved and hashed)."""
        return {"economy.stock": self.stock, "economy.price": self.price, "economy.node_amount": self.node_amount}

    def load_arrays(self, arrays: dict[str, npt.NDArray]) -> None:
        self.stock = arrays["economy.stock"].copy()
        self.price = arrays["economy.price"].copy()
        self.node_amount = arrays["economy.node_amount"].copy()


def _amount(value: float, what: str) -> float:
    value = float(value)
    if not (math.isfinite(value) and value >= 0):
        raise InputError(f"{what} must be a finite number >= 0, got {value}")
    return value
