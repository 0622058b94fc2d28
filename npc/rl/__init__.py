"""Reinforcement-learning environments over the Worldloom simulation (issue #8).

Importing this package registers the gymnasium ids (lazy ``"module:Class"`` entry points, so nothing
heavy is imported until ``gymnasium.make``):

- ``Worldloom/Forager-v0`` -- ``npc.rl.envs:ForagerEnv``: graze, rest, avoid wolves, survive.
- ``Worldloom/Evade-v0`` -- ``npc.rl.envs:EvadeEnv``: outlast pursuers (difficulty-director parameters).

and the vector entry points ``gymnasium.make_vec("Worldloom/Forager-v0", num_envs=N,
vectorization_mode="vector_entry_point")`` -> ``npc.rl.vector:WorldloomVectorEnv``. The PettingZoo env is
``npc.rl.multi.parallel_env``; SB3 adapters are ``npc.rl.vector.WorldloomSB3VecEnv`` and
``npc.rl.multi.shared_policy_vec_env``. See docs/rl.md.
"""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

TASK_IDS = {"forager": "Worldloom/Forager-v0", "evade": "Worldloom/Evade-v0"}
"""Task preset name -> registered gymnasium id."""

_ENTRY = {"forager": "npc.rl.envs:ForagerEnv", "evade": "npc.rl.envs:EvadeEnv"}


def _vector_entry(task: str) -> str:
    return f"npc.rl.registration:{task}_vector"


for _task, _id in TASK_IDS.items():
    if _id not in registry:
        register(id=_id, entry_point=_ENTRY[_task], vector_entry_point=_vector_entry(_task),
                 disable_env_checker=False, order_enforce=True)


def task_of(env_id_or_task: str) -> str:
    """``"Worldloom/Forager-v0"``, ``"Forager-v0"`` or ``"forager"`` -> ``"forager"``. Raises ``RlOptionError``."""
    from .errors import RlOptionError

    key = env_id_or_task.strip()
    for task, env_id in TASK_IDS.items():
        if key.lower() in (task, env_id.lower(), env_id.split("/")[1].lower()):
            return task
    raise RlOptionError("task", env_id_or_task, f"one of {sorted(TASK_IDS.values())} or {sorted(TASK_IDS)}")
