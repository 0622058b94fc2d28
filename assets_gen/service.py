"""``python -m assets_gen.service --url ws://HOST:PORT/ws``: the generators as protocol RPC methods.

Methods: ``assets.generate_level``, ``assets.generate_terrain``, ``assets.loot``, ``assets.names`` (params
as in ``assets_gen.params``; service-only keys are described in docs/assets.md). The token comes from
``$WORLDLOOM_TOKEN`` (role ``service``) and is never logged.

Why this design:
* Jobs run in a thread pool: the Numba kernels are compiled with ``nogil=True``, so terrain work runs in
  parallel with the event loop, which keeps answering other requests. Cancellation is cooperative: when
  the SDK cancels a handler (deadline passed, connection gone, shutdown) the handler trips the job's
  ``CancelToken`` and the worker stops at its next check, within one erosion chunk.
* A service's answer travels as a client frame, capped at 16384 bytes by the server. A result is sent inline when its MessagePack encoding fits
  ``INLINE_LIMIT``; otherwise (always for terrain) the files are written under ``--out-dir`` in a
  sub-directory named after a digest of the request, and the answer carries a summary plus the paths.
  The service and the server share a machine in the default setup (``make run``), so paths are useful;
  a remote deployment would put ``--out-dir`` on shared storage.
* Bad parameters are answered with ``ErrorCode.INVALID`` and a message naming the parameter; a
  generator that gives up with ``RPC_FAILED``; a cancelled job with ``RPC_TIMEOUT``.
* The SDK resumes dropped sessions; when resuming is impossible (server restarted) this loop connects
  again with a fresh session, backing off up to 5 s. SIGTERM/SIGINT close the connection, cancel
  running jobs and exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import msgspec
from worldloom_client import ClientError, ConnectionLost, RpcError, WorldloomClient

from protocol.codes import ErrorCode
from protocol.messages import MAX_FRAME_BYTES

from .cancel import CancelToken
from .errors import AssetsError, Cancelled, GenerationFailed, ParameterError
from .jobs import level_job, loot_job, names_job, request_digest, terrain_job, write_json, write_level_files

log = logging.getLogger("assets_gen.service")

INLINE_LIMIT = MAX_FRAME_BYTES - 4096
"""Largest inline result in bytes (MessagePack). The answer travels twice -- service to server (services
get the server's ``service_limits``: frames up to ``MAX_FRAME_BYTES``) and server to caller (a server frame,
at most ``MAX_FRAME_BYTES``) -- so 4 KiB are left for the envelope."""
SERVICE_MAX_TERRAIN = 2049
"""Largest terrain size the service accepts (bounds memory per request; the CLI allows 4097)."""
METHODS = ("assets.generate_level", "assets.generate_terrain", "assets.loot", "assets.names")


def _service_options(params: Any, *names: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split service-only keys (``files``) from generator params."""
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ParameterError("params", f"must be a map of parameter names to values, got {type(params).__name__}")
    generator = {k: v for k, v in params.items() if k not in names}
    options = {k: params[k] for k in names if k in params}
    if "files" in options and not isinstance(options["files"], bool):
        raise ParameterError("files", "must be true or false")
    return generator, options


