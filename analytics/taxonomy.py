"""Event kinds and field limits: the few constants shared by producers and the service.

Kept free of heavy imports (no numpy/pyarrow) so that the server's forwarder can use it cheaply.
The meaning of ``name`` and ``value`` per kind is documented in ``analytics.events``.
"""

from __future__ import annotations

KINDS: tuple[str, ...] = (
    "session_start", "session_end", "progression_start", "progression_fail", "progression_complete",
    "resource_source", "resource_sink", "design", "death", "quest_start", "quest_complete", "quest_fail",
    "difficulty_change", "custom",
)
"""Event kinds; the index is the compact wire code (append-only: never reorder)."""
KIND_CODE: dict[str, int] = {k: i for i, k in enumerate(KINDS)}

INGEST_METHOD = "analytics.ingest"
QUERY_METHOD = "analytics.query"
SIGNALS_METHOD = "analytics.player_signals"

MAX_BATCH_EVENTS = 5000
"""A batch with more events is refused whole (split it)."""
MAX_PLAYER_CHARS = 64
MAX_NAME_CHARS = 128
MAX_VARIANT_CHARS = 32
COMPACT_COLUMNS = ("ts", "player", "session", "kind", "name", "value", "variant")
"""Column order of a compact batch (see ``analytics.events``)."""
