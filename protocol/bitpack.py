"""The one bit packer: frame-of-reference fields written LSB-first into a byte buffer (Numba).

Used by the reference snapshot encoder (``protocol.snapshot``) and the kernel-written frames
(``protocol.frame_encoder``), so both produce the same bytes by construction.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def frame_of_reference(values, start, stop):  # pragma: no cover - compiled
    """(base, bits) for ``values[start:stop]`` (non-empty int64): the minimum, and the bit length of
    max - min taken modulo 2**64 (0 when all values are equal)."""
    mn = values[start]
    mx = values[start]
    for i in range(start + 1, stop):
        mn = min(mn, values[i])
        mx = max(mx, values[i])
    span = np.uint64(mx) - np.uint64(mn)
    bits = 0
    while span != np.uint64(0):
        span >>= np.uint64(1)
        bits += 1
    return mn, bits


@njit(cache=True, nogil=True)
def write_packed(buf, byte_pos, values, start, stop, base, bits):  # pragma: no cover - compiled
    """Write ``values[start:stop] - base`` as ``bits``-wide fields at ``buf[byte_pos:]``, field i at bit i*bits.

    buf (m,) uint8; values (n,) int64; 0 <= bits <= 64. Writes exactly ceil(bits * count / 8) bytes
    (padding bits zero) and returns the position after them. Differences wrap modulo 2**64.
    """
    count = stop - start
    nbytes = (bits * count + 7) // 8
    if bits == 0 or count == 0:
        return byte_pos
    ubase = np.uint64(base)
    if bits <= 56:  # a 64-bit accumulator never overflows: < 8 pending bits + at most 56 new ones
        acc = np.uint64(0)
        nacc = 0
        p = byte_pos
        for i in range(start, stop):
            acc |= (np.uint64(values[i]) - ubase) << np.uint64(nacc)
            nacc += bits
            while nacc >= 8:
                buf[p] = np.uint8(acc & np.uint64(0xFF))
                acc >>= np.uint64(8)
                nacc -= 8
                p += 1
        if nacc > 0:
            buf[p] = np.uint8(acc & np.uint64(0xFF))
        return byte_pos + nbytes
    for i in range(nbytes):
        buf[byte_pos + i] = 0
    bit = byte_pos * 8
    for i in range(start, stop):
        field = np.uint64(values[i]) - ubase
        left = bits
        while left > 0:
            off = bit & 7
            buf[bit >> 3] |= np.uint8((field << np.uint64(off)) & np.uint64(0xFF))
            take = min(8 - off, left)
            field >>= np.uint64(take)
            bit += take
            left -= take
    return byte_pos + nbytes
