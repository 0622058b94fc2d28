"""Many foragers in one world sharing its grass: a PettingZoo ``ParallelEnv``, and a shared-policy SB3
adapter where each agent is one VecEnv slot.

``WorldloomParallelEnv`` is the batched core with one world and ``n_agents`` agents (``forager_0`` ..).
Agents act in index order each step (an earlier agent grazes a contested tile first), see each other in
the fourth observation channel, and are hunted by the same pursuers (each chases the nearest live agent).
An agent that dies is terminated and leaves ``agents``; at ``max_steps`` every live agent is truncated.
Spaces per agent are those of the single-agent env (``npc.rl.envs``).

``shared_policy_vec_env`` is ``npc.rl.vector.WorldloomSB3VecEnv`` with ``n_agents`` > 1: W worlds x A
agents = W * A slots for one SB3 policy; an agent that dies is respawned in its (still running) world so
its slot keeps producing experience, its slot reports ``done`` with the terminal observation.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from gymnasium import spaces
from gymnasium.utils import seeding
from pettingzoo import ParallelEnv

from . import kernels
from .core import N_ACTIONS, BatchedWorlds, load_atlas
from .envs import SCENARIO_OPTIONS, apply_scenario_options, observation_space
from .errors import RlActionError
from .params import OPTION_COLUMNS, apply_options, task_params
from .render import render_agent
from .vector import WorldloomSB3VecEnv


class WorldloomParallelEnv(ParallelEnv):
    """``n_agents`` foragers (or evaders, ``task="evade"``) in one arena. See the module docstring.

    ``reset(options=...)`` takes the task options of ``npc.rl.params.OPTION_COLUMNS`` and ``map_seed``;
    other keys are ignored and listed in every agent's info as ``ignored_options``.
    """

    metadata = {"name": "worldloom_foragers_v0", "render_modes": ["rgb_array"], "is_parallelizable": True}

    def __init__(self, n_agents: int = 4, task: str = "forager", scenario: str = "meadow",
                 render_mode: str | None = None, **options: Any) -> None:
        self.task, self.scenario, self.render_mode = task, scenario, render_mode
        params = task_params(task)
        apply_options(params, options, ignore=SCENARIO_OPTIONS)
        self.core = BatchedWorlds(1, int(n_agents), params, load_atlas(scenario))
        apply_scenario_options(self.core, scenario, options)
        self.possible_agents = [f"{task}_{i}" for i in range(int(n_agents))]
        self.agent_index = {name: i for i, name in enumerate(self.possible_agents)}
        self.agents: list[str] = []
        self._obs_space = observation_space(self.core.obs_dim)
        self._act_space = spaces.Discrete(N_ACTIONS)
        self._rng: np.random.Generator | None = None
        self._ignored: list[str] = []

    def observation_space(self, agent: str) -> spaces.Box:
        """The same Box object for every agent (the PettingZoo API test checks identity)."""
        return self._obs_space

    def action_space(self, agent: str) -> spaces.Discrete:
        return self._act_space

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[dict[str, npt.NDArray[np.float32]], dict[str, dict[str, Any]]]:
        known = {k: v for k, v in (options or {}).items() if k in OPTION_COLUMNS or k in SCENARIO_OPTIONS}
        self._ignored = sorted(set(options or {}) - set(known))
        apply_options(self.core.params[0], known, ignore=SCENARIO_OPTIONS)
        apply_scenario_options(self.core, self.scenario, known)
        if seed is not None or self._rng is None:
            self._rng = seeding.np_random(seed)[0]
            self.core.seed_worlds(np.ones(1, dtype=bool), [self._rng])
        self.core.reset(np.ones(1, dtype=bool))
        self.agents = list(self.possible_agents)
        return ({a: self.core.obs[0, i].copy() for a, i in self.agent_index.items()},
                {a: self._info(i) for a, i in self.agent_index.items()})

    def step(self, actions: dict[str, Any]) -> tuple[dict[str, Any], dict[str, float], dict[str, bool],
                                                     dict[str, bool], dict[str, dict[str, Any]]]:
        acts = np.zeros((1, len(self.possible_agents)), dtype=np.int64)
        for name, action in actions.items():
            if name not in self.agent_index:
                raise RlActionError(f"a dict keyed by live agents {self.agents}", repr(name))
            acts[0, self.agent_index[name]] = int(action)
        acting = list(self.agents)
        self.core.step(acts, kernels.DISABLED)
        c = self.core
        idx = [self.agent_index[a] for a in acting]
        obs = {a: c.obs[0, i].copy() for a, i in zip(acting, idx, strict=True)}
        rewards = {a: float(c.reward[0, i]) for a, i in zip(acting, idx, strict=True)}
        terms = {a: bool(c.terminated[0, i]) for a, i in zip(acting, idx, strict=True)}
        truncs = {a: bool(c.truncated[0, i]) for a, i in zip(acting, idx, strict=True)}
        infos = {a: self._info(i) for a, i in zip(acting, idx, strict=True)}
        self.agents = [a for a in acting if not (terms[a] or truncs[a])]
        return obs, rewards, terms, truncs, infos

    def _info(self, i: int) -> dict[str, Any]:
        c = self.core
        info: dict[str, Any] = {"eaten": int(c.eaten[0, i]), "health": float(c.health[0, i]),
                                "hunger": float(c.hunger[0, i]), "energy": float(c.energy[0, i]),
                                "step": int(c.t[0])}
        if self._ignored:
            info["ignored_options"] = list(self._ignored)
        return info

    def state(self) -> npt.NDArray[np.float32]:
        """Every agent's observation stacked, (n_agents * obs_dim,) float32."""
        return self.core.obs[0].reshape(-1).copy()

    def render(self) -> npt.NDArray[np.uint8] | None:
        if self.render_mode != "rgb_array":
            return None
        return render_agent(self.core, 0, 0)

    def close(self) -> None:
        return None


def parallel_env(**kwargs: Any) -> WorldloomParallelEnv:
    """PettingZoo-style constructor: ``parallel_env(n_agents=4, task="forager", ...)``."""
    return WorldloomParallelEnv(**kwargs)


def shared_policy_vec_env(num_worlds: int, n_agents: int = 4, task: str = "forager", **options: Any
                          ) -> WorldloomSB3VecEnv:
    """The multi-agent task for one shared SB3 policy: ``num_worlds * n_agents`` VecEnv slots."""
    return WorldloomSB3VecEnv(num_worlds, task=task, n_agents=n_agents, **options)
