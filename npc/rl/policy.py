"""Driving live NPCs with a trained policy: ``PolicyDriver.act(world, rows) -> velocities``.

The NPC system calls this once per tick for all NPCs of a role configured with ``policy = "<path>"``:
one observation batch built from the live ``worldsim.world.World`` in one compiled call, one torch forward
pass under ``torch.no_grad()``, actions turned into planar velocities.

The observation is the env's (``npc.rl.kernels``), built from the world instead of an arena:
    grass       ``world.ecology.grown`` on the tile;
    blocked     impassable terrain, or outside the map;
    pursuer     a creature of a hunting species (``ecology.diet`` >= 0) on the tile (its ``cell``);
    other       another live NPC (``Kind.NPC``) standing on the tile;
    needs       hunger, energy, health of each NPC, passed by the caller (the NPC system owns them);
                without them the driver assumes hunger 0.5, energy 1, health 1.
Tiles of positions: ``floor((p + half_extent) / tile_size)`` clamped to the map.

Why: the world already holds every field the env observes, so no second simulation is kept in step;
the env's arenas are cut from the same terrain, with the same biomes' regrowth.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from worldsim.state import Kind

from .core import VIEW_RADIUS
from .errors import PolicyLoadError, RlActionError
from .kernels import MOVES, obs_size, observe_fields

DEFAULT_NEEDS = (0.5, 1.0, 1.0)
"""Hunger, energy, health assumed for NPCs whose needs the caller does not pass."""


class PolicyDriver:
    """A saved SB3 policy turned into NPC velocities.

    Args:
        path: a ``policy.zip`` written by ``worldloom train`` (any SB3 on-policy/off-policy model with a
            Discrete(5) action space and the 199-float observation).
        speed: metres per second of a move (one tile N/E/S/W per action); default the wanderers' 2 m/s.
        deterministic: argmax actions (True) or sampled ones.
        threads: torch intra-op threads (``torch.set_num_threads``, process-wide). Default 1: a batch of
            a few hundred rows gains nothing from a pool, and on a busy machine the pool fights the tick
            loop for cores (measured 25 ms vs 1.3 ms per 150-NPC batch on 2 loaded cores).
    Raises:
        PolicyLoadError: missing/unreadable file or spaces that do not match the env's.
    """

    def __init__(self, path: str | Path, speed: float = 2.0, deterministic: bool = True,
                 threads: int | None = 1) -> None:
        import torch
        from stable_baselines3 import PPO

        if threads is not None:
            torch.set_num_threads(int(threads))
        self.path = Path(path)
        if not self.path.exists():
            raise PolicyLoadError(str(path), "no such file", "train one with `worldloom train` or fix the path")
        try:
            model = PPO.load(self.path, device="cpu")
        except Exception as exc:  # noqa: BLE001 - any failure of a foreign file format is a load error
            raise PolicyLoadError(str(path), f"{type(exc).__name__}: {exc}",
                                  "point to a policy.zip saved by `worldloom train` (stable-baselines3 PPO)") from None
        expected = (obs_size(VIEW_RADIUS),)
        if model.observation_space.shape != expected or getattr(model.action_space, "n", None) != len(MOVES):
            raise PolicyLoadError(str(path), f"spaces {model.observation_space} / {model.action_space}",
                                  f"a policy trained on a Worldloom task (observation {expected}, Discrete(5))")
        self.policy = model.policy.eval()
        self.speed = float(speed)
        self.deterministic = deterministic
        self._torch = torch

    def observe(self, world: object, rows: npt.ArrayLike, needs: npt.ArrayLike | None = None
                ) -> npt.NDArray[np.float32]:
        """Observations (k, 199) float32 of the NPCs in entity ``rows`` (k,) of ``world``.

        Raises ``RlActionError`` for rows that are not live entities or needs not shaped (k, 3) in [0, 1].
        """
        t = world.entities  # type: ignore[attr-defined]
        terrain, ecology = world.terrain, world.ecology  # type: ignore[attr-defined]
        rows_a = np.asarray(rows, dtype=np.int64).reshape(-1)
        if rows_a.size and (rows_a.min() < 0 or rows_a.max() >= t.extent or not t.alive[rows_a].all()):
            raise RlActionError("live entity rows", f"rows {rows_a.tolist()[:8]}...")
        if needs is None:
            need_a = np.tile(np.array(DEFAULT_NEEDS), (rows_a.size, 1))
        else:
            need_a = np.asarray(needs, dtype=np.float64)
            if need_a.shape != (rows_a.size, 3) or not np.all((need_a >= 0) & (need_a <= 1)):
                raise RlActionError(f"needs of shape ({rows_a.size}, 3) in [0, 1]", f"shape {need_a.shape}")
        n, r = terrain.n, VIEW_RADIUS
        pad = n + 2 * r
        grown = np.zeros((pad, pad), dtype=np.uint8)
        grown[r:r + n, r:r + n] = ecology.grown.reshape(n, n)
        blocked = np.ones((pad, pad), dtype=np.uint8)
        blocked[r:r + n, r:r + n] = ~terrain.passable
        extent = t.extent
        live = t.alive[:extent]
        creature = np.flatnonzero(live & (t.kind[:extent] == Kind.CREATURE))
        hunting = ecology.diet[t.species[creature]] >= 0 if len(ecology.diet) else np.zeros(creature.size, bool)
        hunters = np.zeros((pad, pad), dtype=np.int64)
        cells = t.cell[creature[hunting]].astype(np.int64)
        cells = cells[cells >= 0]
        np.add.at(hunters, (cells // n + r, cells % n + r), 1)
        npc_rows = np.flatnonzero(live & (t.kind[:extent] == Kind.NPC))
        npcs = np.zeros((pad, pad), dtype=np.int64)
        npc_tiles = self._tiles(world, npc_rows)
        np.add.at(npcs, (npc_tiles[:, 1] + r, npc_tiles[:, 0] + r), 1)
        own = self._tiles(world, rows_a)
        out = np.empty((rows_a.size, obs_size(r)), dtype=np.float32)
        observe_fields(own, need_a, r, grown, blocked, hunters, npcs, out)
        if rows_a.size and not np.isin(rows_a, npc_rows).all():  # a non-NPC row is not counted in npcs
            out[~np.isin(rows_a, npc_rows), 3 * (2 * r + 1) ** 2 + (2 * r + 1) * r + r] = 0.0
        return out

    @staticmethod
    def _tiles(world: object, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        terrain = world.terrain  # type: ignore[attr-defined]
        xy = world.entities.pos[rows, :2]  # type: ignore[attr-defined]
        tiles = np.floor((xy + terrain.half_extent) / terrain.tile_size).astype(np.int64)
        return np.clip(tiles, 0, terrain.n - 1)

    def actions(self, obs: npt.NDArray[np.float32]) -> npt.NDArray[np.int64]:
        """Actions (k,) int64 for observations (k, 199): one batched forward pass without gradients."""
        if obs.shape[0] == 0:
            return np.zeros(0, dtype=np.int64)
        with self._torch.no_grad():
            dist = self.policy.get_distribution(self._torch.as_tensor(obs))
            return dist.get_actions(deterministic=self.deterministic).numpy().astype(np.int64)

    def act(self, world: object, rows: npt.ArrayLike, needs: npt.ArrayLike | None = None
            ) -> npt.NDArray[np.float64]:
        """Velocities (k, 2) m/s (x east, y north) for the NPCs in ``rows``: the policy's move times ``speed``."""
        return MOVES[self.actions(self.observe(world, rows, needs))].astype(np.float64) * self.speed


