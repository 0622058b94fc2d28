"""Walking player bots: load for ``make run``, benchmarks and end-to-end tests.

A bot is a ``WorldloomClient`` sending inputs at a fixed rate. Its moves come from its own
``random.Random(seed)``: a direction held for about ``change_every`` seconds' worth of inputs, then a new
one (sometimes standing still). The move sequence depends on the seed alone — never on timing — so two
runs with one seed send identical inputs. The loop keeps a fixed schedule (no drift, no bursts after a
stall) and does nothing per input beyond encoding and sending one frame.

    python -m worldloom_client.bot --url ws://127.0.0.1:8765/ws --count 5 --duration 0 --seed 1
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import random
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from .client import ClientStats, WorldloomClient
from .errors import ClientError

STILL_CHANCE = 0.1
"""Probability that a new direction is "stand still"."""


def walk_moves(seed: int, input_rate: float, change_every: float = 2.0) -> Iterator[tuple[float, float]]:
    """Endless ``(move_x, move_y)`` unit moves, a new direction every ~``change_every`` s of inputs."""
    rng = random.Random(seed)
    while True:
        if rng.random() < STILL_CHANCE:
            move = (0.0, 0.0)
        else:
            angle = rng.uniform(0.0, 2.0 * math.pi)
            move = (math.cos(angle), math.sin(angle))
        hold = max(1, round(change_every * input_rate * rng.uniform(0.5, 1.5)))
        for _ in range(hold):
            yield move


def bot_seed(seed: int, index: int) -> int:
    """The seed of bot ``index`` in a swarm started with ``seed``."""
    return seed * 1_000_003 + index


@dataclass
class BotReport:
    """What one bot did. ``error`` is set when it could not connect or lost the server for good."""

    name: str
    seed: int
    entity: int = 0
    inputs: int = 0
    seconds: float = 0.0
    stats: ClientStats = field(default_factory=ClientStats)
    error: str | None = None


class WalkingBot:
    """One bot: a player client plus its move generator. ``run`` connects, walks, closes."""

    def __init__(self, url: str, *, seed: int, input_rate: float = 10.0, name: str = "", token: str = "",
                 change_every: float = 2.0, ping_interval: float = 5.0) -> None:
        if not input_rate > 0:
            raise ValueError("input_rate must be > 0 Hz")
        self.seed, self.input_rate, self.ping_interval = seed, input_rate, ping_interval
        self.name = name or f"bot-{seed}"
        self.client = WorldloomClient(url, role="player", token=token, name=self.name[:64], event_queue=64)
        self._moves = walk_moves(seed, input_rate, change_every)
        self.report = BotReport(name=self.name, seed=seed, stats=self.client.stats)

    async def run(self, duration: float) -> BotReport:
        """Walk for ``duration`` seconds (0: until cancelled). Errors end up in ``report.error``."""
        client, report = self.client, self.report
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            await client.connect()
            report.entity = client.entity
            period = 1.0 / self.input_rate
            end = started + duration if duration > 0 else math.inf
            next_at = next_ping = loop.time()
            while (now := loop.time()) < end:
                move_x, move_y = next(self._moves)
                await client.send_input(move_x, move_y)
                report.inputs += 1
                if self.ping_interval and now >= next_ping:
                    next_ping = now + self.ping_interval
                    await client.send_ping()
                next_at += period
                if next_at < now - period:  # fell behind (stall): resume the schedule, don't burst
                    next_at = now
                await asyncio.sleep(max(0.0, next_at - loop.time()))
        except ClientError as exc:
            report.error = f"{type(exc).__name__}: {exc}"
        finally:
            report.seconds = loop.time() - started
            await asyncio.shield(client.close())
        return report


async def run_bot(url: str, *, seed: int, duration: float, input_rate: float = 10.0, name: str = "",
                  token: str = "") -> BotReport:
    """Run one walking bot for ``duration`` seconds (0: until cancelled) and return its report."""
    return await WalkingBot(url, seed=seed, input_rate=input_rate, name=name, token=token).run(duration)


async def run_bots(url: str, count: int, duration: float, seed: int, *, input_rate: float = 10.0,
                   stagger: float = 0.02, token: str = "", name_prefix: str = "bot",
                   status_interval: float | None = None, out: TextIO | None = None) -> list[BotReport]:
    """Run ``count`` bots concurrently, connecting ``stagger`` seconds apart; return their reports.

    With ``status_interval``, print a one-line status to ``out`` (default stdout) that often.
    """
    bots = [WalkingBot(url, seed=bot_seed(seed, i), input_rate=input_rate, token=token,
                       name=f"{name_prefix}-{seed}-{i}") for i in range(count)]

    async def start(i: int, bot: WalkingBot) -> BotReport:
        await asyncio.sleep(i * stagger)
        return await bot.run(duration)

    tasks = [asyncio.create_task(start(i, bot), name=bot.name) for i, bot in enumerate(bots)]
    reporter = None
    if status_interval:
        reporter = asyncio.create_task(_report_status(bots, status_interval, out or sys.stdout))
    started = time.monotonic()
    try:
        return list(await asyncio.gather(*tasks))
    except asyncio.CancelledError:
        if status_interval:
            print(status_line(bots, time.monotonic() - started) + " (stopping)", file=out or sys.stdout, flush=True)
        raise
    finally:
        for task in tasks:  # gather already cancelled them if we were cancelled; let them close cleanly
            if not task.done() and not task.cancelling():
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if reporter is not None:
            reporter.cancel()
            await asyncio.gather(reporter, return_exceptions=True)


def status_line(bots: Sequence[WalkingBot], elapsed: float, last_bytes: int = 0, interval: float = 0.0) -> str:
    """One line summarizing a swarm: connections, newest tick, snapshots, inputs, traffic, rtt."""
    stats = [b.client.stats for b in bots]
    rx = sum(s.bytes_received for s in stats)
    rtts = [s.rtt for s in stats if s.rtt is not None]
    rate = f" ({(rx - last_bytes) / interval / 1024:.1f} kB/s)" if interval else ""
    rtt = f"{1000 * sum(rtts) / len(rtts):.1f} ms" if rtts else "-"
    return (f"[{elapsed:7.1f}s] bots {sum(b.client.connected for b in bots)}/{len(bots)} "
            f"tick {max((b.client.tick for b in bots), default=0)} "
            f"snapshots {sum(s.snapshots for s in stats)} inputs {sum(b.report.inputs for b in bots)} "
            f"rx {rx / 1024:.0f} kB{rate} rtt {rtt} resumes {sum(s.resumes for s in stats)} "
            f"errors {sum(s.errors for s in stats) + sum(b.report.error is not None for b in bots)}")


async def _report_status(bots: Sequence[WalkingBot], interval: float, out: TextIO) -> None:
    started, last_bytes = time.monotonic(), 0
    while True:
        await asyncio.sleep(interval)
        print(status_line(bots, time.monotonic() - started, last_bytes, interval), file=out, flush=True)
        last_bytes = sum(b.client.stats.bytes_received for b in bots)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m worldloom_client.bot",
                                     description="Run walking Worldloom player bots against a server.")
    parser.add_argument("--url", default="ws://127.0.0.1:8765/ws", help="server websocket URL")
    parser.add_argument("--count", type=int, default=5, help="number of bots")
    parser.add_argument("--duration", type=float, default=0.0, help="seconds to run (0 = until Ctrl-C)")
    parser.add_argument("--seed", type=int, default=1, help="swarm seed (bot i uses its own derived seed)")
    parser.add_argument("--rate", type=float, default=10.0, help="inputs per second per bot")
    parser.add_argument("--stagger", type=float, default=0.02, help="seconds between bot connects")
    parser.add_argument("--status", type=float, default=5.0, help="seconds between status lines (0 = none)")
    parser.add_argument("--token", default="", help="player token, if the server requires one")
    args = parser.parse_args(argv)
    if args.count < 1 or args.duration < 0 or args.rate <= 0:
        parser.error("need --count >= 1, --duration >= 0 and --rate > 0")

    async def swarm() -> list[BotReport]:
        with contextlib.suppress(NotImplementedError):  # SIGTERM (as sent by `worldloom run`) = Ctrl-C
            task = asyncio.current_task()
            assert task is not None
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        return await run_bots(args.url, args.count, args.duration, args.seed, input_rate=args.rate,
                              stagger=args.stagger, token=args.token, status_interval=args.status or None)

    try:
        reports = asyncio.run(swarm())
    except (KeyboardInterrupt, asyncio.CancelledError):
        return 0
    failed = [r for r in reports if r.error]
    for report in failed:
        print(f"{report.name}: {report.error}", file=sys.stderr)
    total = sum(r.stats.snapshots for r in reports)
    print(f"done: {len(reports) - len(failed)}/{len(reports)} bots ok, {total} snapshots, "
          f"{sum(r.inputs for r in reports)} inputs")
    return 1 if len(failed) == len(reports) else 0


if __name__ == "__main__":
    raise SystemExit(main())
