"""Figures for the watcher (issue "Watcher"): run against the replica, real Chromium.

    .venv/bin/python bench/watcher_figures.py --part requests   # in-page poll vs full UI walk
    .venv/bin/python bench/watcher_figures.py --part latency    # release→notify / release→reserved, default budget
    (memory by watches and queries: bench/agent_figures.py)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, time as dtime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.async_api import async_playwright  # noqa: E402

from agent.budget import BudgetConfig, RateBudget  # noqa: E402
from agent.config import Settings  # noqa: E402
from agent.db import open_database  # noqa: E402
from agent.notifier import MemoryNotifier  # noqa: E402
from agent.pool import BrowserPool  # noqa: E402
from agent.poll_page import PollPage  # noqa: E402
from agent.poller import QueryPoller  # noqa: E402
from agent.service import AgentService  # noqa: E402
from agent.site_page import StreamKey  # noqa: E402
from agent.runner import selector_book  # noqa: E402
from flows.booking import BookingFlow, NullObserver, Target  # noqa: E402
from flows.pages import ServiceStep  # noqa: E402
from flows.request import Contact  # noqa: E402
from flows.timezone import BERLIN  # noqa: E402
from replica.page import PAGE_PATH  # noqa: E402
from replica.server import ReplicaServer  # noqa: E402
from replica.settings import ReplicaSettings  # noqa: E402
from replica.site import Replica  # noqa: E402

OFFICES = [10502, 54261, 102522, 102523, 102524, 102526]


def cpu_seconds() -> float:
    """CPU time of this process and every Chromium process so far (utime + stime)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
            if entry.name != str(os.getpid()) and comm not in ("chromium", "chrome"):
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    return total


def settings_for(server: ReplicaServer, tmp: str, **extra) -> Settings:
    return Settings(booking_url=server.base_url + PAGE_PATH, api_url=server.api_url,
                    database_url=f"sqlite:///{tmp}/bench.db", recordings_dir=Path(tmp) / "rec",
                    metrics_port=-1, **extra)


async def part_requests(runs: int) -> None:
    site = Replica(ReplicaSettings(rate_limit=100_000))
    site.seed_slots(days=20, per_day=4)
    with ReplicaServer(site) as server, tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(server, tmp)
        budget = RateBudget(BudgetConfig(requests=1000, window_s=1, site_limit=10_000, site_window_s=1))
        async with async_playwright() as pw:
            pool = BrowserPool(pw, settings)
            key = StreamKey(1063453, 1, (102522,))
            page = PollPage(settings, pool, budget, selector_book(settings))
            await page.ensure_ready([key])
            poller = QueryPoller(key, day_reads=0)  # the overview alone: one request per check
            before_req, before_cpu = len(site.requests.all()), cpu_seconds()
            for _ in range(runs):
                await poller.poll(page, [key])
            poll_req = (len(site.requests.all()) - before_req) / runs
            poll_cpu = (cpu_seconds() - before_cpu) / runs
            await page.retire()
            walk_req, walk_cpu = [], []
            for _ in range(min(runs, 5)):
                pooled = await pool.new_context()
                page = await pooled.context.new_page()
                flow = BookingFlow(page, selector_book(settings), Target(settings.booking_url, settings.api_url), NullObserver())
                n, c = len(site.requests.all()), cpu_seconds()
                await flow.prepare(key.template())
                await ServiceStep(page, flow.locate, flow.capture).proceed()
                walk_req.append(len(site.requests.all()) - n)
                walk_cpu.append(cpu_seconds() - c)
                await pool.retire(pooled)
            await pool.close()
    w_req, w_cpu = statistics.median(walk_req), statistics.median(walk_cpu)
    print(f"in-page poll : {poll_req:.1f} request(s), {poll_cpu * 1000:.0f} ms CPU per check (mean of {runs})")
    print(f"full UI walk : {w_req:.0f} requests, {w_cpu * 1000:.0f} ms CPU per check (median of {len(walk_req)}; "
          "page load + ALTCHA + Weiter)")
    print(f"ratio        : {w_req / poll_req:.0f}× requests, {w_cpu / max(poll_cpu, 1e-6):.0f}× CPU")


async def part_latency(releases: int, mode: str) -> list[float]:
    site = Replica(ReplicaSettings())
    with ReplicaServer(site) as server, tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(server, tmp)  # the default budget: 6 requests per minute
        sessions = open_database(settings.database_url)
        today = site.clock.now_berlin().date()
        notifier = MemoryNotifier()
        latencies: list[float] = []
        async with AgentService(settings, notifier, sessions=sessions) as agent:
            watcher = agent.watcher
            for n in range(releases):
                await agent.add_watch(Contact("Bench", f"P{n}", f"bench{n}@example.org"), 1063453, [102522], today,
                                      today + timedelta(days=60), mode=mode)
                # Each release meets a watching agent (and, for auto-book, its warm page ready again).
                while not (all(st.poller.polls >= 1 and st.status == "watching" for st in watcher.queries.values())
                           and (mode == "notify" or watcher.warm.pages)):
                    await asyncio.sleep(0.2)
                await asyncio.sleep(random.uniform(0, 20))
                slot = int(datetime.combine(today + timedelta(days=5 + n), dtime(9, 0), BERLIN).timestamp())
                released = time.time()
                site.desk.add_slots(102522, [slot])
                seen = len(notifier.notices) if mode == "notify" else len(watcher.stats.bookings)
                while True:
                    await asyncio.sleep(0.05)
                    if mode == "notify" and len(notifier.notices) > seen:
                        latencies.append(time.time() - released)
                        break
                    if mode == "auto" and len(watcher.stats.bookings) > seen:
                        reserve = [r for r in site.requests.all() if r.path.endswith("/reserve-appointment/")
                                   and r.status == 200]
                        latencies.append(reserve[-1].time - released)
                        break
                print(f"  release {n + 1}: {latencies[-1]:.1f} s", flush=True)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=["requests", "latency", "all"], default="all")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--releases", type=int, default=5)
    options = parser.parse_args()
    if options.part in ("requests", "all"):
        asyncio.run(part_requests(options.runs))
    if options.part in ("latency", "all"):
        for mode, label in (("notify", "release → notify"), ("auto", "release → reserved")):
            values = asyncio.run(part_latency(options.releases, mode))
            p95 = statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) >= 2 else values[0]
            print(f"{label} at the default budget (6/min): median {statistics.median(values):.1f} s, "
                  f"p95 {p95:.1f} s over {len(values)} releases")


if __name__ == "__main__":
    main()
