"""Network load benchmark: a real server process, real websocket bots in other processes, printed figures.

Reference work (issue #2): 200 moving entities (150 wandering NPCs + the 50 bots' avatars), 50 bot clients, 20 Hz, the server pinned
to CPU 0 and the bots to the other CPU. Prints server tick compute time p50/p99, server process CPU per
tick (compute plus all network I/O), wire bytes per client per second and per entity update, tick-to-client
latency p50/p99 and tick overruns. Second figure (``--large``): 1000 clients spread over a 2 km map with
interest management, counting overruns over the run.

    .venv/bin/python benchmarks/net_load.py                 # reference work, 30 s
    .venv/bin/python benchmarks/net_load.py --large         # plus 1000 clients for 60 s
    .venv/bin/python benchmarks/net_load.py --duration 5    # quick look

Bots are lean on purpose so that one core can drive many of them: each decodes every frame (msgspec),
applies snapshots to its state (``SnapshotAssembler``) when ``--apply`` is on (default for the reference
run), acks completed ticks, and sends inputs at ``--input-rate`` Hz. Latency is measured from the server's
wall-clock stamp in each snapshot (``Snapshot.time``, taken when the tick's snapshots are built) to the
receive time on the same machine, by a probe client that joins last and runs alone in its own process;
the all-bots figure also includes the load bots' own queueing (49 clients served by one Python process). The peer is Colyseus (Node.js, ``benchmarks/peers/colyseus``) running the same reference work in the
same run — same entity counts, speeds, 20 Hz, client count and CPU pinning; the ratios are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WS_HEADER = 2  # bytes of websocket header for a server frame < 126 bytes; 4 below 64 KiB (counted exactly)


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and os.cpu_count() and os.cpu_count() > cpu:
        os.sched_setaffinity(0, {cpu})


# ------------------------------------------------------------------------------------------- bot worker
async def _bot(url: str, index: int, duration: float, input_rate: float, apply: bool, ack_every: int,
               stats: dict, start_at: float) -> None:
    from websockets.asyncio.client import connect

    import protocol as p
    from protocol.session import ClientSession
    from protocol.snapshot import SnapshotAssembler, SnapshotError

    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    session = ClientSession(client="net-load-bot")
    assembler = SnapshotAssembler(history=16)
    rng = random.Random(index)
    async with connect(url, compression=None, max_size=2**20, max_queue=256) as ws:
        await ws.send(session.hello(name=f"bot{index}"))
        welcome = session.receive_frame(await ws.recv())
        if not isinstance(welcome, p.Welcome):
            stats["refused"] += 1
            return
        stats["connected"] += 1
        end = time.monotonic() + duration
        seq = 0

        async def send_inputs() -> None:
            nonlocal seq
            move = (0.0, 0.0)
            while time.monotonic() < end:
                if rng.random() < 0.1:
                    angle = rng.uniform(0, 2 * np.pi)
                    move = (float(np.cos(angle)), float(np.sin(angle)))
                seq += 1
                await ws.send(p.encode(p.Input(seq=seq, tick=0, move=move)))
                await asyncio.sleep(1.0 / input_rate)

        sender = asyncio.create_task(send_inputs())
        completed = 0
        try:
            while time.monotonic() < end:
                try:
                    frame = await asyncio.wait_for(ws.recv(), timeout=max(0.01, end - time.monotonic()))
                except TimeoutError:
                    break
                now = time.time()
                size = len(frame)
                stats["bytes"] += size + (2 if size < 126 else 4)
                stats["frames"] += 1
                message = session.receive_frame(frame)
                if not isinstance(message, p.Snapshot):
                    continue
                if message.part == 0 and len(stats["latency"]) < 200_000:
                    stats["latency"].append(now - message.time)
                    if message.baseline:
                        stats["baseline_age"] += message.tick - message.baseline
                        stats["deltas"] += 1
                stats["entity_updates"] += sum(b.dx.count + b.entered.count for b in message.blocks)
                if apply:
                    try:
                        done = assembler.feed(message)
                    except SnapshotError:
                        stats["snapshot_errors"] += 1
                        continue
                    tick = done[0] if done else None
                else:
                    tick = message.tick if message.part == message.parts - 1 else None
                if tick is not None:
                    stats["snapshots"] += 1
                    completed += 1
                    if completed % ack_every == 0:
                        await ws.send(p.encode(p.Ack(tick=tick)))
        finally:
            sender.cancel()


async def _bot_worker(args: argparse.Namespace) -> None:
    if args.delay:
        await asyncio.sleep(args.delay)
    stats = {"bytes": 0, "frames": 0, "snapshots": 0, "entity_updates": 0, "latency": [], "connected": 0,
             "refused": 0, "snapshot_errors": 0, "baseline_age": 0, "deltas": 0}
    start = time.monotonic()
    # stagger connects over ramp seconds; every bot then runs until the common end
    tasks = []
    for i in range(args.clients):
        start_at = start + args.ramp * i / max(1, args.clients)
        tasks.append(_bot(args.url, args.first_index + i, args.duration + args.ramp - (start_at - start),
                          args.input_rate, args.apply, args.ack_every, stats, start_at))
    results = await asyncio.gather(*tasks, return_exceptions=True)
    stats["failed"] = sum(1 for r in results if isinstance(r, BaseException))
    errors = sorted({type(r).__name__ for r in results if isinstance(r, BaseException)})
    stats["errors"] = errors
    stats["measure_seconds"] = args.duration + args.ramp
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    stats["cpu_share"] = (usage.ru_utime + usage.ru_stime) / max(1e-9, time.monotonic() - start)
    Path(args.result_file).write_text(json.dumps(stats))


# ------------------------------------------------------------------------------------------- driver
def _status(port: int, last: int | None = None) -> dict:
    url = f"http://127.0.0.1:{port}/status" + (f"?last={last}" if last else "")
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.loads(response.read())


def _start_server(npcs: int, half_extent: float, aoi: float) -> tuple[subprocess.Popen, int]:
    # the reference work is a bare map of wanderers (--scenario none), the same work Colyseus is given
    cmd = [sys.executable, "-m", "server", "serve", "--port", "0", "--no-save", "--scenario", "none",
           "--npcs", str(npcs), "--half-extent", str(half_extent), "--aoi", str(aoi),
           "--state-dir", tempfile.mkdtemp()]
    # the server's output goes to a file, never an unread pipe (a full pipe would block the server)
    log_path = Path(tempfile.mkdtemp()) / "server.log"
    log_file = open(log_path, "w")  # noqa: SIM115 - owned by the child for its lifetime
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: _pin(0))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        match = re.search(r"ws://127\.0\.0\.1:(\d+)/ws", log_path.read_text())
        if match:
            return proc, int(match.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start; run `python -m server serve --port 0` to see why")


def _bot_cmd(port: int, count: int, duration: float, ramp: float, input_rate: float, apply: bool,
             ack_every: int, first: int, result: str, delay: float = 0.0) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--bot-worker", "--url", f"ws://127.0.0.1:{port}/ws",
            "--clients", str(count), "--duration", str(duration), "--ramp", str(ramp), "--input-rate",
            str(input_rate), "--ack-every", str(ack_every), "--first-index", str(first), "--result-file", result,
            "--delay", str(delay)] + (["--apply"] if apply else [])


def _run_bots(port: int, clients: int, duration: float, ramp: float, input_rate: float, apply: bool,
              ack_every: int, processes: int) -> tuple[list[dict], dict]:
    """Run ``clients - 1`` load bots in ``processes`` processes plus one latency probe in its own process.

    The probe joins last (so its snapshot is built and sent last in each tick: the worst position) and,
    being alone in its process, measures the server's fan-out latency rather than the load bots' own
    queueing. Returns (load bot results, probe result).
    """
    procs, files = [], []
    load = clients - 1
    per = [load // processes + (1 if i < load % processes else 0) for i in range(processes)]
    first = 0
    for count in per:
        result = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
        files.append(result)
        cmd = _bot_cmd(port, count, duration, ramp, input_rate, apply, ack_every, first, result)
        procs.append(subprocess.Popen(cmd, cwd=ROOT, preexec_fn=lambda: _pin(1)))
        first += count
    probe_file = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
    probe = subprocess.Popen(_bot_cmd(port, 1, duration, 0.0, input_rate, True, 1, 99_999, probe_file,
                                      delay=ramp + 0.5), cwd=ROOT, preexec_fn=lambda: _pin(1))
    for proc in (*procs, probe):
        proc.wait(timeout=duration + ramp + 120)
    return [json.loads(Path(f).read_text()) for f in files], json.loads(Path(probe_file).read_text())


def _scenario(name: str, *, clients: int, npcs: int, half_extent: float, aoi: float, duration: float,
              ramp: float, input_rate: float, apply: bool, ack_every: int, processes: int) -> dict:
    import psutil

    print(f"\n== {name}: {clients} clients, {npcs} NPCs, map {2 * half_extent:g} m, AOI {aoi:g} m, "
          f"{duration:g} s (+{ramp:g} s ramp) ==", flush=True)
    server, port = _start_server(npcs, half_extent, aoi)
    try:
        ps = psutil.Process(server.pid)
        time.sleep(1.0)
        before = _status(port)
        results: list[dict] = []
        cpu0: list[float] = []
        tick0: list[int] = []

        def mark_start() -> None:
            time.sleep(ramp)
            t = ps.cpu_times()
            cpu0.append(t.user + t.system)
            tick0.append(_status(port)["metrics"]["ticks"])

        import threading

        marker = threading.Thread(target=mark_start)
        marker.start()
        load_results, probe = _run_bots(port, clients, duration, ramp, input_rate, apply, ack_every, processes)
        results = [*load_results, probe]
        marker.join()
        t = ps.cpu_times()
        cpu_used = t.user + t.system - cpu0[0]
        after = _status(port)
        ticks = after["metrics"]["ticks"] - tick0[0]
        window = _status(port, last=ticks)["metrics"]
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    lat = np.concatenate([np.asarray(r["latency"], dtype=np.float64) for r in results]) * 1000.0
    probe_lat = np.asarray(probe["latency"], dtype=np.float64) * 1000.0
    total_bytes = sum(r["bytes"] for r in results)
    seconds = results[0]["measure_seconds"]
    connected = sum(r["connected"] for r in results)
    updates = sum(r["entity_updates"] for r in results)
    snapshots = sum(r["snapshots"] for r in results)
    figures = {
        "clients_connected": connected,
        "bot_failures": sum(r["failed"] for r in results),
        "tick_compute_ms_p50": window["tick_ms"]["p50"],
        "tick_compute_ms_p99": window["tick_ms"]["p99"],
        "tick_compute_ms_max": window["tick_ms"]["max"],
        "server_cpu_ms_per_tick": 1000.0 * cpu_used / max(1, ticks),
        "ticks": ticks,
        "overruns": after["metrics"]["overruns"] - before["metrics"]["overruns"],
        "skipped_ticks": after["metrics"]["skipped_ticks"] - before["metrics"]["skipped_ticks"],
        "bytes_per_client_per_s": total_bytes / max(1, connected) / seconds,
        "bytes_per_entity_update": total_bytes / max(1, updates),
        "entities_per_snapshot": updates / max(1, snapshots),
        "snapshots_per_client_per_s": snapshots / max(1, connected) / seconds,
        "bot_process_cpu_share": max(r["cpu_share"] for r in results),
        "baseline_age_ticks": sum(r["baseline_age"] for r in results) / max(1, sum(r["deltas"] for r in results)),
        "latency_ms_p50": float(np.percentile(probe_lat, 50)) if probe_lat.size else float("nan"),
        "latency_ms_p99": float(np.percentile(probe_lat, 99)) if probe_lat.size else float("nan"),
        "all_bots_latency_ms_p50": float(np.percentile(lat, 50)) if lat.size else float("nan"),
        "all_bots_latency_ms_p99": float(np.percentile(lat, 99)) if lat.size else float("nan"),
        "snapshots_replaced": after["metrics"]["snapshots_replaced"],
        "input_drops": after["metrics"]["input_drops"],
        "snapshot_errors": sum(r["snapshot_errors"] for r in results),
    }
    for key, value in figures.items():
        print(f"  {key:28s} {value:12.3f}" if isinstance(value, float) else f"  {key:28s} {value:12d}")
    return figures


PEER_DIR = ROOT / "benchmarks" / "peers" / "colyseus"


def _colyseus_scenario(clients: int, npcs: int, half_extent: float, duration: float) -> dict | None:
    """The reference work on Colyseus (Node.js): server pinned to CPU 0, its bots to CPU 1."""
    import shutil
    import signal

    if shutil.which("node") is None or shutil.which("npm") is None:
        print("\n== colyseus peer: skipped (node/npm not installed) ==")
        return None
    if not (PEER_DIR / "node_modules").exists():
        print("\n== colyseus peer: installing its npm packages (once) ==", flush=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=PEER_DIR, check=True,
                       stdout=subprocess.DEVNULL)
    print(f"\n== colyseus peer: {clients} clients, {npcs} NPCs, map {2 * half_extent:g} m, no AOI, "
          f"{duration:g} s ==", flush=True)
    log_path = Path(tempfile.mkdtemp()) / "colyseus.log"
    env = dict(os.environ, NPCS=str(npcs), HALF_EXTENT=str(half_extent))
    with open(log_path, "w") as log_file:
        server = subprocess.Popen(["node", "server.js"], cwd=PEER_DIR, stdout=log_file, stderr=subprocess.STDOUT,
                                  env=env, preexec_fn=lambda: _pin(0))
        try:
            deadline = time.monotonic() + 60
            port = None
            while port is None and time.monotonic() < deadline:
                match = re.search(r"listening (\d+)", log_path.read_text())
                port = int(match.group(1)) if match else None
                time.sleep(0.1)
            if port is None:
                raise RuntimeError(f"colyseus peer did not start; see {log_path}")
            bots = subprocess.Popen(["node", "bots.js", f"ws://127.0.0.1:{port}", str(clients), str(duration)],
                                    cwd=PEER_DIR, stdout=subprocess.PIPE, text=True, preexec_fn=lambda: _pin(1))
            assert bots.stdout is not None
            assert bots.stdout.readline().strip() == "ready"
            server.send_signal(signal.SIGUSR1)  # measurement window starts with every bot joined
            bot_figures = json.loads(bots.stdout.readline())
            bots.wait(timeout=60)
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        finally:
            if server.poll() is None:
                server.kill()
    server_figures = json.loads(log_path.read_text().strip().splitlines()[-1])
    figures = {
        "clients_connected": bot_figures["connected"],
        "tick_compute_ms_p50": server_figures["tick_ms_p50"],
        "tick_compute_ms_p99": server_figures["tick_ms_p99"],
        "server_cpu_ms_per_tick": server_figures["cpu_ms_per_tick"],
        "bytes_per_client_per_s": bot_figures["bytes_per_client_per_s"],
        "patches_per_client_per_s": bot_figures["patches_per_client_per_s"],
        "all_bots_latency_ms_p50": bot_figures["latency_ms_p50"],
        "all_bots_latency_ms_p99": bot_figures["latency_ms_p99"],
    }
    for key, value in figures.items():
        print(f"  {key:28s} {value:12.3f}" if isinstance(value, float) else f"  {key:28s} {value:12d}")
    return figures


def _print_ratios(ours: dict, peer: dict) -> None:
    print("\n== Worldloom / Colyseus on the reference work (lower is better for all) ==")
    for key in ("server_cpu_ms_per_tick", "bytes_per_client_per_s", "tick_compute_ms_p99",
                "all_bots_latency_ms_p99"):
        if peer.get(key):
            print(f"  {key:28s} {ours[key]:10.3f} / {peer[key]:10.3f} = {ours[key] / peer[key]:6.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--npcs", type=int, default=150, help="NPCs; with the bots' 50 avatars: 200 movers")
    parser.add_argument("--large", action="store_true", help="also run 1000 clients on a large map")
    parser.add_argument("--large-clients", type=int, default=1000)
    parser.add_argument("--large-duration", type=float, default=60.0)
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--no-peer", action="store_true", help="skip the Colyseus peer run")
    # bot-worker mode (internal)
    parser.add_argument("--bot-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url")
    parser.add_argument("--ramp", type=float, default=2.0)
    parser.add_argument("--input-rate", type=float, default=10.0)
    parser.add_argument("--apply", action="store_true")
    parser.add_argument("--ack-every", type=int, default=1)
    parser.add_argument("--first-index", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--result-file")
    args = parser.parse_args()
    if args.bot_worker:
        asyncio.run(_bot_worker(args))
        return
    print(f"net_load: {os.cpu_count()} CPUs; server pinned to CPU 0, bots to CPU 1")
    results = {"reference": _scenario(
        "reference", clients=args.clients, npcs=args.npcs, half_extent=40.0, aoi=60.0,
        duration=args.duration, ramp=2.0, input_rate=10.0, apply=True, ack_every=1, processes=1)}
    ref = results["reference"]
    print("  targets: tick p99 <= 1.5 ms | <= 8192 B/s per client | <= 2 B per entity update | "
          "latency p99 <= 5 ms")
    print(f"  met:     {ref['tick_compute_ms_p99'] <= 1.5} | {ref['bytes_per_client_per_s'] <= 8192} | "
          f"{ref['bytes_per_entity_update'] <= 2.0} | {ref['latency_ms_p99'] <= 5.0}")
    if not args.no_peer:
        peer = _colyseus_scenario(args.clients, args.npcs, 40.0, args.duration)
        if peer is not None:
            results["colyseus"] = peer
            _print_ratios(ref, peer)
    if args.large:
        results["large"] = _scenario(
            "large", clients=args.large_clients, npcs=2000, half_extent=1000.0, aoi=50.0,
            duration=args.large_duration, ramp=10.0, input_rate=2.0, apply=False, ack_every=4, processes=1)
        print(f"  target: zero tick overruns -> overruns={results['large']['overruns']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
