"""The event store: one narrow interface (``EventStore``) and its embedded DuckDB implementation.

Why this design: everything above the store speaks ``append(table) -> new rows`` and ``sql(text) ->
Arrow``; nothing else knows DuckDB. A larger store (ClickHouse ``ReplacingMergeTree`` keyed by
``event_id``, or PostgreSQL with ``ON CONFLICT DO NOTHING``) implements the same two calls; the
queries in ``analytics.queries`` use window functions, ``date_trunc`` and ``epoch_us`` only, which both
have (docs/analytics.md, "Outgrowing one machine").

Appends are batched Arrow tables inserted with ``INSERT OR IGNORE`` against the ``event_id`` primary
key: re-sending a batch adds nothing, and a duplicate inside one batch is stored once. Several batches
go in one transaction (``append_many``), so one commit (one WAL fsync) serves many acknowledgements.
``append`` returns only after the commit: the caller may acknowledge then, and a process killed after
that point loses nothing (DuckDB replays its WAL on the next open).

Rejected: row-by-row ``executemany`` (three orders of magnitude slower); an anti-join against the
whole table per batch (its cost grows with the table; the index probe does not).
"""

from __future__ import annotations

import os
import threading
from typing import Any, Protocol

import duckdb
import pyarrow as pa

from .errors import StoreError

CREATE = """
CREATE TABLE IF NOT EXISTS events (
    event_id    UUID PRIMARY KEY,
    ts          TIMESTAMP NOT NULL,   -- UTC
    received_at TIMESTAMP NOT NULL,   -- UTC, when the store first saw it
    player_id   VARCHAR NOT NULL,
    session_id  VARCHAR,
    kind        VARCHAR NOT NULL,
    name        VARCHAR,
    value       DOUBLE,
    variant     VARCHAR,
    props       VARCHAR               -- JSON object or NULL
)"""

INSERT = """
INSERT OR IGNORE INTO events
SELECT event_id::UUID, ts, received_at, player_id, NULLIF(session_id, ''), kind, name, value, variant, props
FROM batch"""


class EventStore(Protocol):
    """What the service and the queries need of a store."""

    def append(self, table: pa.Table) -> int:
        """Store validated events (``analytics.events.SCHEMA``); durable on return. Returns new rows."""
        ...

    def append_many(self, tables: list[pa.Table]) -> list[int]:
        """Several batches in one commit; new rows per batch."""
        ...

    def sql(self, query: str, params: list[Any] | None = None) -> pa.Table:
        """Run a read-only query over the ``events`` table."""
        ...

    def count(self) -> int: ...

    def close(self) -> None: ...


class DuckDBEventStore:
    """Events in one DuckDB file (``":memory:"`` for throwaway use).

    Thread-safe: appends and queries may come from different threads (each call takes its own cursor;
    appends are serialized by a lock, queries run concurrently with them).
    """

    def __init__(self, path: str, threads: int | None = None, read_only: bool = False) -> None:
        self.path = path
        if path != ":memory:":
            folder = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(folder):
                raise StoreError(path, "its folder does not exist", f"create {folder} or pass another --db")
        config = {"threads": threads} if threads else {}
        try:
            self._con = duckdb.connect(path, read_only=read_only, config=config)
            if not read_only:
                self._con.execute(CREATE)
                self._con.execute("CHECKPOINT")
        except duckdb.IOException as exc:
            raise StoreError(path, f"cannot open ({exc})",
                             "stop the other process using it (DuckDB allows one writer) or pass another --db") from None
        except duckdb.Error as exc:
            raise StoreError(path, f"not a usable DuckDB file ({exc})", "pass a new file path with --db") from None
        self._write = threading.Lock()

    def append(self, table: pa.Table) -> int:
        return self.append_many([table])[0]

    def append_many(self, tables: list[pa.Table]) -> list[int]:
        with self._write:
            cur = self._con.cursor()
            try:
                cur.execute("BEGIN TRANSACTION")
                added = []
                for table in tables:
                    if table.num_rows == 0:
                        added.append(0)
                        continue
                    cur.register("batch", table)
                    added.append(int(cur.execute(INSERT).fetchone()[0]))
                    cur.unregister("batch")
                cur.execute("COMMIT")
                return added
            except BaseException:
                try:
                    cur.execute("ROLLBACK")
                except duckdb.Error:
                    pass
                raise
            finally:
                cur.close()

    def sql(self, query: str, params: list[Any] | None = None) -> pa.Table:
        cur = self._con.cursor()
        try:
            return cur.sql(query, params=params or None).to_arrow_table()
        finally:
            cur.close()

    def count(self) -> int:
        return int(self.sql("SELECT count(*) AS n FROM events")["n"][0].as_py())

    def checkpoint(self) -> None:
        with self._write:
            self._con.execute("CHECKPOINT")

    def close(self) -> None:
        self._con.close()
