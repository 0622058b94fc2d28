"""Stable entity ids: a uint32 packing a row index and that row's generation counter.

    id = (generation << 20) | row        row in [0, 2**20), generation in [1, 4095] (12 bits)

Why: entity state lives in dense rows that are recycled after a despawn. Each row carries a generation
counter that is bumped when its entity despawns, so the id of a dead entity never aliases the entity that
later reuses its row (a lookup compares the generation and fails with ``StaleEntityError``). Generations
wrap from 4095 back to 1 -- an id can only repeat after its row has been recycled 4095 times. Generation 0
is never issued, so every valid id is >= 2**20 and **id 0 means "no entity"** on the wire and in columns.

Alternatives rejected: a global counter (ids grow without bound and need a dict to find the row) and
64-bit ids (twice the bytes per entity in every snapshot for no practical gain).
"""

from __future__ import annotations

ROW_BITS = 20
"""Bits of the id that hold the row index."""

GENERATION_BITS = 12
"""Bits of the id that hold the generation counter."""

MAX_ROWS = 1 << ROW_BITS
"""Number of addressable rows (1,048,576): the largest possible entity-table capacity."""

ROW_MASK = MAX_ROWS - 1
MAX_GENERATION = (1 << GENERATION_BITS) - 1
"""Largest generation (4095); the one after it is 1, never 0."""

FIRST_GENERATION = 1
NO_ENTITY = 0
"""The id that means "no entity"; never issued."""


def make_id(row: int, generation: int) -> int:
    """Pack ``row`` (0 <= row < 2**20) and ``generation`` (1..4095) into an entity id."""
    if not 0 <= row < MAX_ROWS:
        raise ValueError(f"row {row} outside [0, {MAX_ROWS})")
    if not FIRST_GENERATION <= generation <= MAX_GENERATION:
        raise ValueError(f"generation {generation} outside [1, {MAX_GENERATION}]")
    return (generation << ROW_BITS) | row


def id_row(entity_id: int) -> int:
    """The row index packed in ``entity_id``."""
    return entity_id & ROW_MASK


def id_generation(entity_id: int) -> int:
    """The generation packed in ``entity_id`` (0 only for the "no entity" id)."""
    return (entity_id >> ROW_BITS) & MAX_GENERATION


def next_generation(generation: int) -> int:
    """The generation a row gets after a despawn: +1, wrapping from 4095 to 1 (skipping 0)."""
    return generation % MAX_GENERATION + 1
