"""Errors raised by ``npc``.

    NpcError                              root of this package
    ├── NpcDataError(source, field, expected)  a design file that is unreadable or invalid
    └── NpcInputError (also ValueError)   bad input to the NPC API (unknown id, wrong array shape/dtype, ...)

Every message says what went wrong and where: ``NpcDataError`` names the file and the dotted field
(``actions.eat.considerations[1].curve``) and what would have been accepted.
"""

from __future__ import annotations


class NpcError(Exception):
    """Root of every error raised by the npc package."""


class NpcDataError(NpcError):
    """A design file that cannot be used.

    Attributes:
        source: the file (or ``"<string>"`` for in-memory text) the design came from.
        field: dotted path of the offending field, e.g. ``roles.guard.schedule[0].from``; ``"$"`` for the
            whole document.
        expected: what would have been accepted, e.g. ``"a number in [0, 24)"``.
    """

    def __init__(self, source: str, field: str, expected: str) -> None:
        super().__init__(f"{source}: {field}: expected {expected}")
        self.source = source
        self.field = field
        self.expected = expected


class NpcInputError(NpcError, ValueError):
    """Bad input to the NPC API: an id that is not a live NPC, arrays of the wrong shape or dtype, NaN values."""
