"""``python -m analytics``: ``report`` (PNG + HTML from a DuckDB file) and ``synth`` (demo data)."""

from __future__ import annotations

import argparse
import os
import sys

from .errors import AnalyticsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analytics")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="write PNG plots and index.html for an event store")
    rep.add_argument("--db", required=True, help="DuckDB file written by the analytics service")
    rep.add_argument("--out", required=True, help="output folder (created)")
    rep.add_argument("--funnel", default="", help="comma-separated funnel steps 'kind[:name]' (default: tutorial)")
    rep.add_argument("--window", type=float, default=1800.0, help="funnel conversion window, seconds")
    rep.add_argument("--no-churn", action="store_true", help="skip the churn model (no torch needed)")
    syn = sub.add_parser("synth", help="fill a DuckDB file with seeded synthetic players")
    syn.add_argument("--db", required=True)
    syn.add_argument("--players", type=int, default=1000)
    syn.add_argument("--days", type=int, default=45)
    syn.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        if args.command == "report":
            if not os.path.exists(args.db):
                print(f"analytics: {args.db} does not exist; run the service or `python -m analytics synth`",
                      file=sys.stderr)
                return 1
            from .report import write_report

            steps = [s.strip() for s in args.funnel.split(",") if s.strip()] or None
            print(write_report(args.db, args.out, steps, args.window, churn=not args.no_churn))
        else:
            from .store import DuckDBEventStore
            from .synthetic import generate

            table, _ = generate(args.seed, args.players, args.days)
            store = DuckDBEventStore(args.db)
            added = store.append(table)
            store.close()
            print(f"{added} events for {args.players} players written to {args.db}")
    except AnalyticsError as exc:
        print(f"analytics: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
