"""Time per step and in total for a cold booking on the replica, and Chromium's memory during it.

Runs the real agent (``agent.runner.run_booking``: Chromium, page objects,
ALTCHA at the replica's default cost, SQLite) ``--runs`` times and prints
medians as a table.

    .venv/bin/python bench/booking_steps.py [--runs 5] [--cost N]
    .venv/bin/python bench/booking_steps.py --compare-tracing [--runs 5]   # none / snapshots / +screencast, interleaved
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.config import Settings  # noqa: E402
from agent.db import open_database  # noqa: E402
from agent.runner import run_booking  # noqa: E402
from bench.memory import PeakSampler, chromium_rss_mib  # noqa: E402
from flows.request import BookingRequest, Contact  # noqa: E402
from replica.page import PAGE_PATH  # noqa: E402
from replica.server import ReplicaServer  # noqa: E402
from replica.settings import ReplicaSettings  # noqa: E402
from replica.site import Replica  # noqa: E402

STEPS = ["open", "service", "calendar", "reserve", "contact", "preconfirm"]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cost", type=int, default=ReplicaSettings().altcha_cost)
    parser.add_argument("--no-trace", action="store_true", help="run without Playwright tracing")
    parser.add_argument("--compare-tracing", action="store_true",
                        help="interleave runs without tracing, with snapshots, with snapshots + screencast")
    options = parser.parse_args()
    if options.compare_tracing:
        await compare_tracing(options.runs, options.cost)
        return
    site = Replica(ReplicaSettings(altcha_cost=options.cost, rate_limit=10_000, mails_per_address=1000))
    site.seed_slots(days=20, per_day=6)
    rows: list[dict[str, float]] = []
    peaks: list[float] = []
    idle = chromium_rss_mib()
    with ReplicaServer(site) as server, tempfile.TemporaryDirectory() as tmp:
        settings = Settings(booking_url=server.base_url + PAGE_PATH, api_url=server.api_url,
                            database_url=f"sqlite:///{tmp}/bench.db", recordings_dir=Path(tmp) / "rec",
                            trace_attempts=not options.no_trace)
        sessions = open_database(settings.database_url)
        today = site.clock.now_berlin().date()
        for run in range(options.runs):
            request = BookingRequest(service_id=1063453, office_ids=(102522,), date_from=today,
                                     date_to=today.fromordinal(today.toordinal() + 30),
                                     contact=Contact("Bench", "Mark", "bench@example.org"), person=f"bench-{run}")
            started = time.perf_counter()
            with PeakSampler() as sampler:
                result = await run_booking(settings, sessions, request)
            total = time.perf_counter() - started
            if result.outcome.kind.value != "reserved":
                raise SystemExit(f"run {run}: {result.outcome.kind.value}: {result.outcome.reason}")
            rows.append({**result.step_seconds, "flow": sum(result.step_seconds.values()), "total": total})
            peaks.append(sampler.peak - idle)
    tracing = "without tracing" if options.no_trace else "with tracing"
    table = Table(title=f"Cold booking on the replica, ALTCHA cost {options.cost}, {tracing}, "
                        f"median of {options.runs} runs")
    table.add_column("step")
    table.add_column("median s", justify="right")
    table.add_column("min s", justify="right")
    table.add_column("max s", justify="right")
    for step in [*STEPS, "flow", "total"]:
        values = [r[step] for r in rows]
        table.add_row(step, f"{statistics.median(values):.2f}", f"{min(values):.2f}", f"{max(values):.2f}")
    console = Console()
    console.print(table)
    console.print("'total' includes launching Chromium and closing it; 'flow' is the sum of the steps.")
    console.print(f"Chromium peak PSS during a booking: median {statistics.median(peaks):.0f} MiB "
                  f"(max {max(peaks):.0f} MiB, all Chromium processes, shared pages split)")


async def compare_tracing(runs: int, cost: int) -> None:
    """The same cold booking in three tracing variants, interleaved so the machine's state is shared."""
    variants = {"no tracing": dict(trace_attempts=False), "snapshots": dict(trace_attempts=True),
                "snapshots + screencast": dict(trace_attempts=True, trace_screenshots=True)}
    site = Replica(ReplicaSettings(altcha_cost=cost, rate_limit=10_000, mails_per_address=1000))
    site.seed_slots(days=20, per_day=6)
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    with ReplicaServer(site) as server, tempfile.TemporaryDirectory() as tmp:
        today = site.clock.now_berlin().date()
        for run in range(runs):
            for name, extra in variants.items():
                settings = Settings(booking_url=server.base_url + PAGE_PATH, api_url=server.api_url,
                                    data_dir=Path(tmp), keep_traces_on_success=True, **extra)
                sessions = open_database(settings.database_url)
                request = BookingRequest(service_id=1063453, office_ids=(102522,), date_from=today,
                                         date_to=today.fromordinal(today.toordinal() + 30),
                                         contact=Contact("Bench", "Mark", "bench@example.org"),
                                         person=f"bench-{name}-{run}")
                started = time.perf_counter()
                result = await run_booking(settings, sessions, request)
                total = time.perf_counter() - started
                if result.outcome.kind.value != "reserved":
                    raise SystemExit(f"{name} run {run}: {result.outcome.kind.value}: {result.outcome.reason}")
                size = result.trace_path.stat().st_size / 1024 if result.trace_path else 0.0
                rows[name].append({**result.step_seconds, "total": total, "trace KiB": size})
    table = Table(title=f"Cold booking, ALTCHA cost {cost}: tracing variants, median of {runs} interleaved runs")
    table.add_column("variant")
    for column in ("service (captcha) s", "flow s", "total s", "trace KiB"):
        table.add_column(column, justify="right")
    for name, values in rows.items():
        table.add_row(name, f"{statistics.median(r['service'] for r in values):.2f}",
                      f"{statistics.median(sum(r[s] for s in STEPS) for r in values):.2f}",
                      f"{statistics.median(r['total'] for r in values):.2f}",
                      f"{statistics.median(r['trace KiB'] for r in values):.0f}")
    Console().print(table)


if __name__ == "__main__":
    asyncio.run(main())
