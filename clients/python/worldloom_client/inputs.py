"""Input bookkeeping: sequence numbers and the unacknowledged-input log used to resend after a resume.

Why this design: the server applies each ``Input.seq`` once and ignores anything not newer than the last
applied one, reporting that seq back as ``Snapshot.input_ack`` (and ``Welcome.last_input`` on resume).
So the client only needs an ordered log of inputs with ``seq > input_ack``: trim it on every ack,
resend its tail after a resume. Resending is safe because the server drops duplicates.

The log is bounded (``capacity``): a client that stays disconnected for long drops its oldest inputs
(counted in ``dropped``) rather than growing without limit; stale movement is worthless anyway.
No I/O here — the asyncio client moves the bytes.
"""

from __future__ import annotations

import math
from collections import deque

from protocol.messages import Input


def clamp_axis(value: float) -> float:
    """Clamp one movement axis to the wire range [-1, 1]; NaN becomes 0."""
    if math.isnan(value):
        return 0.0
    return -1.0 if value < -1.0 else 1.0 if value > 1.0 else float(value)


class InputLog:
    """Assigns strictly increasing ``seq`` values and keeps inputs the server has not applied yet."""

    def __init__(self, capacity: int = 1024) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.last_seq = 0
        """The newest seq handed out (0 before the first input)."""
        self.acked = 0
        """The newest seq the server reported as applied."""
        self.dropped = 0
        """Unacknowledged inputs discarded because the log was full."""
        self._pending: deque[Input] = deque()

    def record(self, move_x: float, move_y: float, buttons: int = 0, tick: int = 0) -> Input:
        """Create the next input (axes clamped to [-1, 1]) and remember it until acknowledged.

        Its seq is above both the previous seq and the newest ack (the server ignores anything older).
        """
        self.last_seq = max(self.last_seq, self.acked) + 1
        message = Input(seq=self.last_seq, tick=max(0, int(tick)),
                        move=(clamp_axis(move_x), clamp_axis(move_y)), buttons=int(buttons) & 0xFFFF_FFFF)
        if len(self._pending) >= self.capacity:
            self._pending.popleft()
            self.dropped += 1
        self._pending.append(message)
        return message

    def acknowledge(self, seq: int) -> int:
        """The server applied every input up to ``seq``; forget them. Returns how many were removed."""
        if seq <= self.acked:
            return 0
        self.acked = seq
        pending, removed = self._pending, 0
        while pending and pending[0].seq <= seq:
            pending.popleft()
            removed += 1
        return removed

    def unacknowledged(self, after: int | None = None) -> list[Input]:
        """Inputs with ``seq > after`` (default: the newest ack), oldest first — what to resend."""
        if after is not None:
            self.acknowledge(after)
        return list(self._pending)

    def clear(self) -> None:
        """Start over for a fresh (non-resumed) session: no pending inputs, seq counts from 1 again."""
        self._pending.clear()
        self.acked = 0
        self.last_seq = 0

    def __len__(self) -> int:
        return len(self._pending)