class AssetsService:
    """Handlers for the four RPC methods over a thread pool writing large results under ``out_dir``."""

    def __init__(self, out_dir: Path, workers: int = 2) -> None:
        self.out_dir = out_dir
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="assets-job")
        self.tokens: set[CancelToken] = set()
        self.handlers: dict[str, Callable[[Any], Any]] = {
            "assets.generate_level": self.generate_level, "assets.generate_terrain": self.generate_terrain,
            "assets.loot": self.loot, "assets.names": self.names}

    async def _run(self, job: Callable[[CancelToken], Any]) -> Any:
        """Run ``job(token)`` in the pool; map library errors to typed RPC errors; cancel on cancellation."""
        token = CancelToken()
        self.tokens.add(token)
        try:
            return await asyncio.get_running_loop().run_in_executor(self.pool, job, token)
        except asyncio.CancelledError:
            token.cancel("the request was cancelled (deadline passed or caller gone)")
            raise
        except ParameterError as exc:
            raise RpcError(ErrorCode.INVALID, str(exc)) from None
        except Cancelled as exc:
            raise RpcError(ErrorCode.RPC_TIMEOUT, f"generation cancelled: {exc}") from None
        except GenerationFailed as exc:
            raise RpcError(ErrorCode.RPC_FAILED, str(exc)) from None
        except AssetsError as exc:
            raise RpcError(ErrorCode.RPC_FAILED, str(exc)) from None
        finally:
            self.tokens.discard(token)

    def _deliver(self, kind: str, params: Any, document: Any, summary: Any,
                 write: Callable[[Path], dict[str, str]], force_files: bool) -> Any:
        if not force_files and len(msgspec.msgpack.encode(document)) <= INLINE_LIMIT:
            return document
        files = write(self.out_dir / f"{kind}-{request_digest(kind, params)}")
        return {"kind": kind, "inline": False, "summary": summary, "files": files}

    async def generate_level(self, params: Any) -> Any:
        raw, options = _service_options(params, "files")

        def job(token: CancelToken) -> Any:
            level, doc = level_job(raw, token)
            summary = {"playability": doc["playability"], "report": doc["report"],
                       "width": doc["width"], "height": doc["height"]}
            return self._deliver("level", raw, doc, summary, lambda out: write_level_files(level, out),
                                 options.get("files", False))

        return await self._run(job)

    async def generate_terrain(self, params: Any) -> Any:
        raw, _options = _service_options(params)

        def job(token: CancelToken) -> Any:
            out = self.out_dir / f"terrain-{request_digest('terrain', raw)}"
            result = terrain_job(raw, out, token, max_size=SERVICE_MAX_TERRAIN)
            return {**result, "inline": False}

        return await self._run(job)

    async def loot(self, params: Any) -> Any:
        raw, options = _service_options(params, "files")

        def job(_token: CancelToken) -> Any:
            doc = loot_job(raw)
            return self._deliver("loot", raw, doc, {"table": doc["table"], "count": len(doc["items"])},
                                 lambda out: {"json": write_json(doc, out / "loot.json")}, options.get("files", False))

        return await self._run(job)

    async def names(self, params: Any) -> Any:
        raw, options = _service_options(params, "files")

        def job(_token: CancelToken) -> Any:
            doc = names_job(raw)
            return self._deliver("names", raw, doc, {"kind": doc["kind"], "count": len(doc["names"])},
                                 lambda out: {"json": write_json(doc, out / "names.json")}, options.get("files", False))

        return await self._run(job)

    def shutdown(self) -> None:
        for token in list(self.tokens):
            token.cancel("the service is shutting down")
        self.pool.shutdown(wait=True, cancel_futures=True)


def warm_up() -> None:
    """Compile (or load cached) Numba kernels before registering, so the first request is not slow."""
    from .jobs import level_job, names_job
    from .params import terrain_params
    from .terrain import generate_terrain

    for algorithm in ("bsp", "caves", "wfc", "templates"):
        level_job({"algorithm": algorithm, "width": 16, "height": 16, "targets": {
            "enemies": 1, "treasure": 1, "traps": 1, "keys": 1}}, CancelToken())
    generate_terrain(terrain_params({"size": 33, "droplets": 10}))
    names_job({"count": 1})


async def serve(url: str, token: str, service: AssetsService, stop: asyncio.Event) -> None:
    """Stay connected and serving until ``stop`` is set; reconnect with a fresh session when needed."""
    delay = 0.2
    while not stop.is_set():
        client = WorldloomClient(url, role="service", token=token, name="assets_gen", methods=service.handlers,
                                 client_name="worldloom-assets-gen")
        try:
            await client.connect()
        except ClientError as exc:
            log.warning("cannot connect to %s (%s); retrying in %.1f s", url, exc, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, 5.0)
            continue
        delay = 0.2
        print(f"assets_gen: serving {', '.join(METHODS)} at {url}", flush=True)
        lost = asyncio.ensure_future(client.wait_for(lambda _c: False, timeout=None))
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({lost, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not lost.done():
            lost.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionLost):
            await lost
        await client.close()
        if not stop.is_set():
            log.warning("connection to %s lost; reconnecting", url)


async def _main(args: argparse.Namespace) -> int:
    token = os.environ.get("WORLDLOOM_TOKEN", "")
    if not token:
        print("assets_gen.service: set WORLDLOOM_TOKEN to a service token (worldloom token --role service)",
              file=sys.stderr)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await loop.run_in_executor(None, warm_up)
    service = AssetsService(args.out_dir, workers=args.workers)
    try:
        await serve(args.url, token, service, stop)
    finally:
        await loop.run_in_executor(None, service.shutdown)
    print("assets_gen: stopped", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assets_gen.service", description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="server websocket URL, e.g. ws://127.0.0.1:8765/ws")
    parser.add_argument("--out-dir", type=Path, default=Path("var/assets"),
                        help="where results too big for one frame are written (default %(default)s)")
    parser.add_argument("--workers", type=int, default=max(1, min(4, os.cpu_count() or 1)),
                        help="generator worker threads (default %(default)s)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("websockets").setLevel(logging.WARNING)
    return asyncio.run(_main(args))


if __name__ == "__main__":
    sys.exit(main())
