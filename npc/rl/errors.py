"""Errors of the RL package. ``RlError`` is the root; every subclass carries the data a caller needs.

    RlError
    ├── RlOptionError(option, value, expected)   a bad constructor argument or ``reset(options=...)`` entry
    ├── RlActionError(expected, got)              actions of the wrong shape, dtype or range
    └── PolicyLoadError(path, reason, fix)        a saved policy that cannot be loaded or does not fit the env
"""

from __future__ import annotations


class RlError(Exception):
    """Root of every error raised by ``npc.rl``."""


class RlOptionError(RlError, ValueError):
    """A task option (constructor argument or ``reset(options=...)`` key) with a bad value."""

    def __init__(self, option: str, value: object, expected: str) -> None:
        self.option, self.value, self.expected = option, value, expected
        super().__init__(f"option {option!r} = {value!r}: expected {expected}")


class RlActionError(RlError, ValueError):
    """Actions that do not fit the action space."""

    def __init__(self, expected: str, got: str) -> None:
        self.expected, self.got = expected, got
        super().__init__(f"actions must be {expected}, got {got}")


class PolicyLoadError(RlError):
    """A saved policy that cannot be loaded or whose spaces do not match the observation layout."""

    def __init__(self, path: str, reason: str, fix: str) -> None:
        self.path, self.reason, self.fix = path, reason, fix
        super().__init__(f"cannot load policy {path}: {reason} (fix: {fix})")
