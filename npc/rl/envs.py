"""Single-agent gymnasium environments: ``Worldloom/Forager-v0`` and ``Worldloom/Evade-v0``.

Each is the batched core (``core.BatchedWorlds``) with one world and one agent, so a single env and world
``i`` of a vector env follow the same trajectory for the same seed and actions.

Spaces (both tasks):
    observation: ``Box(0, 1, (199,), float32)`` -- a 7 x 7 egocentric view with four channels (grass
        grown, blocked, pursuer, other agent; cell ``(dy + 3) * 7 + (dx + 3)``, dy = +1 north) followed by
        hunger, energy and health. Layout: ``npc.rl.kernels`` module docstring.
    action: ``Discrete(5)`` -- 0 stand (rest), 1 north, 2 east, 3 south, 4 west (one 2 m tile per step;
        ``npc.rl.policy`` turns it into a velocity for live NPCs).

Episodes end with ``terminated=True`` when the agent dies (health 0: pursuers' hits or starvation) and
``truncated=True`` at ``max_steps``. ``info`` holds ``eaten`` (tiles grazed this episode), ``health``,
``hunger``, ``energy`` and ``step``.

``reset(options=...)`` takes any key of ``npc.rl.params.OPTION_COLUMNS`` (``predators``/``spawn_count``,
``aggression``, ``accuracy``, ``regrowth``, ``hunger_rate``, ``max_steps``, ...) and ``map_seed`` (the
terrain of the scenario generated with another seed); values persist until changed, like ML-Agents'
environment parameters.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from . import kernels
from .core import N_ACTIONS, BatchedWorlds, load_atlas
from .errors import RlOptionError
from .params import MAX_STEPS, apply_options, task_params
from .render import render_agent

SCENARIO_OPTIONS = frozenset({"map_seed"})


def observation_space(obs_dim: int) -> spaces.Box:
    """The observation space of one agent."""
    return spaces.Box(0.0, 1.0, (obs_dim,), dtype=np.float32)


def apply_scenario_options(core: BatchedWorlds, scenario: str, options: dict[str, Any] | None) -> None:
    """Handle ``map_seed`` (switch the atlas to that terrain seed). Raises ``RlOptionError``."""
    if options and "map_seed" in options:
        seed = options["map_seed"]
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < 2**63:
            raise RlOptionError("map_seed", seed, "an integer in [0, 2**63)")
        core.set_atlas(load_atlas(scenario, int(seed)))


class WorldloomEnv(gym.Env[npt.NDArray[np.float32], np.int64]):
    """One agent in an arena of a Worldloom scenario's terrain (see the module docstring).

    Args:
        task: ``"forager"`` or ``"evade"`` (the parameter preset). scenario: bundled scenario name or TOML
            path whose terrain the arenas come from. render_mode: None or ``"rgb_array"``.
        **options: initial task options (same keys as ``reset(options=...)``).
    Raises:
        RlOptionError: unknown task/scenario or a bad option.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 8}

    def __init__(self, task: str = "forager", scenario: str = "meadow", render_mode: str | None = None,
                 **options: Any) -> None:
        if render_mode not in (None, "rgb_array"):
            raise RlOptionError("render_mode", render_mode, 'None or "rgb_array"')
        self.task, self.scenario, self.render_mode = task, scenario, render_mode
        params = task_params(task)
        apply_options(params, options, ignore=SCENARIO_OPTIONS)
        self.core = BatchedWorlds(1, 1, params, load_atlas(scenario))
        apply_scenario_options(self.core, scenario, options)
        self.observation_space = observation_space(self.core.obs_dim)  # type: ignore[assignment]  # Box[float32]
        self.action_space = spaces.Discrete(N_ACTIONS)
        self._all = np.ones(1, dtype=bool)
        self._started = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[npt.NDArray[np.float32], dict[str, Any]]:
        apply_options(self.core.params[0], options, ignore=SCENARIO_OPTIONS)  # validated before anything changes
        apply_scenario_options(self.core, self.scenario, options)
        super().reset(seed=seed)
        if seed is not None or not self._started:
            self.core.seed_worlds(self._all, [self.np_random])
            self._started = True
        self.core.reset(self._all)
        return self.core.obs[0, 0].copy(), self._info()

    def step(self, action: Any) -> tuple[npt.NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        if not self._started:
            raise gym.error.ResetNeeded("call reset() before step()")
        self.core.step(np.array([[int(action)]], dtype=np.int64), kernels.DISABLED)
        c = self.core
        return (c.obs[0, 0].copy(), float(c.reward[0, 0]), bool(c.terminated[0, 0]), bool(c.truncated[0, 0]),
                self._info())

    def _info(self) -> dict[str, Any]:
        c = self.core
        return {"eaten": int(c.eaten[0, 0]), "health": float(c.health[0, 0]), "hunger": float(c.hunger[0, 0]),
                "energy": float(c.energy[0, 0]), "step": int(c.t[0])}

    @property
    def max_steps(self) -> int:
        return int(self.core.params[0, MAX_STEPS])

    def render(self) -> npt.NDArray[np.uint8] | None:
        if self.render_mode != "rgb_array":
            return None
        return render_agent(self.core, 0, 0)


class ForagerEnv(WorldloomEnv):
    """``Worldloom/Forager-v0``: graze grass (hunger, energy), avoid two wolves, survive 200 steps.
    Reward +1 per tile grazed, -1 on death."""

    def __init__(self, scenario: str = "meadow", render_mode: str | None = None, **options: Any) -> None:
        super().__init__("forager", scenario, render_mode, **options)


class EvadeEnv(WorldloomEnv):
    """``Worldloom/Evade-v0``: outlast pursuers (``spawn_count``, ``aggression``, ``accuracy`` set the
    difficulty). Reward +0.01 per step survived, -1 on death."""

    def __init__(self, scenario: str = "meadow", render_mode: str | None = None, **options: Any) -> None:
        super().__init__("evade", scenario, render_mode, **options)
