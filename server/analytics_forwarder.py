"""Forward gameplay events to the analytics service: bounded, never blocking the tick, never losing an ack.

The room calls ``record(...)`` for each event (an append to a list) and ``on_tick(tick)`` once per tick.
``on_tick`` seals the recorded rows into compact batches (``analytics.events``: columns, ids derived from
a random 64-bit run id and a sequence number, each batch's MessagePack at most ``batch_bytes``), sends
up to ``max_in_flight`` of them as server-originated ``analytics.ingest`` calls
(``RpcRouter.call``) and returns. Nothing here awaits or sleeps.

A batch leaves memory only when its ``RpcResponse`` arrives with code 0: the service answers after the
batch is committed to DuckDB, so an acknowledged event is durable. Every other outcome — timeout,
provider gone, no provider, a service answering with an error that a retry may fix — keeps the batch:

* while a service is connected, failed batches go back to the front of the queue (retried next tick,
  with a back-off of ``retry_interval`` seconds);
* when no service is connected for ``down_grace`` seconds, or memory holds more than
  ``max_memory_events``, the oldest batches are appended to a spill segment on disk
  (``<spill_dir>/spill-*.bin``: records of a 4-byte little-endian length + the batch's MessagePack).
  When a service is back, segments are replayed oldest first; a segment is deleted once every batch in
  it is acknowledged. A replayed batch that fails sends the whole segment back to the queue of
  segments (batches already acknowledged are re-sent and the store's event-id dedup ignores them).
  Segments left by an earlier process are replayed too.

Re-sending is always safe: the same batch carries the same event ids. A batch the service refuses as
invalid (``INVALID``) is dropped and counted (``dropped_invalid``): no retry can fix it.

What can be lost: events recorded but not yet spilled or acknowledged when the process dies (at most
one ``flush_interval`` plus the in-flight window), and, on power loss, spilled data not yet flushed by
the OS (segments are fsynced in ``close()``). If the spill directory itself cannot be written the
batch is dropped and counted (``dropped_spill``) — the tick never waits for a disk.

Rejected: an asyncio task with its own queue (a second scheduler for what the tick already paces);
blocking the tick on a full buffer (the issue forbids it); dropping on a full buffer (loses data the
disk could have kept).
"""

from __future__ import annotations

import logging
import os
import secrets
import struct
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from analytics.taxonomy import (
    INGEST_METHOD,
    KIND_CODE,
    MAX_NAME_CHARS,
    MAX_PLAYER_CHARS,
    MAX_VARIANT_CHARS,
)
from protocol import ErrorCode

from .rpc import RpcRouter

log = logging.getLogger("worldloom.analytics")

_LEN = struct.Struct("<I")
_encode = msgspec.msgpack.Encoder().encode


@dataclass
class ForwarderStats:
    """Counters in events unless named otherwise."""

    recorded: int = 0
    acknowledged: int = 0  # answered with code 0 (stored, duplicate or rejected per event by the service)
    rejected_by_service: int = 0  # per-event rejections reported inside acknowledged batches
    spilled: int = 0
    replayed: int = 0
    retried_batches: int = 0
    dropped_invalid: int = 0
    dropped_spill: int = 0
    dropped_bad_kind: int = 0


@dataclass
class _Segment:
    path: str
    batches: int = 0
    acked: set[int] = field(default_factory=set)
    generation: int = 0  # bumped when a replay attempt is abandoned; stale completions are ignored


@dataclass
class _Batch:
    seq0: int
    events: int
    payload: bytes  # msgspec-encoded params of analytics.ingest
    segment: _Segment | None = None
    generation: int = 0


