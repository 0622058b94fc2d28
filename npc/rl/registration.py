"""Vector entry points for ``gymnasium.make_vec(..., vectorization_mode="vector_entry_point")``."""

from __future__ import annotations

from typing import Any

from .vector import WorldloomVectorEnv


def forager_vector(num_envs: int = 1, **kwargs: Any) -> WorldloomVectorEnv:
    """``Worldloom/Forager-v0`` as a batched VectorEnv of ``num_envs`` worlds."""
    return WorldloomVectorEnv(num_envs, task="forager", **kwargs)


def evade_vector(num_envs: int = 1, **kwargs: Any) -> WorldloomVectorEnv:
    """``Worldloom/Evade-v0`` as a batched VectorEnv of ``num_envs`` worlds."""
    return WorldloomVectorEnv(num_envs, task="evade", **kwargs)
