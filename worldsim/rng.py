"""Named, seeded random streams: one ``np.random.Generator`` per purpose ("spawn", "wander", ...).

Why: one stream per purpose keeps systems independent -- adding draws to one never shifts another's
sequence. Each stream is derived from ``(seed, name)`` with ``np.random.SeedSequence`` and a SHA-256 of
the name (not Python's ``hash()``, which is salted per process), on an explicit PCG64 bit generator, so the
same seed gives the same numbers in every process and on every run.

``state_bytes()`` is a canonical encoding (streams sorted by name, JSON with sorted keys, integers exact)
of every created stream's state: saves store it and the world hash digests it.
"""

from __future__ import annotations

import hashlib
import json
import operator
from typing import Any, cast

import numpy as np

from .errors import CorruptStateError, InputError

MAX_SEED = (1 << 64) - 1


def _name_words(name: str) -> list[int]:
    """Four uint32 words of SHA-256(name): a process-independent key for the stream."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]


class RngStreams:
    """Deterministic named random streams derived from one integer seed (0 <= seed < 2**64)."""

    def __init__(self, seed: int) -> None:
        """Raises ``InputError`` unless ``seed`` is an integer in [0, 2**64)."""
        try:
            seed = operator.index(seed)
        except TypeError:
            raise InputError(f"seed must be an integer, got {type(seed).__name__}") from None
        if not 0 <= seed <= MAX_SEED:
            raise InputError(f"seed {seed} outside [0, 2**64)")
        self.seed = seed
        self._streams: dict[str, np.random.Generator] = {}

    def stream(self, name: str) -> np.random.Generator:
        """The generator for ``name``, created on first use from (seed, SHA-256(name))."""
        generator = self._streams.get(name)
        if generator is None:
            sequence = np.random.SeedSequence([self.seed & 0xFFFF_FFFF, self.seed >> 32, *_name_words(name)])
            generator = np.random.Generator(np.random.PCG64(sequence))
            self._streams[name] = generator
        return generator

    def names(self) -> list[str]:
        """Names of the created streams, sorted."""
        return sorted(self._streams)

    def state_bytes(self) -> bytes:
        """Canonical bytes of every created stream's bit-generator state (sorted by name)."""
        states = [[name, self._streams[name].bit_generator.state] for name in self.names()]
        return json.dumps(states, sort_keys=True, separators=(",", ":")).encode("utf-8")

    def load_state_bytes(self, data: bytes) -> None:
        """Replace every stream with the states in ``data`` (from ``state_bytes``); all or nothing.

        Raises ``CorruptStateError`` if ``data`` is not a valid state encoding.
        """
        try:
            states = json.loads(bytes(data).decode("utf-8"))
            if not isinstance(states, list):
                raise TypeError("not a list")
            loaded: dict[str, np.random.Generator] = {}
            for name, state in states:
                if not isinstance(name, str) or name in loaded:
                    raise ValueError(f"bad or repeated stream name {name!r}")
                if not isinstance(state, dict) or state.get("bit_generator") != "PCG64":
                    raise ValueError(f"stream {name!r} is not a PCG64 state")
                bit_generator = np.random.PCG64()
                bit_generator.state = cast(Any, state)  # validated by numpy's setter
                loaded[name] = np.random.Generator(bit_generator)
        except Exception as exc:  # malformed JSON, wrong shapes, numpy rejecting the state: all corrupt input
            raise CorruptStateError(f"invalid RNG state ({type(exc).__name__}: {exc})") from None
        self._streams = loaded
