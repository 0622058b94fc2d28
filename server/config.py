"""Server settings with validation; every bad value names the setting and what is expected."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from protocol.messages import MAX_FRAME_BYTES
from protocol.session import SessionLimits

from .errors import ConfigError


@dataclass
class ServerConfig:
    """Settings of one server process. Times in seconds, distances in metres, rates in Hz."""

    host: str = "127.0.0.1"
    port: int = 8765  # 0 = let the OS pick (tests)
    tick_rate: int = 20
    seed: int = 1
    npc_count: int = 200
    npc_speed: float = 2.0
    half_extent: float = 200.0  # the world spans [-half_extent, half_extent] on x and y (bare worlds)
    scenario: str | None = None  # scenario file or bundled name (e.g. "meadow"); None = a bare flat world
    aoi_radius: float = 50.0
    max_clients: int = 2000
    open_play: bool = True  # players/spectators may join without a token
    secret: str | None = None  # HMAC secret for tokens; random per process when None
    resume_grace: float = 30.0
    input_queue: int = 32
    snapshot_history: int = 32
    max_catchup: int = 5
    hello_timeout: float = 5.0
    limits: SessionLimits = field(default_factory=SessionLimits)
    service_limits: SessionLimits = field(default_factory=lambda: SessionLimits(
        max_frame=MAX_FRAME_BYTES, rate=5000.0, burst=10000.0))
    """Limits for token-authenticated roles (services answer many RPCs with results up to a full frame)."""
    save_path: str | None = None  # world save file; loaded at start if present, written on shutdown
    autosave_interval: float = 60.0  # seconds; 0 disables
    analytics_spill_dir: str | None = None  # where unacknowledged analytics events wait (None: a temp dir)
    runs_dir: str | None = None  # `worldloom sim` output dirs the web viewer may replay (None: $WORLDLOOM_RUNS_DIR, else off)
    record_commands: bool = False  # keep the room's command log (replays, determinism checks)
    raise_room_errors: bool = False  # tests: a failing room loop raises instead of only stopping

    def validate(self) -> ServerConfig:
        def need(ok: bool, name: str, expected: str, value: object) -> None:
            if not ok:
                raise ConfigError(f"setting {name}={value!r} is invalid: expected {expected}")

        need(0 <= self.port <= 65535, "port", "0..65535 (0 picks a free port)", self.port)
        need(1 <= self.tick_rate <= 240, "tick_rate", "1..240 Hz", self.tick_rate)
        need(0 <= self.seed < 2**63, "seed", "an integer in [0, 2**63)", self.seed)
        need(0 <= self.npc_count <= 500_000, "npc_count", "0..500000", self.npc_count)
        need(math.isfinite(self.half_extent) and self.half_extent > 0, "half_extent", "> 0 metres",
             self.half_extent)
        need(math.isfinite(self.aoi_radius) and self.aoi_radius > 0, "aoi_radius", "> 0 metres", self.aoi_radius)
        need(self.max_clients >= 1, "max_clients", ">= 1", self.max_clients)
        need(self.resume_grace >= 0, "resume_grace", ">= 0 seconds", self.resume_grace)
        need(1 <= self.input_queue <= 4096, "input_queue", "1..4096", self.input_queue)
        need(2 <= self.snapshot_history <= 64, "snapshot_history", "2..64 (clients keep 64 baselines)",
             self.snapshot_history)
        need(self.max_catchup >= 1, "max_catchup", ">= 1 ticks", self.max_catchup)
        need(self.hello_timeout > 0, "hello_timeout", "> 0 seconds", self.hello_timeout)
        need(self.autosave_interval >= 0, "autosave_interval", ">= 0 seconds (0 disables)",
             self.autosave_interval)
        if self.secret is not None:
            need(len(self.secret) >= 16, "secret", "at least 16 characters", "<hidden>")
        return self
