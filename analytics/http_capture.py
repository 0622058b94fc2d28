"""The PostHog-compatible HTTP front end (aiohttp): ``/capture/``, ``/batch/``, ``/e/``, ``/i/v0/e/``.

Answers ``200 {"status": 1, ...}`` only after the events are committed; a body that cannot be a batch
gets ``400`` with PostHog's error shape (``type``, ``code``, ``detail``); an oversized one ``413``; a
wrong project key (when ``--posthog-key`` is set) ``401``. Per-event rejections ride in the 200 answer
(``rejected``: ``[index, reason]``) so one bad event never costs the rest of the batch.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .errors import BatchRefused
from .posthog import MAX_BODY_BYTES, decode_body, validate_posthog

if TYPE_CHECKING:
    from .service import AnalyticsService

ROUTES = ("/capture/", "/capture", "/batch/", "/batch", "/e/", "/e", "/i/v0/e/", "/i/v0/e", "/track/")


def _error(status: int, code: str, detail: str) -> web.Response:
    return web.json_response({"type": "validation_error", "code": code, "detail": detail}, status=status)


def build_app(service: AnalyticsService, api_key: str = "") -> web.Application:
    async def capture(request: web.Request) -> web.Response:
        received = int(time.time() * 1e6)
        body = await request.read()
        try:
            payload = decode_body(body, request.headers.get("Content-Type", ""),
                                  request.headers.get("Content-Encoding", ""),
                                  request.query.get("compression", ""))
            checked, key = validate_posthog(payload, received, service.policy)
        except BatchRefused as exc:
            status = 413 if "exceeds" in exc.reason or "larger than" in exc.reason else 400
            return _error(status, "invalid_payload", exc.reason)
        if api_key and key != api_key:
            return _error(401, "invalid_api_key", "project api key is missing or wrong")
        answer: dict[str, Any] = {"status": 1}
        answer.update(await service.store_validated(checked))
        return web.json_response(answer)

    app = web.Application(client_max_size=MAX_BODY_BYTES)
    for route in ROUTES:
        app.router.add_post(route, capture)

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "events": service.store.count()})

    app.router.add_get("/health", health)
    return app


async def start_http(service: AnalyticsService, host: str, port: int, api_key: str = "") -> tuple[web.AppRunner, int]:
    """Start serving; returns the runner (``await runner.cleanup()`` to stop) and the bound port."""
    runner = web.AppRunner(build_app(service, api_key), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    assert server is not None
    bound = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, bound
