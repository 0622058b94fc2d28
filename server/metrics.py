"""Server metrics: tick time percentiles, overruns, clients, bytes/s, drops — as JSON and Prometheus text."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Metrics:
    """Counters and a rolling window of tick durations (seconds)."""

    window: int = 6000  # ticks kept for percentiles (5 min at 20 Hz)
    tick_seconds: deque[float] = field(default_factory=deque)
    ticks: int = 0
    overruns: int = 0
    skipped_ticks: int = 0
    clients: int = 0
    bytes_out: int = 0
    frames_out: int = 0
    bytes_in: int = 0
    frames_in: int = 0
    input_drops: int = 0
    invalid_messages: int = 0
    rate_limited: int = 0
    snapshots_replaced: int = 0
    rpc_calls: int = 0
    rpc_errors: int = 0
    connections_refused: int = 0
    room_failures: int = 0
    started: float = field(default_factory=time.monotonic)
    _rate_mark: tuple[float, int] = (0.0, 0)

    def record_tick(self, seconds: float, overrun: bool) -> None:
        self.ticks += 1
        self.overruns += int(overrun)
        self.tick_seconds.append(seconds)
        if len(self.tick_seconds) > self.window:
            self.tick_seconds.popleft()

    def tick_percentiles_ms(self, last: int | None = None) -> dict[str, float]:
        """Tick compute time percentiles in milliseconds over the window (or its ``last`` ticks)."""
        if not self.tick_seconds:
            return {"p50": 0.0, "p90": 0.0, "p99": 0.0, "max": 0.0}
        arr = np.fromiter(self.tick_seconds, dtype=np.float64) * 1000.0
        if last is not None:
            arr = arr[-max(1, last):]
        p50, p90, p99 = np.percentile(arr, [50, 90, 99])
        return {"p50": float(p50), "p90": float(p90), "p99": float(p99), "max": float(arr.max())}

    def bytes_out_per_second(self) -> float:
        now = time.monotonic()
        mark_t, mark_b = self._rate_mark
        if mark_t == 0.0:
            self._rate_mark = (now, self.bytes_out)
            return 0.0
        elapsed = now - mark_t
        rate = (self.bytes_out - mark_b) / elapsed if elapsed > 0 else 0.0
        if elapsed > 5.0:
            self._rate_mark = (now, self.bytes_out)
        return rate

    def as_dict(self, last: int | None = None) -> dict[str, object]:
        return {
            "uptime_s": time.monotonic() - self.started,
            "ticks": self.ticks,
            "tick_ms": self.tick_percentiles_ms(last),
            "overruns": self.overruns,
            "skipped_ticks": self.skipped_ticks,
            "clients": self.clients,
            "bytes_out": self.bytes_out,
            "bytes_out_per_s": self.bytes_out_per_second(),
            "frames_out": self.frames_out,
            "bytes_in": self.bytes_in,
            "frames_in": self.frames_in,
            "input_drops": self.input_drops,
            "invalid_messages": self.invalid_messages,
            "rate_limited": self.rate_limited,
            "snapshots_replaced": self.snapshots_replaced,
            "rpc_calls": self.rpc_calls,
            "rpc_errors": self.rpc_errors,
            "connections_refused": self.connections_refused,
            "room_failures": self.room_failures,
        }

    def prometheus(self) -> str:
        """Prometheus text exposition (format 0.0.4)."""
        pct = self.tick_percentiles_ms()
        lines = [
            "# HELP worldloom_tick_seconds Tick compute time over the last window.",
            "# TYPE worldloom_tick_seconds summary",
        ]
        for q, key in (("0.5", "p50"), ("0.9", "p90"), ("0.99", "p99")):
            lines.append(f'worldloom_tick_seconds{{quantile="{q}"}} {pct[key] / 1000.0:.9f}')
        lines.append(f"worldloom_tick_seconds_count {self.ticks}")
        counters = {
            "ticks_total": ("Ticks run.", self.ticks),
            "tick_overruns_total": ("Ticks whose compute exceeded the tick interval.", self.overruns),
            "skipped_ticks_total": ("Ticks dropped to catch up after a stall.", self.skipped_ticks),
            "bytes_out_total": ("Bytes handed to client sockets.", self.bytes_out),
            "frames_out_total": ("Frames handed to client sockets.", self.frames_out),
            "bytes_in_total": ("Bytes received from clients.", self.bytes_in),
            "frames_in_total": ("Frames received from clients.", self.frames_in),
            "input_drops_total": ("Inputs dropped because a client's queue was full.", self.input_drops),
            "invalid_messages_total": ("Malformed, invalid or unexpected client messages.", self.invalid_messages),
            "rate_limited_total": ("Client messages dropped by the rate limiter.", self.rate_limited),
            "snapshots_replaced_total": ("Unsent snapshots replaced by a newer one (slow clients).",
                                         self.snapshots_replaced),
            "rpc_calls_total": ("RPC requests received.", self.rpc_calls),
            "rpc_errors_total": ("RPC requests answered with an error.", self.rpc_errors),
            "connections_refused_total": ("Handshakes refused.", self.connections_refused),
            "room_failures_total": ("Room loops stopped by an error.", self.room_failures),
        }
        for name, (help_text, value) in counters.items():
            lines += [f"# HELP worldloom_{name} {help_text}", f"# TYPE worldloom_{name} counter",
                      f"worldloom_{name} {value}"]
        lines += ["# HELP worldloom_clients Connected clients.", "# TYPE worldloom_clients gauge",
                  f"worldloom_clients {self.clients}"]
        return "\n".join(lines) + "\n"
