"""Fast path for the server's hottest loop: one client's single-part snapshot frame, written by a kernel.

The server builds a snapshot for every client on every tick (50–1000 clients at 20 Hz). The general
encoder (``protocol.snapshot.encode_snapshot``) builds msgspec Structs per block and column, which costs
tens of microseconds per client. Here one Numba kernel walks the current and baseline views together and
writes the ``blocks`` array of the MessagePack frame directly; msgspec still writes the small fixed
header. The output is byte-for-byte the frame ``encode(encode_snapshot(...)[0])`` would give (a test
checks this with hypothesis), so there is one wire format and one reference encoder. Frames that would
exceed ``MAX_FRAME_BYTES`` return ``None`` and the caller uses the general encoder, which splits.

Views here are *flat*: ``keys`` (n,) int64 ascending with ``key = kind_index << 32 | entity_id`` and
``q`` (n, 3) int64 quantized positions, ``kind_index`` indexing the ``kinds`` name tuple.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .bitpack import frame_of_reference, write_packed
from .codec import encode
from .messages import MAX_FRAME_BYTES, Snapshot

ID_MASK = 0xFFFF_FFFF
_EMPTY_KEYS = np.empty(0, np.int64)
_EMPTY_Q = np.empty((0, 3), np.int64)


@njit(cache=True, nogil=True)
def _put_uint(buf, pos, v):  # pragma: no cover - compiled
    """MessagePack unsigned int (smallest form) for 0 <= v < 2**63 at ``pos``; returns the new pos."""
    if v < 128:
        buf[pos] = v
        return pos + 1
    if v < 256:
        buf[pos] = 0xCC
        buf[pos + 1] = v
        return pos + 2
    if v < 65536:
        buf[pos] = 0xCD
        n = 2
    elif v < 4294967296:
        buf[pos] = 0xCE
        n = 4
    else:
        buf[pos] = 0xCF
        n = 8
    for i in range(n):
        buf[pos + n - i] = (v >> (8 * i)) & 0xFF
    return pos + 1 + n


@njit(cache=True, nogil=True)
def _put_int(buf, pos, v):  # pragma: no cover - compiled
    """MessagePack signed int (smallest form, msgspec's choice) at ``pos``; returns the new pos."""
    if v >= 0:
        return _put_uint(buf, pos, v)
    if v >= -32:
        buf[pos] = v & 0xFF
        return pos + 1
    if v >= -128:
        buf[pos] = 0xD0
        n = 1
    elif v >= -32768:
        buf[pos] = 0xD1
        n = 2
    elif v >= -2147483648:
        buf[pos] = 0xD2
        n = 4
    else:
        buf[pos] = 0xD3
        n = 8
    for i in range(n):
        buf[pos + n - i] = (v >> (8 * i)) & 0xFF
    return pos + 1 + n


@njit(cache=True, nogil=True)
def _put_column(buf, pos, vals, count):  # pragma: no cover - compiled
    """Write ``Column`` [base, bits, count, bin data] for ``vals[:count]`` (int64) at ``pos``."""
    buf[pos] = 0x94
    pos += 1
    if count == 0:
        buf[pos] = 0
        buf[pos + 1] = 0
        buf[pos + 2] = 0
        buf[pos + 3] = 0xC4
        buf[pos + 4] = 0
        return pos + 5
    mn, bits = frame_of_reference(vals, 0, count)
    pos = _put_int(buf, pos, mn)
    pos = _put_uint(buf, pos, bits)
    pos = _put_uint(buf, pos, count)
    nbytes = (bits * count + 7) // 8
    if nbytes < 256:
        buf[pos] = 0xC4
        buf[pos + 1] = nbytes
        pos += 2
    elif nbytes < 65536:
        buf[pos] = 0xC5
        buf[pos + 1] = nbytes >> 8
        buf[pos + 2] = nbytes & 0xFF
        pos += 3
    else:
        buf[pos] = 0xC6
        for i in range(4):
            buf[pos + 4 - i] = (nbytes >> (8 * i)) & 0xFF
        pos += 5
    return write_packed(buf, pos, vals, 0, count, mn, bits)


@njit(cache=True, nogil=True)
def write_blocks(buf, cur_keys, cur_q, base_keys, base_q, names, name_starts, scratch):  # pragma: no cover
    """Write one ``KindBlock`` per kind (lo=0, hi=2**32, canonical ``changes``) of ``cur`` against ``base``.

    Returns the number of bytes written.

    scratch: (8, n + m) int64 work space for the eight columns of one kind.
    """
    pos = 0
    n, m = cur_keys.shape[0], base_keys.shape[0]
    i = 0
    j = 0
    for k in range(name_starts.shape[0] - 1):
        ne = 0
        nr = 0
        nk = 0
        while i < n or j < m:
            ck = cur_keys[i] if i < n else -1
            bk = base_keys[j] if j < m else -1
            c_in = i < n and (ck >> 32) == k
            b_in = j < m and (bk >> 32) == k
            if not c_in and not b_in:
                break
            if c_in and (not b_in or ck < bk):
                scratch[0, ne] = ck & 0xFFFFFFFF
                scratch[1, ne] = cur_q[i, 0]
                scratch[2, ne] = cur_q[i, 1]
                scratch[3, ne] = cur_q[i, 2]
                ne += 1
                i += 1
            elif b_in and (not c_in or bk < ck):
                scratch[4, nr] = bk & 0xFFFFFFFF
                nr += 1
                j += 1
            else:
                scratch[5, nk] = cur_q[i, 0] - base_q[j, 0]
                scratch[6, nk] = cur_q[i, 1] - base_q[j, 1]
                scratch[7, nk] = cur_q[i, 2] - base_q[j, 2]
                nk += 1
                i += 1
                j += 1
        buf[pos] = 0x97  # [kind, lo, hi, dx, dy, dz, changes]
        nlen = name_starts[k + 1] - name_starts[k]
        buf[pos + 1] = 0xA0 | nlen
        pos += 2
        for c in range(nlen):
            buf[pos + c] = names[name_starts[k] + c]
        pos += nlen
        buf[pos] = 0
        pos = _put_uint(buf, pos + 1, 4294967296)
        for c in range(5, 8):
            pos = _put_column(buf, pos, scratch[c], nk)
        if ne == 0 and nr == 0:
            buf[pos] = 0xC0  # nil: nobody entered or left
            pos += 1
        else:
            buf[pos] = 0x95  # Membership [entered, ex, ey, ez, removed]
            pos += 1
            for c in range(4):
                pos = _put_column(buf, pos, scratch[c], ne)
            pos = _put_column(buf, pos, scratch[4], nr)
    return pos


def blocks_bytes_bound(n: int, m: int, kinds: int) -> int:
    """Most bytes ``write_blocks`` can write for n current and m baseline entities over ``kinds`` kinds."""
    return 64 + kinds * 320 + 8 * (7 * n + m)


class FrameEncoder:
    """Encodes single-part snapshot frames for a fixed tuple of kind names (each < 32 ASCII chars).

    Reuses its buffers between calls; one instance per thread.
    """

    def __init__(self, kinds: tuple[str, ...], max_bytes: int = MAX_FRAME_BYTES) -> None:
        if not 0 < len(kinds) < 16 or any(not 0 < len(k) < 32 or not k.isascii() for k in kinds):
            raise ValueError("kinds must be 1..15 ASCII names of 1..31 characters")
        self.kinds = kinds
        self.max_bytes = max_bytes
        encoded = [k.encode() for k in kinds]
        self.names = np.frombuffer(b"".join(encoded), np.uint8).copy()
        self.name_starts = np.cumsum([0] + [len(e) for e in encoded]).astype(np.int64)
        self._buf = np.zeros(1 << 16, np.uint8)
        self._scratch = np.zeros((8, 1024), np.int64)

    def header(self, tick: int, baseline_tick: int, input_ack: int, time: float) -> bytes:
        """The frame prefix before the blocks (the Snapshot map up to and including the blocks array header)."""
        # Snapshot omits default fields, so the empty blocks list is absent: add the key, fix the map size
        header = encode(Snapshot(tick=tick, baseline=baseline_tick, input_ack=input_ack, time=time))
        return bytes((header[0] + 1,)) + header[1:] + b"\xa6blocks" + bytes((0x90 | len(self.kinds),))

    def encode(self, tick: int, baseline_tick: int, input_ack: int, time: float, cur_keys: np.ndarray,
               cur_q: np.ndarray, base_keys: np.ndarray | None = None,
               base_q: np.ndarray | None = None) -> bytes | None:
        """The whole frame of a one-part ``Snapshot``, or ``None`` when it would exceed ``max_bytes``.

        Args: cur_keys (n,) int64 ascending flat keys; cur_q (n, 3) int64; base_keys/base_q likewise for
        the baseline (None, with baseline_tick 0, for a full snapshot).
        """
        if base_keys is None or base_q is None:
            base_keys, base_q = _EMPTY_KEYS, _EMPTY_Q
        n, m = cur_keys.shape[0], base_keys.shape[0]
        need = blocks_bytes_bound(n, m, len(self.kinds))
        if self._buf.shape[0] < need:
            self._buf = np.zeros(max(need, 2 * self._buf.shape[0]), np.uint8)
        if self._scratch.shape[1] < n + m:
            self._scratch = np.zeros((8, max(n + m, 2 * self._scratch.shape[1])), np.int64)
        size = write_blocks(self._buf, cur_keys, cur_q, base_keys, base_q, self.names, self.name_starts,
                             self._scratch)
        header = self.header(tick, baseline_tick, input_ack, time)
        if len(header) + size > self.max_bytes:
            return None
        return header + self._buf[:size].tobytes()
