"""Batched environments: W worlds stepped by one compiled call, as a gymnasium ``VectorEnv`` and as a
stable-baselines3 ``VecEnv``.

``WorldloomVectorEnv`` follows gymnasium 1.x's default autoreset mode, ``AutoresetMode.NEXT_STEP`` (stated
in ``metadata["autoreset_mode"]``): when world ``i`` ends at step ``t``, the step ``t + 1`` call resets it,
ignores its action and returns its first observation with reward 0 and both flags False -- exactly what
``gymnasium.vector.SyncVectorEnv`` does over single envs, so the two give identical trajectories for the
same seeds and actions (tested). ``reset(seed=s)`` seeds world ``i`` with ``s + i`` like ``SyncVectorEnv``.

``WorldloomSB3VecEnv`` follows SB3's convention instead (same-step autoreset): a world that ends is reset
in the same call, its final observation goes to ``infos[i]["terminal_observation"]`` and
``infos[i]["TimeLimit.truncated"]`` tells truncation from termination.

Why two classes over one core rather than wrapping one in the other: SB3 does not accept gymnasium vector
envs, and converting NEXT_STEP to same-step in Python would cost a second step call for every reset.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import numpy.typing as npt
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from . import kernels
from .core import N_ACTIONS, BatchedWorlds, generators_for, load_atlas
from .envs import SCENARIO_OPTIONS, apply_scenario_options, observation_space
from .params import apply_options, task_params
from .render import render_agent


def _new_core(num_envs: int, task: str, scenario: str, options: dict[str, Any], parallel: bool) -> BatchedWorlds:
    params = task_params(task)
    apply_options(params, options, ignore=SCENARIO_OPTIONS)
    core = BatchedWorlds(num_envs, 1, params, load_atlas(scenario), parallel=parallel)
    apply_scenario_options(core, scenario, options)
    return core


def _apply_reset_options(core: BatchedWorlds, scenario: str, options: dict[str, Any] | None,
                         mask: npt.NDArray[np.bool_]) -> None:
    """Options for every world, or per world with ``options={"per_world": [dict | None, ...]}``."""
    if not options:
        return
    per_world = options.get("per_world")
    if per_world is not None:
        if len(per_world) != core.n_worlds:
            from .errors import RlOptionError

            raise RlOptionError("per_world", f"{len(per_world)} entries", f"{core.n_worlds} entries (one per world)")
        for w, entry in enumerate(per_world):
            if mask[w]:
                apply_options(core.params[w], entry)
    rest = {k: v for k, v in options.items() if k != "per_world"}
    for w in np.flatnonzero(mask).tolist():
        apply_options(core.params[w], rest, ignore=SCENARIO_OPTIONS)
    apply_scenario_options(core, scenario, rest)


class WorldloomVectorEnv(VectorEnv):
    """``num_envs`` one-agent worlds of ``task`` (``"forager"`` / ``"evade"``) as a gymnasium VectorEnv.

    Spaces: ``single_observation_space`` Box(0, 1, (199,), float32); ``single_action_space`` Discrete(5);
    batched: (num_envs, 199) and MultiDiscrete([5] * num_envs). Observations returned are copies unless
    ``copy=False`` (then the internal buffer, overwritten by the next call). ``parallel=True`` spreads the
    worlds over Numba's threads (same results; see ``BatchedWorlds``).

    ``reset(seed=, options=)``: ``options`` holds task options for every world, ``per_world`` (a list of
    option dicts, one per world, for a curriculum) and ``reset_mask`` ((num_envs,) bool, reset only those).
    """

    metadata = {"render_modes": ["rgb_array"], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int, task: str = "forager", scenario: str = "meadow",
                 render_mode: str | None = None, copy: bool = True, parallel: bool = False, **options: Any) -> None:
        self.num_envs = int(num_envs)
        self.task, self.scenario, self.render_mode, self.copy = task, scenario, render_mode, copy
        self.core = _new_core(self.num_envs, task, scenario, options, parallel)
        self.single_observation_space = observation_space(self.core.obs_dim)
        self.single_action_space = spaces.Discrete(N_ACTIONS)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._obs = self.core.obs[:, 0]
        self._started = np.zeros(self.num_envs, dtype=bool)

    def reset(self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
              ) -> tuple[npt.NDArray[np.float32], dict[str, Any]]:
        mask = np.ones(self.num_envs, dtype=bool)
        if options and "reset_mask" in options:
            mask = np.asarray(options["reset_mask"], dtype=bool).reshape(self.num_envs)
            options = {k: v for k, v in options.items() if k != "reset_mask"}
        if seed is not None:
            self._np_random, self._np_random_seed = gym.utils.seeding.np_random(
                seed if isinstance(seed, int) else int(seed[0]))
        gens = generators_for(seed, self.num_envs)
        fresh = mask & ~self._started
        if gens is not None:
            self.core.seed_worlds(mask, [g for g, m in zip(gens, mask, strict=True) if m])
        elif fresh.any():
            self.core.seed_worlds(fresh, [gym.utils.seeding.np_random()[0] for _ in range(int(fresh.sum()))])
        self._started |= mask
        _apply_reset_options(self.core, self.scenario, options, mask)
        self.core.reset(mask)
        return self._out(self._obs), {}

    def step(self, actions: npt.ArrayLike) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float64],
                                                    npt.NDArray[np.bool_], npt.NDArray[np.bool_], dict[str, Any]]:
        if not self._started.all():
            raise gym.error.ResetNeeded("call reset() before step()")
        c = self.core
        c.step(np.asarray(actions).reshape(self.num_envs, 1), kernels.NEXT_STEP)
        return (self._out(self._obs), c.reward[:, 0].copy(), c.terminated[:, 0].copy(), c.truncated[:, 0].copy(),
                {})

    def _out(self, array: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        return array.copy() if self.copy else array

    def render(self) -> tuple[npt.NDArray[np.uint8], ...] | None:
        if self.render_mode != "rgb_array":
            return None
        return tuple(render_agent(self.core, w, 0) for w in range(self.num_envs))


def _sb3_base() -> type:
    from stable_baselines3.common.vec_env.base_vec_env import VecEnv

    return VecEnv


class WorldloomSB3VecEnv(_sb3_base()):  # type: ignore[misc]
    """The batched core as a stable-baselines3 ``VecEnv`` (same-step autoreset, SB3's convention).

    ``num_envs`` worlds with ``n_agents`` agents each; slot ``w * n_agents + a`` is agent ``a`` of world
    ``w``. With ``n_agents > 1`` this is the shared-policy adapter of the multi-agent task: every agent
    is a slot, an agent that dies is respawned in its world (its slot reports ``done`` with the terminal
    observation), and a world resets when it reaches ``max_steps``.

    ``seed(s)`` makes the next reset seed world ``w`` with ``s + w``; ``env_method("set_options", opts)``
    sets task options for all worlds (curriculum), effective from each world's next episode.
    """

    def __init__(self, num_envs: int, task: str = "forager", scenario: str = "meadow", n_agents: int = 1,
                 parallel: bool = False, **options: Any) -> None:
        self.task, self.scenario = task, scenario
        self.core = BatchedWorlds(int(num_envs), int(n_agents), task_params(task), load_atlas(scenario),
                                  parallel=parallel)
        apply_options(self.core.params[0], options, ignore=SCENARIO_OPTIONS)
        self.core.params[:] = self.core.params[0]
        apply_scenario_options(self.core, scenario, options)
        self.n_worlds, self.n_agents = int(num_envs), int(n_agents)
        slots = self.n_worlds * self.n_agents
        self.render_mode = "rgb_array"
        super().__init__(slots, observation_space(self.core.obs_dim), spaces.Discrete(N_ACTIONS))
        self._actions: npt.NDArray[np.int64] = np.zeros(slots, dtype=np.int64)
        self._pending_seed: int | None = None
        self._episode_return = np.zeros(slots)
        self._episode_length = np.zeros(slots, dtype=np.int64)

    # -- VecEnv API
    def reset(self) -> npt.NDArray[np.float32]:
        gens = generators_for(self._pending_seed, self.n_worlds)
        if gens is None:
            gens = [gym.utils.seeding.np_random()[0] for _ in range(self.n_worlds)]
        self._pending_seed = None
        everything = np.ones(self.n_worlds, dtype=bool)
        self.core.seed_worlds(everything, gens)
        self.core.reset(everything)
        self._episode_return[:] = 0
        self._episode_length[:] = 0
        return self.core.obs.reshape(self.num_envs, -1).copy()

    def step_async(self, actions: npt.ArrayLike) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.bool_],
                                 list[dict[str, Any]]]:
        c = self.core
        c.step(self._actions.reshape(self.n_worlds, self.n_agents), kernels.SAME_STEP, respawn=self.n_agents > 1)
        rewards = np.empty(self.num_envs, dtype=np.float32)
        np.copyto(rewards, c.reward.reshape(-1), casting="same_kind")
        terminated = c.terminated.reshape(-1)
        truncated = c.truncated.reshape(-1)
        if c.was_reset.any():  # an agent that died earlier in an ended world is done too
            ended = np.repeat(c.was_reset, self.n_agents)
            dones = terminated | truncated | ended
        else:
            dones = terminated | truncated
        self._episode_return += rewards
        self._episode_length += 1
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if dones.any():
            final = c.final_obs.reshape(self.num_envs, -1)
            for i in np.flatnonzero(dones):
                infos[i] = {"terminal_observation": final[i].copy(),
                            "TimeLimit.truncated": bool(truncated[i] and not terminated[i]),
                            "episode": {"r": float(self._episode_return[i]), "l": int(self._episode_length[i])}}
            self._episode_return[dones] = 0
            self._episode_length[dones] = 0
        return c.obs.reshape(self.num_envs, -1).copy(), rewards, dones, infos

    def close(self) -> None:
        return None

    def seed(self, seed: int | None = None) -> Sequence[None | int]:
        self._pending_seed = seed
        return [None if seed is None else seed + i for i in range(self.num_envs)]

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        return [getattr(self, attr_name)] * len(list(self._get_indices(indices)))

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        setattr(self, attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: Any = None, **method_kwargs: Any) -> list[Any]:
        result = getattr(self, method_name)(*method_args, **method_kwargs)
        return [result] * len(list(self._get_indices(indices)))

    def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
        return [False] * len(list(self._get_indices(indices)))

    def get_images(self) -> Sequence[npt.NDArray[np.uint8] | None]:
        return [render_agent(self.core, i // self.n_agents, i % self.n_agents) for i in range(self.num_envs)]

    # -- Worldloom extras
    def set_options(self, options: dict[str, Any]) -> None:
        """Task options for every world from its next episode on (curriculum). Raises ``RlOptionError``."""
        for w in range(self.n_worlds):
            apply_options(self.core.params[w], options, ignore=SCENARIO_OPTIONS)
        apply_scenario_options(self.core, self.scenario, options)
