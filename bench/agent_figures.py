"""Figures for "one agent, flat cost": memory, token upkeep and poll period by watches and queries.

    .venv/bin/python bench/agent_figures.py --part memory              # 1/10/100 watches × 1/10 queries, cap 2 and 0
    .venv/bin/python bench/agent_figures.py --part upkeep --minutes 9  # token upkeep and poll period, 1 and 10 queries
    .venv/bin/python bench/agent_figures.py --part flags               # Chromium memory switches, poll page + 2 warm pages

Memory: Chromium's PSS (all the agent's Chromium processes, shared pages split) plus the agent's RSS (the
replica runs in a process of its own),
once every query has polled twice and the warm pages are ready; in brackets the peak of Chromium's PSS
over the whole run (a token renewal opens a page for a few seconds). Upkeep and period run in real time at the default
budget (6 requests per minute): captcha-related requests per minute, and seconds between two polls
of one query.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.config import Settings  # noqa: E402
from agent.db import open_database  # noqa: E402
from agent.notifier import MemoryNotifier  # noqa: E402
from agent.service import AgentService  # noqa: E402
from agent.watches import add_watch  # noqa: E402
from bench.memory import PeakSampler, chromium_rss_mib, own_rss_mib  # noqa: E402
from flows.request import Contact  # noqa: E402
from flows.timezone import BERLIN  # noqa: E402
import httpx  # noqa: E402
from replica.page import PAGE_PATH  # noqa: E402
from replica.server import ReplicaServer  # noqa: E402
from replica.settings import ReplicaSettings  # noqa: E402
from replica.site import Replica  # noqa: E402

# Ten distinct queries for Reisepass: six single offices, four pairs.
QUERIES = [[10502], [54261], [102522], [102523], [102524], [102526],
           [102522, 102523], [102524, 102526], [54261, 102522], [10502, 102524]]
CAPTCHA_PATHS = ("/captcha-details/", "/captcha-challenge/", "/captcha-verify/")


def settings_for(server: ReplicaServer, tmp: str, **overrides: object) -> Settings:
    values: dict[str, object] = dict(booking_url=server.base_url + PAGE_PATH, api_url=server.api_url,
                                     data_dir=Path(tmp), metrics_port=-1)
    values.update(overrides)
    return Settings(**values)


class ReplicaProcess:
    """The replica in a process of its own, so that the agent's memory is the agent's alone."""

    def __init__(self, **settings: object) -> None:
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.api_url = self.base_url + ReplicaSettings().api_prefix
        self.env = {**os.environ, **{f"MTA_REPLICA_{k.upper()}": str(v) for k, v in settings.items()}}
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> ReplicaProcess:
        self.process = subprocess.Popen([sys.executable, "-m", "agent.cli", "replica", "--port", str(self.port),
                                         "--no-seed-slots"], env=self.env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base_url + "/__replica__/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError("the replica did not start")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()  # by its PID
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def add_watches(sessions, site: Replica | None, watches: int, queries: int, mode: str) -> None:
    today = site.clock.now_berlin().date() if site is not None else datetime.now(BERLIN).date()
    for n in range(watches):
        add_watch(sessions, Contact("Bench", f"P{n}", f"bench{n}@example.org"), 1063453, QUERIES[n % queries],
                  today, today + timedelta(days=60), mode=mode)


async def measure_memory(watches: int, queries: int, warm_pages: int, flags: list[str] | None = None) -> tuple:
    with ReplicaProcess(rate_limit=1_000_000) as server, tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(server, tmp, budget_requests=500, budget_window_s=1.0, site_limit=100_000,
                                site_window_s=1.0, warm_pages=warm_pages, warm_check_s=0.5,
                                chromium_extra_args=flags or [])
        sessions = open_database(settings.database_url)
        add_watches(sessions, None, watches, queries, "auto")
        with PeakSampler(0.2) as peak:
            async with AgentService(settings, MemoryNotifier(), sessions=sessions) as agent:
                watcher = agent.watcher
                wanted_warm = min(warm_pages, queries)
                while not (all(s.poller.polls >= 2 for s in watcher.queries.values())
                           and len(watcher.warm.pages) == wanted_warm):
                    await asyncio.sleep(0.2)
                await asyncio.sleep(2)
                samples = []
                for _ in range(5):
                    samples.append((chromium_rss_mib(), own_rss_mib()))
                    await asyncio.sleep(0.5)
                chromium = statistics.median(s[0] for s in samples)
                own = statistics.median(s[1] for s in samples)
                return chromium, own, len(watcher.queries), agent.pool.open_contexts, peak.peak


async def part_memory() -> None:
    print("watches  queries  warm cap  contexts  Chromium PSS  agent RSS  total     (Chromium peak while renewing)")
    for cap in (2, 0):
        for queries in (1, 10):
            for watches in (1, 10, 100):
                if watches < queries:
                    continue
                chromium, own, streams, contexts, peak = await measure_memory(watches, queries, cap)
                print(f"{watches:7d}  {streams:7d}  {cap:8d}  {contexts:8d}  {chromium:9.0f} MiB  {own:5.0f} MiB"
                      f"  {chromium + own:5.0f} MiB  ({peak:.0f} MiB)", flush=True)


async def part_flags() -> None:
    candidates = {
        "none": [],
        "--renderer-process-limit=2": ["--renderer-process-limit=2"],
        "--disable-gpu": ["--disable-gpu"],
        "--disable-gpu --renderer-process-limit=2": ["--disable-gpu", "--renderer-process-limit=2"],
        "--js-flags=--max-old-space-size=96": ["--js-flags=--max-old-space-size=96"],
    }
    print("flags                                        Chromium PSS  agent RSS  (100 watches, 10 queries, cap 2)")
    for name, flags in candidates.items():
        chromium, own, _, _, _ = await measure_memory(100, 10, 2, flags)
        print(f"{name:44s} {chromium:9.0f} MiB  {own:5.0f} MiB", flush=True)


async def part_upkeep(queries: int, minutes: float) -> None:
    """Real time, the default budget: captcha upkeep per minute and each query's poll period."""
    site = Replica(ReplicaSettings())
    with ReplicaServer(site) as server, tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(server, tmp)  # 6 requests per minute, token 300 s
        sessions = open_database(settings.database_url)
        add_watches(sessions, site, queries, queries, "notify")
        async with AgentService(settings, MemoryNotifier(), sessions=sessions) as agent:
            while agent.watcher.poll_page.renewals < 1:  # steady state: after the first preparation
                await asyncio.sleep(0.2)
            started = time.time()
            await asyncio.sleep(minutes * 60)
            watcher = agent.watcher
            renewals = watcher.poll_page.renewals - 1
    log = [r for r in site.requests.all() if r.time >= started]
    span_min = minutes
    captcha = [r for r in log if r.path.endswith(CAPTCHA_PATHS)]
    catalogue = [r for r in log if r.path.endswith("/offices-and-services/")]
    periods = []
    by_query: dict[str, list[float]] = {}
    for r in log:
        if r.path.endswith("/available-calendar/") and "slotsStartDate" in r.query:
            q = r.query.split("officeIds=")[1].split("&")[0]
            start = r.query.split("slotsStartDate=")[1].split("&")[0]
            end = r.query.split("slotsEndDate=")[1].split("&")[0]
            if start != end:  # overviews only (day reads follow them)
                by_query.setdefault(q, []).append(r.time)
    for times in by_query.values():
        periods += [b - a for a, b in zip(times, times[1:])]
    upkeep = (len(captcha) + len(catalogue)) / span_min
    print(f"{queries:2d} queries, {minutes:g} min at 6/min: token upkeep {upkeep:.2f} requests/min "
          f"({len(captcha)} captcha + {len(catalogue)} page loads, {renewals} renewals); poll period per query "
          f"median {statistics.median(periods) if periods else float('nan'):.1f} s; "
          f"{len(log) / span_min:.2f} requests/min in all", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=["memory", "flags", "upkeep"], default="memory")
    parser.add_argument("--minutes", type=float, default=9.0)
    parser.add_argument("--queries", type=int, action="append", help="for --part upkeep: 1 and 10 by default")
    options = parser.parse_args()
    if options.part == "memory":
        asyncio.run(part_memory())
    elif options.part == "flags":
        asyncio.run(part_flags())
    else:
        for queries in options.queries or (1, 10):
            asyncio.run(part_upkeep(queries, options.minutes))


if __name__ == "__main__":
    main()
