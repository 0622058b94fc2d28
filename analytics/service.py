"""The analytics service process: ``python -m analytics.service --url ws://HOST:PORT/ws --db FILE``.

It connects to the server with role ``service`` (token from ``$WORLDLOOM_TOKEN``, never logged) and
provides ``analytics.ingest`` (a batch of events; answered only after the batch is committed to DuckDB),
``analytics.query`` (the questions of ``analytics.queries``) and ``analytics.player_signals``. With
``--http-port`` it also serves a PostHog-compatible capture endpoint (``/capture/``, ``/batch/``,
``/e/``, ``/i/v0/e/``) on its own port, acknowledged the same way (HTTP 200 after the commit).

Why a group-commit writer: each acknowledgement needs a commit, and a commit costs a WAL fsync. Batches
that arrive while one commit runs wait and go into the next transaction together, so the commit rate
stays bounded while every batch still gets its own answer. DuckDB work runs in a worker thread so the
event loop keeps reading frames meanwhile.

The connection is retried forever with back-off (the server may restart); SIGTERM/SIGINT close the
connection with ``Bye``, checkpoint the store and exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass
from typing import Any

import msgspec
import pyarrow as pa
from worldloom_client import WorldloomClient
from worldloom_client.errors import ClientError, RpcError

from protocol.codes import ErrorCode

from .errors import AnalyticsError, BatchRefused, QueryError
from .events import DEFAULT_POLICY, TimePolicy, Validated, validate_batch
from .store import DuckDBEventStore, EventStore
from .taxonomy import INGEST_METHOD, QUERY_METHOD, SIGNALS_METHOD

log = logging.getLogger("worldloom.analytics")

MAX_ANSWER_BYTES = 15_000
"""An RPC answer must fit one client frame (16 KiB); larger query results are refused with a hint."""


class GroupCommitWriter:
    """Appends batches to the store; every batch waiting when a commit starts shares that commit."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._waiting: list[tuple[pa.Table, asyncio.Future[int]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.commits = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="analytics-writer")

    async def append(self, table: pa.Table) -> int:
        """Store ``table``; returns the rows that were new. Returns only after the commit."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append((table, future))
        self._wake.set()
        return await future

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._waiting = self._waiting, []
            if not batch:
                continue
            try:
                added = await asyncio.to_thread(self.store.append_many, [t for t, _ in batch])
            except Exception as exc:  # the store failed: every waiting batch is answered with the error
                log.exception("appending %d batches failed", len(batch))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.commits += 1
            for (_, future), count in zip(batch, added, strict=True):
                if not future.done():
                    future.set_result(count)

    async def stop(self) -> None:
        if self._task is not None:
            while self._waiting:
                await asyncio.sleep(0.01)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


@dataclass
class AnalyticsService:
    """Handlers shared by the RPC and HTTP front ends."""

    store: DuckDBEventStore
    writer: GroupCommitWriter
    policy: TimePolicy = DEFAULT_POLICY

    async def store_validated(self, checked: Validated) -> dict[str, Any]:
        stored = await self.writer.append(checked.table) if checked.table.num_rows else 0
        return {"stored": stored, "duplicates": checked.table.num_rows - stored,
                "rejected": [[i, reason[:200]] for i, reason in checked.rejected[:40]],
                "rejected_total": checked.rejected_total}

    async def ingest(self, params: Any) -> dict[str, Any]:
        received = int(time.time() * 1e6)
        if isinstance(params, msgspec.Raw):  # pragma: no cover - the client decodes params already
            params = msgspec.msgpack.decode(params)
        try:
            checked = validate_batch(params, received, self.policy)
        except BatchRefused as exc:
            raise RpcError(ErrorCode.INVALID, exc.reason) from None
        return await self.store_validated(checked)

    async def query(self, params: Any) -> Any:
        from .queries import run_query

        try:
            result = await asyncio.to_thread(run_query, self.store, params)
        except QueryError as exc:
            raise RpcError(ErrorCode.INVALID, exc.reason) from None
        return _bounded(result)

    async def player_signals(self, params: Any) -> Any:
        from .signals import signals_rpc

        try:
            result = await asyncio.to_thread(signals_rpc, self.store, params)
        except AnalyticsError as exc:
            raise RpcError(ErrorCode.INVALID, str(exc)) from None
        return _bounded(result)

    def methods(self) -> dict[str, Any]:
        return {INGEST_METHOD: self.ingest, QUERY_METHOD: self.query, SIGNALS_METHOD: self.player_signals}


def _bounded(result: Any) -> Any:
    size = len(msgspec.msgpack.encode(result))
    if size > MAX_ANSWER_BYTES:
        raise RpcError(ErrorCode.INVALID, f"answer of {size} bytes does not fit one frame; narrow the question "
                                          "(fewer days, fewer players, a 'limit') or use the report CLI")
    return result


async def serve_rpc(service: AnalyticsService, url: str, token: str, stop: asyncio.Event) -> None:
    """Stay connected to the server (reconnecting with back-off) until ``stop`` is set."""
    delay = 0.2
    while not stop.is_set():
        client = WorldloomClient(url, role="service", token=token, name="analytics", methods=service.methods(),
                                 client_name="worldloom-analytics", reconnect_attempts=3)
        try:
            await client.connect()
            log.info("analytics service connected to %s", url)
            delay = 0.2
            runner = client._runner  # the client's receive task ends when the connection is gone for good
            assert runner is not None
            stopped = asyncio.create_task(stop.wait())
            await asyncio.wait({runner, stopped}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
        except ClientError as exc:
            log.warning("cannot reach %s (%s); retrying in %.1f s", url, exc, delay)
        finally:
            await client.close()
        if not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(delay * 2, 5.0)


async def main_async(args: argparse.Namespace) -> int:
    token = os.environ.get("WORLDLOOM_TOKEN", "")
    if args.url and not token:
        print("analytics: set WORLDLOOM_TOKEN to a service token (`worldloom token --role service`)",
              file=sys.stderr)
        return 2
    store = DuckDBEventStore(args.db)
    writer = GroupCommitWriter(store)
    writer.start()
    service = AnalyticsService(store, writer, TimePolicy(max_future_s=args.max_future))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    http_runner = None
    if args.http_port is not None:
        from .http_capture import start_http

        http_runner, port = await start_http(service, args.http_host, args.http_port, args.posthog_key)
        print(f"analytics: PostHog-compatible capture on http://{args.http_host}:{port}/batch/", flush=True)
    tasks = [asyncio.create_task(serve_rpc(service, args.url, token, stop))] if args.url else []
    print(f"analytics: storing events in {args.db}", flush=True)
    await stop.wait()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    if http_runner is not None:
        await http_runner.cleanup()
    await writer.stop()
    store.checkpoint()
    store.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analytics.service", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="", help="server websocket URL, e.g. ws://127.0.0.1:8765/ws "
                                                  "(token from $WORLDLOOM_TOKEN); empty = HTTP only")
    parser.add_argument("--db", default="var/analytics.duckdb", help="DuckDB file (created if missing)")
    parser.add_argument("--http-host", default="127.0.0.1")
    parser.add_argument("--http-port", type=int, default=None,
                        help="serve the PostHog-compatible capture endpoint on this port (0 = any free port)")
    parser.add_argument("--posthog-key", default="", help="accept only this project api key (default: any)")
    parser.add_argument("--max-future", type=float, default=300.0,
                        help="seconds an event may be dated after its arrival before it is rejected")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.url and args.http_port is None:
        parser.error("give --url (protocol ingestion) and/or --http-port (PostHog capture)")
    db_dir = os.path.dirname(os.path.abspath(args.db))
    os.makedirs(db_dir, exist_ok=True)
    try:
        return asyncio.run(main_async(args))
    except AnalyticsError as exc:
        print(f"analytics: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