def needs_from_npc_system(system: object, indices: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The policy's needs (k, 3) -- hunger (0 fed .. 1 starving), energy, health in [0, 1] -- for NPCs
    ``indices`` (k,) of the NPC system (``npc.system.NpcSystem``: its ``need_names``, ``needs`` (n, K) with
    1 = satisfied, ``health`` and ``max_health`` (n,)). Hunger is ``1 - needs["hunger"]``, energy is
    ``needs["rest"]``, health is ``health / max_health``; a need the design lacks reads as satisfied.
    """
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    names = list(system.need_names)  # type: ignore[attr-defined]
    needs = np.asarray(system.needs, dtype=np.float64)[idx]  # type: ignore[attr-defined]
    fed = needs[:, names.index("hunger")] if "hunger" in names else np.ones(idx.size)
    rested = needs[:, names.index("rest")] if "rest" in names else np.ones(idx.size)
    health = np.asarray(system.health, dtype=np.float64)[idx]  # type: ignore[attr-defined]
    top = np.asarray(system.max_health, dtype=np.float64)[idx]  # type: ignore[attr-defined]
    out = np.stack([1.0 - fed, rested, np.divide(health, top, out=np.ones_like(health), where=top > 0)], axis=1)
    return np.clip(out, 0.0, 1.0)
