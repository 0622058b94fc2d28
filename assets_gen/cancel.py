"""Cooperative cancellation for generator jobs running in worker threads.

Why this design: jobs run in a thread pool (the Numba kernels release the GIL), and a Python thread
cannot be killed. Every generator takes a ``CancelToken`` and calls ``check()`` between stages and
between chunks of long kernels (erosion runs in chunks of droplets), so a cancelled job stops within
one chunk — a few milliseconds — and frees its worker. Rejected: a process pool, whose jobs can be
killed but which copies every result through pickling and loses the cached Numba compilation per worker.
"""

from __future__ import annotations

import threading
import time

from .errors import Cancelled


class CancelToken:
    """A flag plus an optional monotonic deadline. ``check()`` raises ``Cancelled`` once either trips."""

    def __init__(self, deadline: float | None = None) -> None:
        """``deadline``: ``time.monotonic()`` value after which the job is abandoned (None = never)."""
        self.deadline = deadline
        self._event = threading.Event()
        self.reason = ""

    def cancel(self, reason: str = "cancelled by the caller") -> None:
        self.reason = reason
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set() or (self.deadline is not None and time.monotonic() > self.deadline)

    def check(self) -> None:
        """Raise ``Cancelled`` if the job was cancelled or its deadline has passed."""
        if self._event.is_set():
            raise Cancelled(self.reason)
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise Cancelled("deadline passed")


def ensure_token(cancel: CancelToken | None) -> CancelToken:
    """``cancel`` itself, or a fresh token that is never cancelled (library calls without a caller)."""
    return cancel if cancel is not None else CancelToken()
