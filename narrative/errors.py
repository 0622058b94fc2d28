"""Errors of the narrative package: one root and small data-carrying subclasses.

    NarrativeError                              root of every error raised by ``narrative``
    ├── DesignDataError(source, field, expected)   designer data (TOML presets, patterns, templates...)
    │                                              that is unreadable or invalid; names file and field
    ├── DirectorInputError(reason)                 a bad argument to the director at runtime (unknown
    │                                              player, non-finite signal, wrong array shape)
    └── DirectorStateError(reason)                 saved director state that cannot be loaded

Part B (sifting, quests, text) adds its subclasses below this line, each deriving from
``NarrativeError`` (designer-data problems should reuse ``DesignDataError`` so every "bad file" error
reads the same: which file, which field, what was expected). Keep this module small: classes only.
"""

from __future__ import annotations


class NarrativeError(Exception):
    """Root of every error raised by the narrative package."""


class DesignDataError(NarrativeError):
    """Designer data that cannot be used. Names the file (``source``), the ``field`` and what was ``expected``."""

    def __init__(self, source: str, field: str, expected: str) -> None:
        super().__init__(f"{source}: field {field}: expected {expected}")
        self.source = source
        self.field = field
        self.expected = expected


class DirectorInputError(NarrativeError):
    """A bad runtime argument to the director: unknown player, non-finite signal, wrong shape or range."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DirectorStateError(NarrativeError):
    """Saved director state (``to_dict``/``arrays``) that does not describe a valid director."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ---- part B: sifting, quests, text ------------------------------------------------------------------
#
#   NarrativeError
#   ├── UnknownEntityError(entity)              an entity id the world facts do not know (dead or never seen)
#   ├── QuestNotFoundError(player, quest_id)    no such quest in that player's ledger
#   ├── QuestStateError(quest_id, status, action)  an action the quest's status does not allow
#   │                                              (accept a quest not offered, turn in an unfinished one)
#   ├── QuestStepError(quest_id, reason)        progress claimed for a step that needs world evidence
#   └── QuestSaveError(reason)                  saved ledger data that does not describe valid quests


class UnknownEntityError(NarrativeError):
    """``entity`` is not a live entity the world facts know about."""

    def __init__(self, entity: object) -> None:
        super().__init__(f"entity {entity!r} is not a live entity of this world")
        self.entity = entity


class QuestNotFoundError(NarrativeError):
    """``player`` has no quest ``quest_id`` in the ledger (never offered, withdrawn or already pruned)."""

    def __init__(self, player: object, quest_id: object) -> None:
        super().__init__(f"player {player!r} has no quest {quest_id!r}")
        self.player = player
        self.quest_id = quest_id


class QuestStateError(NarrativeError):
    """``action`` is not allowed while quest ``quest_id`` is ``status``."""

    def __init__(self, quest_id: str, status: str, action: str) -> None:
        super().__init__(f"quest {quest_id}: cannot {action} while it is {status}")
        self.quest_id = quest_id
        self.status = status
        self.action = action


class QuestStepError(NarrativeError):
    """The current step of quest ``quest_id`` cannot be advanced by the player (``reason`` says why)."""

    def __init__(self, quest_id: str, reason: str) -> None:
        super().__init__(f"quest {quest_id}: {reason}")
        self.quest_id = quest_id
        self.reason = reason


class QuestSaveError(NarrativeError):
    """Saved quest/ledger data (``to_dict`` output) that cannot be loaded."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"quest save data is invalid: {reason}")
        self.reason = reason