class AnalyticsForwarder:
    """Bounded buffer between the room and the analytics service. Not thread-safe: event loop only.

    Args:
        router: the server's ``RpcRouter`` (server-originated calls).
        spill_dir: folder for spill segments (created if missing).
        batch_bytes: MessagePack size limit of one batch (the RPC frame stays under 60 000 bytes).
        max_batch_events: events per batch at most.
        max_memory_events: events kept in memory before the oldest batches spill to disk.
        max_in_flight: batches awaiting an answer at once.
        deadline_ms: deadline of one ingest call.
        flush_interval: seconds a partial batch may wait before it is sealed.
        down_grace: seconds without a service before memory spills to disk.
        retry_interval: seconds between retries after a failed call.
        segment_bytes: a spill segment is closed (and may be replayed) past this size.
    """

    def __init__(self, router: RpcRouter, spill_dir: str, *, method: str = INGEST_METHOD,
                 batch_bytes: int = 56_000, max_batch_events: int = 1800, max_memory_events: int = 200_000,
                 max_in_flight: int = 8, deadline_ms: int = 10_000, flush_interval: float = 0.25,
                 down_grace: float = 2.0, retry_interval: float = 1.0, segment_bytes: int = 4 << 20,
                 clock: Callable[[], float] = time.time) -> None:
        self.router, self.method, self.spill_dir = router, method, spill_dir
        self.batch_bytes, self.max_batch_events = batch_bytes, max_batch_events
        self.max_memory_events, self.max_in_flight, self.deadline_ms = max_memory_events, max_in_flight, deadline_ms
        self.flush_interval, self.down_grace, self.retry_interval = flush_interval, down_grace, retry_interval
        self.segment_bytes, self.clock = segment_bytes, clock
        self.stats = ForwarderStats()
        self.run_id = secrets.randbits(64)
        self._next_seq = 0
        self._rows: list[tuple[Any, ...]] = []
        self._rows_since = 0.0
        self._ready: deque[_Batch] = deque()
        self._ready_events = 0
        self._in_flight: dict[int, _Batch] = {}
        self._segments: deque[_Segment] = deque()  # closed segments waiting for replay, oldest first
        self._replaying: _Segment | None = None
        self._open_segment: tuple[_Segment, int] | None = None  # (segment, fd)
        self._open_size = 0
        self._down_since: float | None = None
        self._retry_at = 0.0
        self._closed = False
        os.makedirs(spill_dir, exist_ok=True)
        for name in sorted(os.listdir(spill_dir)):
            if name.startswith("spill-") and name.endswith(".bin"):
                self._segments.append(_Segment(os.path.join(spill_dir, name)))

    # ---------------------------------------------------------------- producer side (the room)
    def record(self, kind: str, player: str, name: str = "", value: float = 0.0, session: str = "",
               variant: str = "", ts_us: int | None = None) -> None:
        """Queue one event (``analytics.events`` taxonomy). O(1); never blocks, never raises for data."""
        code = KIND_CODE.get(kind)
        if code is None:
            self.stats.dropped_bad_kind += 1
            return
        if not self._rows:
            self._rows_since = self.clock()
        self._rows.append((int(time.time() * 1e6) if ts_us is None else ts_us, player[:MAX_PLAYER_CHARS],
                           session[:MAX_PLAYER_CHARS], code, name[:MAX_NAME_CHARS], float(value),
                           variant[:MAX_VARIANT_CHARS]))
        self.stats.recorded += 1

    @property
    def pending_events(self) -> int:
        """Events recorded and not yet acknowledged or spilled (memory only)."""
        return len(self._rows) + self._ready_events + sum(b.events for b in self._in_flight.values()
                                                          if b.segment is None)

    @property
    def spill_segments(self) -> int:
        return len(self._segments) + (self._replaying is not None) + (self._open_segment is not None)

    @property
    def idle(self) -> bool:
        """Nothing left anywhere: every recorded event was acknowledged (or dropped and counted)."""
        return not (self._rows or self._ready or self._in_flight or self.spill_segments)

    # ---------------------------------------------------------------- the tick
    def on_tick(self, tick: int = 0) -> None:
        """Seal, send, spill or replay; a room tick listener. Bounded work, no waiting."""
        if self._closed:
            return
        now = self.clock()
        if self._rows and (len(self._rows) >= self.max_batch_events or now - self._rows_since >= self.flush_interval):
            self._seal()
        online = self.router.has_provider(self.method)
        self._down_since = None if online else (self._down_since if self._down_since is not None else now)
        if online and now >= self._retry_at:
            if not self._ready and not self._in_flight and self._replaying is None:
                self._start_replay()
            while self._ready and len(self._in_flight) < self.max_in_flight:
                self._send(self._ready.popleft(), now)
        memory = self._ready_events + len(self._rows)
        if memory > self.max_memory_events or (
                not online and self._ready and self._down_since is not None and now - self._down_since >= self.down_grace):
            self._spill_ready(keep=0 if not online else self.max_memory_events // 2)

    def _seal(self) -> None:
        rows, self._rows = self._rows, []
        start = 0
        while start < len(rows):
            chunk = rows[start:start + self.max_batch_events]
            payload = self._payload(self._next_seq, chunk)
            while len(payload) > self.batch_bytes and len(chunk) > 1:
                chunk = chunk[:len(chunk) // 2]
                payload = self._payload(self._next_seq, chunk)
            self._ready.append(_Batch(self._next_seq, len(chunk), payload))
            self._ready_events += len(chunk)
            self._next_seq += len(chunk)
            start += len(chunk)

    def _payload(self, seq0: int, rows: list[tuple[Any, ...]]) -> bytes:
        ts, player, session, kind, name, value, variant = (list(col) for col in zip(*rows, strict=True))
        return _encode({"run": self.run_id, "seq0": seq0, "cols": {
            "ts": ts, "player": player, "session": session, "kind": kind, "name": name, "value": value,
            "variant": variant}})

    def _send(self, batch: _Batch, now: float) -> None:
        if batch.segment is None:
            self._ready_events -= batch.events
        holder: list[int] = []

        def done(code: int, result: Any, message: str) -> None:
            self._completed(holder[0] if holder else 0, batch, code, result, message)

        call_id = self.router.call(self.method, msgspec.Raw(batch.payload), self.deadline_ms, done, now)
        if call_id:
            holder.append(call_id)
            self._in_flight[call_id] = batch

    def _completed(self, call_id: int, batch: _Batch, code: int, result: Any, message: str) -> None:
        self._in_flight.pop(call_id, None)
        segment = batch.segment
        stale = segment is not None and (segment is not self._replaying or batch.generation != segment.generation)
        if code == 0:
            if stale:
                return
            self.stats.acknowledged += batch.events
            if isinstance(result, dict) and isinstance(result.get("rejected_total"), int):
                self.stats.rejected_by_service += result["rejected_total"]
            if segment is not None:
                self.stats.replayed += batch.events
                segment.acked.add(batch.seq0)
                if len(segment.acked) >= segment.batches:
                    self._finish_replay(segment)
            return
        if code == ErrorCode.INVALID:
            log.error("analytics service refused a batch of %d events: %s", batch.events, message)
            self.stats.dropped_invalid += batch.events
            if segment is not None and not stale:
                segment.acked.add(batch.seq0)
                if len(segment.acked) >= segment.batches:
                    self._finish_replay(segment)
            return
        self.stats.retried_batches += 1
        self._retry_at = self.clock() + self.retry_interval
        if segment is None:
            self._ready.appendleft(batch)
            self._ready_events += batch.events
        elif not stale:
            self._abandon_replay(segment)

    def _abandon_replay(self, segment: _Segment) -> None:
        """Stop replaying ``segment``: its batches leave memory and it goes back to the replay queue."""
        if segment is not self._replaying:
            return
        segment.generation += 1
        segment.acked.clear()
        self._ready = deque(b for b in self._ready if b.segment is not segment)
        self._replaying = None
        self._segments.appendleft(segment)

    # ---------------------------------------------------------------- spill segments
    def _spill_ready(self, keep: int) -> None:
        """Move the oldest in-memory batches to disk until at most ``keep`` events stay in memory."""
        self._seal()
        while self._ready and self._ready_events > keep:
            batch = self._ready.popleft()
            if batch.segment is not None:  # part of a replay: it is still on disk in its segment
                self._abandon_replay(batch.segment)
                continue
            self._ready_events -= batch.events
            try:
                self._append_to_segment(batch.payload)
            except OSError as exc:
                log.error("cannot spill %d analytics events to %s (%s); dropped", batch.events,
                          self.spill_dir, exc)
                self.stats.dropped_spill += batch.events
                continue
            self.stats.spilled += batch.events

    def _append_to_segment(self, payload: bytes) -> None:
        if self._open_segment is None:
            path = os.path.join(self.spill_dir, f"spill-{time.time_ns():020d}-{self.run_id:016x}.bin")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._open_segment, self._open_size = (_Segment(path), fd), 0
        segment, fd = self._open_segment
        os.write(fd, _LEN.pack(len(payload)) + payload)
        self._open_size += len(payload) + 4
        if self._open_size >= self.segment_bytes:
            self._close_open_segment()

    def _close_open_segment(self, sync: bool = False) -> None:
        if self._open_segment is None:
            return
        segment, fd = self._open_segment
        if sync:
            os.fsync(fd)
        os.close(fd)
        self._open_segment = None
        self._segments.append(segment)

    def _start_replay(self) -> None:
        if not self._segments and self._open_segment is not None:
            self._close_open_segment()
        while self._segments:
            segment = self._segments.popleft()
            try:
                batches = read_segment(segment.path)
            except OSError as exc:
                log.error("cannot read spill segment %s (%s); will retry", segment.path, exc)
                self._segments.append(segment)
                return
            segment.batches, segment.acked = len(batches), set()
            if not batches:
                self._delete(segment)
                continue
            self._replaying = segment
            for payload in batches:
                params = msgspec.msgpack.decode(payload)
                self._ready.append(_Batch(params["seq0"], len(params["cols"]["ts"]), payload, segment,
                                          segment.generation))
            return

    def _finish_replay(self, segment: _Segment) -> None:
        self._replaying = None
        self._delete(segment)

    @staticmethod
    def _delete(segment: _Segment) -> None:
        try:
            os.remove(segment.path)
        except FileNotFoundError:
            pass

    # ---------------------------------------------------------------- shutdown
    def close(self) -> None:
        """Server shutdown: everything not yet acknowledged goes to disk (fsynced) for the next process.

        Call after the room loop stopped and before the connections close; answers arriving later
        are ignored (their batches are on disk and will be re-sent: the dedup makes that harmless).
        """
        if self._closed:
            return
        self._seal()
        for batch in list(self._in_flight.values()):
            if batch.segment is None:
                self._ready.append(batch)
                self._ready_events += batch.events
        self._in_flight.clear()
        self._replaying = None
        self._spill_ready(keep=0)
        self._close_open_segment(sync=True)
        self._closed = True


def read_segment(path: str) -> list[bytes]:
    """The batch payloads of one spill segment; a torn last record (a crash mid-write) is ignored."""
    with open(path, "rb") as fh:
        data = fh.read()
    out, at = [], 0
    while at + 4 <= len(data):
        (size,) = _LEN.unpack_from(data, at)
        if at + 4 + size > len(data):
            break
        payload = data[at + 4:at + 4 + size]
        try:
            params = msgspec.msgpack.decode(payload)
            if not isinstance(params, dict) or "seq0" not in params:
                break
        except msgspec.DecodeError:
            break
        out.append(payload)
        at += 4 + size
    return out
