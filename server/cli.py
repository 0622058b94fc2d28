"""``worldloom`` command line: serve, run (server + services + bots), sim, sweep, gen, token, hash."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from worldsim.errors import WorldError

from .auth import ROLES, TokenSigner
from .config import ServerConfig
from .errors import ServerError

DEFAULT_STATE_DIR = Path("var")


def _load_or_create_secret(state_dir: Path) -> str:
    """The token secret: $WORLDLOOM_SECRET, else ``state_dir/secret`` (created 0600 on first use)."""
    env = os.environ.get("WORLDLOOM_SECRET")
    if env:
        return env
    path = state_dir / "secret"
    if path.exists():
        return path.read_text().strip()
    state_dir.mkdir(parents=True, exist_ok=True)
    import secrets

    value = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value


def _add_server_args(p: argparse.ArgumentParser) -> None:
    d = ServerConfig()
    p.add_argument("--host", default=d.host, help="interface to bind (default %(default)s)")
    p.add_argument("--port", type=int, default=d.port, help="port, 0 = any free (default %(default)s)")
    p.add_argument("--tick-rate", type=int, default=d.tick_rate, help="ticks per second (default %(default)s)")
    p.add_argument("--seed", type=int, default=d.seed, help="world seed (default %(default)s)")
    p.add_argument("--npcs", type=int, default=0, help="extra wandering NPCs (default %(default)s)")
    p.add_argument("--scenario", default="meadow",
                   help="scenario file or bundled name (default %(default)s); 'none' = a bare flat world")
    p.add_argument("--half-extent", type=float, default=d.half_extent, help="bare world half size in metres")
    p.add_argument("--aoi", type=float, default=d.aoi_radius, help="area-of-interest radius in metres")
    p.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR, help="secret and saves (default var/)")
    p.add_argument("--no-save", action="store_true", help="do not load or write world saves")
    p.add_argument("--closed", action="store_true", help="players need a token too")
    p.add_argument("--runs-dir", type=Path, default=Path("runs"),
                   help="`worldloom sim` output the web viewer may replay (default %(default)s)")


def _config(args: argparse.Namespace) -> ServerConfig:
    return ServerConfig(
        host=args.host, port=args.port, tick_rate=args.tick_rate, seed=args.seed, npc_count=args.npcs,
        half_extent=args.half_extent, aoi_radius=args.aoi, open_play=not args.closed,
        scenario=None if args.scenario.lower() == "none" else args.scenario,
        secret=_load_or_create_secret(args.state_dir),
        save_path=None if args.no_save else str(args.state_dir / "world.save"),
        analytics_spill_dir=str(args.state_dir / "analytics-spill"),
        runs_dir=str(args.runs_dir),
    ).validate()


SERVICE_TOKEN_TTL = 30 * 24 * 3600.0


def _service_commands(url: str, state_dir: Path, http_port: int) -> list[tuple[str, list[str]]]:
    """The embedded default services ``worldloom run`` starts: (name, argv) pairs. The analytics service's
    PostHog-compatible HTTP endpoint listens on ``http_port`` (0: any free port)."""
    return [
        ("assets", [sys.executable, "-m", "assets_gen.service", "--url", url, "--out-dir", str(state_dir / "assets")]),
        ("analytics", [sys.executable, "-m", "analytics.service", "--url", url,
                       "--db", str(state_dir / "analytics.duckdb"), "--http-port", str(http_port)]),
    ]


def _start_services(server: object, url: str, state_dir: Path, http_port: int) -> list[subprocess.Popen[bytes]]:
    """Start each default service as a subprocess with its own service token in ``WORLDLOOM_TOKEN``."""
    procs = []
    for name, argv in _service_commands(url, state_dir, http_port):
        token = server.signer.issue(name, "service", SERVICE_TOKEN_TTL, time.time())  # type: ignore[attr-defined]
        proc = subprocess.Popen(argv, env={**os.environ, "WORLDLOOM_TOKEN": token})
        print(f"  started service {name:<10} (pid {proc.pid})")
        procs.append(proc)
    return procs


def _stop_processes(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


async def _serve(config: ServerConfig, bots: int = 0, services: bool = False, state_dir: Path = DEFAULT_STATE_DIR) -> None:
    from .app import WorldServer

    server = WorldServer(config)
    await server.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, server.request_stop)
    print(f"worldloom: world seed {config.seed}, tick {server.world.tick}, {config.tick_rate} Hz")
    print(f"  connect clients to  {server.url}")
    print(f"  metrics             http://{config.host}:{server.port}/metrics  (JSON: /status)")
    print(f"  web viewer          http://{config.host}:{server.port}/viewer/  (controls: add ?token=<admin token>)")
    print("  admin token         worldloom token --role admin")
    print("  stop                Ctrl-C (the world is saved)" if config.save_path else "  stop                Ctrl-C")
    http_port = config.port + 1 if config.port else 0
    procs = _start_services(server, server.url, state_dir, http_port) if services else []
    if bots:
        bot_proc = subprocess.Popen([sys.executable, "-m", "worldloom_client.bot", "--url", server.url,
                                     "--count", str(bots), "--duration", "0", "--seed", str(config.seed)])
        print(f"  started {bots} bot clients (pid {bot_proc.pid})")
        procs.append(bot_proc)
    sys.stdout.flush()
    try:
        await server.wait_stopped()
    finally:
        _stop_processes(procs)
        await server.stop()
        print(f"worldloom: stopped at tick {server.world.tick}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["train"]:  # RL training is one readable script with its own documented Args
        from npc.rl.train import main as train_main

        return int(train_main(argv[1:]) or 0)
    parser = argparse.ArgumentParser(prog="worldloom", description="Worldloom simulation server")
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="run the server")
    _add_server_args(p_serve)
    p_run = sub.add_parser("run", help="run the default world: server plus bot clients")
    _add_server_args(p_run)
    p_run.add_argument("--bots", type=int, default=5, help="bot clients to start (default %(default)s)")
    p_run.add_argument("--no-services", action="store_true", help="do not start the asset and analytics services")
    from assets_gen import cli as assets_cli

    from . import headless, npc_cli

    assets_cli.add_parser(sub)
    headless.add_parsers(sub)
    npc_cli.add_parser(sub)
    p_token = sub.add_parser("token", help="print a signed token for a role")
    p_token.add_argument("--role", choices=[r for r in ROLES if r != "resume"], default="admin")
    p_token.add_argument("--sub", default="operator", help="subject (who the token is for)")
    p_token.add_argument("--ttl", type=float, default=24 * 3600, help="validity in seconds")
    p_token.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    sub.add_parser("train", help="train an NPC policy with RL: worldloom train TASK --steps N --out DIR (docs/rl.md)",
                   add_help=False)
    p_hash = sub.add_parser("hash", help="run N ticks headless and print the world hash")
    p_hash.add_argument("--seed", type=int, default=1)
    p_hash.add_argument("--ticks", type=int, default=100)
    p_hash.add_argument("--npcs", type=int, default=0, help="extra wanderers")
    p_hash.add_argument("--scenario", default="meadow", help="scenario file or bundled name; 'none' = bare world")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("websockets").setLevel(logging.WARNING)  # one line per connection is noise at scale
    try:
        if args.command == "gen":
            return assets_cli.run(args)
        if getattr(args, "handler", None) is not None:  # sim, sweep
            return int(args.handler(args))
        if args.command in ("serve", "run"):
            run = args.command == "run"
            asyncio.run(_serve(_config(args), bots=getattr(args, "bots", 0),
                               services=run and not args.no_services, state_dir=args.state_dir))
        elif args.command == "token":
            signer = TokenSigner(_load_or_create_secret(args.state_dir))
            print(signer.issue(args.sub, args.role, args.ttl, time.time()))
        elif args.command == "hash":
            from worldsim import World, load_scenario

            if args.scenario.lower() == "none":
                world = World(seed=args.seed, npc_count=args.npcs)
            else:
                world = World.from_scenario(load_scenario(args.scenario), seed=args.seed, npc_count=args.npcs)
            for _ in range(args.ticks):
                world.step()
            print(world.world_hash())
    except (ServerError, WorldError) as exc:
        print(f"worldloom: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
