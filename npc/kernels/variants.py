"""Compile one kernel body twice: a serial and a threaded variant.

A kernel written with ``prange`` runs as a plain loop when compiled without ``parallel=True``; threads pay
off only for large populations (thread start-up costs more than 10k rows of work on two cores). The serial
copy gets its own qualified name so Numba's on-disk cache keeps the two compilations apart. Both run the
same code on the same data and each row writes only its own outputs, so they agree exactly.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

from numba import njit


def serial_and_parallel(fn: Callable[..., Any]) -> tuple[Any, Any]:
    """``(serial, parallel)`` Numba dispatchers of ``fn`` (cached, nogil)."""
    copy = types.FunctionType(fn.__code__, fn.__globals__, f"{fn.__name__}_serial", fn.__defaults__,
                              fn.__closure__)
    copy.__qualname__ = f"{fn.__qualname__}_serial"
    copy.__doc__ = fn.__doc__
    copy.__module__ = fn.__module__
    return njit(cache=True, nogil=True)(copy), njit(cache=True, nogil=True, parallel=True)(fn)
