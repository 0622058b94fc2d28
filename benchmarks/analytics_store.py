"""Store benchmark: Arrow appends into DuckDB (events/s) and query times over ~1M events.

Targets (issue #7): >= 400k events/s into the store; retention, DAU and a 3-step funnel each <= 0.5 s
over 1M events. Data: the seeded synthetic players of ``analytics.synthetic``. Prints figures vs targets.
    .venv/bin/python benchmarks/analytics_store.py [--players 7300] [--batch 50000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from analytics import queries  # noqa: E402
from analytics.store import DuckDBEventStore  # noqa: E402
from analytics.synthetic import FUNNEL_STEPS, FUNNEL_WINDOW_S, generate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--players", type=int, default=7300)
    parser.add_argument("--batch", type=int, default=50_000)
    args = parser.parse_args()
    t0 = time.perf_counter()
    table, _ = generate(1, players=args.players, days=45)
    print(f"generated {table.num_rows:,} events for {args.players} players in {time.perf_counter() - t0:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBEventStore(os.path.join(tmp, "bench.duckdb"))
        batches = [table.slice(i, args.batch) for i in range(0, table.num_rows, args.batch)]
        t0 = time.perf_counter()
        for batch in batches:
            store.append(batch)  # one commit (durable) per batch
        ingest = table.num_rows / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        assert store.append(batches[0]) == 0
        resend = batches[0].num_rows / (time.perf_counter() - t0)
        print(f"ingest   {ingest:12,.0f} events/s  (target >= 400,000; batches of {args.batch:,}, one commit each)")
        grouped = DuckDBEventStore(os.path.join(tmp, "grouped.duckdb"))
        small = [table.slice(i, 1500) for i in range(0, table.num_rows, 1500)]  # the forwarder's batch size
        t0 = time.perf_counter()
        for i in range(0, len(small), 20):
            grouped.append_many(small[i:i + 20])  # the service's group commit: 20 batches, one commit
        print(f"grouped  {table.num_rows / (time.perf_counter() - t0):12,.0f} events/s  "
              f"(batches of 1,500, 20 per commit as the service groups them)")
        grouped.close()
        print(f"re-send  {resend:12,.0f} events/s  (duplicates, nothing added)")
        timings = {}
        for name, fn in (("retention D1/D7/D30", lambda: queries.retention(store, (1, 7, 30))),
                         ("retention rolling by variant", lambda: queries.retention(store, (1, 7, 30), True, "variant")),
                         ("DAU/WAU/MAU", lambda: queries.active_users(store)),
                         ("3-step funnel ordered", lambda: queries.funnel(store, FUNNEL_STEPS, "ordered", FUNNEL_WINDOW_S)),
                         ("3-step funnel strict", lambda: queries.funnel(store, FUNNEL_STEPS, "strict", FUNNEL_WINDOW_S)),
                         ("sessions (30-min split)", lambda: queries.sessions(store))):
            fn()  # warm (Numba compile cache, DuckDB plan)
            best = min(_timed(fn) for _ in range(3))
            timings[name] = best
            print(f"{name:30s} {best * 1000:8.1f} ms  (target <= 500 ms over {store.count():,} events)")
        store.close()


def _timed(fn) -> float:  # noqa: ANN001
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
