"""Detection → reserve answer on a warm page, the agent's hot path (issue "One agent, flat cost").

    .venv/bin/python bench/hot_path.py --runs 12            # median and p95, with a per-step breakdown
    .venv/bin/python bench/hot_path.py --runs 3 --profile   # plus a pyinstrument profile of one booking

Each run: a fresh auto-book watch, its query's warm page ready, a slot released on a day three days
ahead; the agent detects it in a poll (overview + day read), books on the warm page, and the time from
the poll's answer (detection) to the reserve answer is recorded by the agent (``attempts.reserved_at`` −
``slot_first_seen``). Rate windows are compressed (6 requests per 10 s, bookings +12): the request
counts per window are the default's, the waits are shorter; the replica's own limiter is set out of reach
(a compressed city limiter would need quiet gaps the compressed budget does not plan).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from datetime import datetime, time as dtime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.config import Settings  # noqa: E402
from agent.db import open_database  # noqa: E402
from agent.notifier import MemoryNotifier  # noqa: E402
from agent.service import AgentService  # noqa: E402
from flows.request import Contact  # noqa: E402
from flows.timezone import BERLIN  # noqa: E402
from replica.page import PAGE_PATH  # noqa: E402
from replica.server import ReplicaServer  # noqa: E402
from replica.settings import ReplicaSettings  # noqa: E402
from replica.site import Replica  # noqa: E402


def settings_for(server: ReplicaServer, tmp: str, **overrides: object) -> Settings:
    values: dict[str, object] = dict(
        booking_url=server.base_url + PAGE_PATH, api_url=server.api_url, data_dir=Path(tmp),
        budget_requests=6, budget_window_s=10.0, site_limit=60, site_window_s=10.0, warm_check_s=1.0,
        refresh_s=2.0, trace_attempts=True, metrics_port=-1,
    )
    values.update(overrides)
    return Settings(**values)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) >= 2 else values[0]


async def measure(runs: int, profile: bool, trace: bool) -> list[dict]:
    # The site's own limiter is not what this measures: it is set out of reach (the budget still applies).
    site = Replica(ReplicaSettings(rate_window_s=10, rate_limit=100_000))
    results = []
    with ReplicaServer(site) as server, tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(server, tmp, trace_attempts=trace)
        sessions = open_database(settings.database_url)
        today = site.clock.now_berlin().date()
        async with AgentService(settings, MemoryNotifier(), sessions=sessions) as agent:
            watcher = agent.watcher
            assert watcher is not None
            for n in range(runs):
                await agent.add_watch(Contact("Hot", f"P{n}", f"hot{n}@example.org"), 1063453, [102522], today,
                                      today + timedelta(days=60), mode="auto")
                while not (watcher.warm.pages and all(s.poller.polls >= 1 for s in watcher.queries.values())):
                    await asyncio.sleep(0.1)
                await asyncio.sleep(1.0)
                day = today + timedelta(days=3 + n % 20)
                slot = int(datetime.combine(day, dtime(9, 0 + n % 6 * 10), BERLIN).timestamp())
                seen = len(watcher.stats.bookings)
                profiler = None
                if profile and n == runs - 1:
                    from pyinstrument import Profiler

                    profiler = Profiler(async_mode="enabled")
                    profiler.start()
                site.desk.add_slots(102522, [slot])
                while len(watcher.stats.bookings) == seen:
                    await asyncio.sleep(0.05)
                if profiler is not None:
                    profiler.stop()
                    print(profiler.output_text(unicode=True, color=False, show_all=False))
                booking = watcher.stats.bookings[-1]
                results.append(booking)
                print(f"  run {n + 1}: {booking['outcome']}, warm={booking['warm']}, detection → reserved "
                      f"{booking['detectionToReserved'] or float('nan'):.2f} s, steps {booking['steps']}", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--profile", action="store_true", help="profile the last booking (needs pyinstrument)")
    parser.add_argument("--no-trace", action="store_true", help="bookings without Playwright tracing")
    options = parser.parse_args()
    results = asyncio.run(measure(options.runs, options.profile, not options.no_trace))
    warm = [r["detectionToReserved"] for r in results if r["warm"] and r["outcome"] == "reserved"]
    if warm:
        print(f"detection → reserve answer on a warm page: median {statistics.median(warm):.2f} s, "
              f"p95 {p95(warm):.2f} s over {len(warm)} bookings (tracing {'off' if options.no_trace else 'on'})")
        for step in ("calendar", "reserve"):
            values = [r["steps"][step] for r in results if r["warm"] and step in r["steps"]]
            if values:
                print(f"  step {step}: median {statistics.median(values):.2f} s")
    print(f"cold bookings: {sum(1 for r in results if not r['warm'])} of {len(results)}")


if __name__ == "__main__":
    main()
