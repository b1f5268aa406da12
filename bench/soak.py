"""Soak: the agent with 100 auto-book watches over 10 queries for 30 minutes, sampled every minute.

    .venv/bin/python bench/soak.py                 # 30 minutes, the default settings (budget, warm pages)
    .venv/bin/python bench/soak.py --minutes 5

Each minute: the agent's RSS, its Chromium's PSS, open file descriptors, threads, the database's size, and
the requests the site saw. At the end: first vs. last five-minute medians of each and whether the growth
stays within 10 %. The replica's limiter is the city's (60 per IP, TTL refreshed by every request).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.db import open_database  # noqa: E402
from agent.notifier import MemoryNotifier  # noqa: E402
from agent.service import AgentService  # noqa: E402
from bench.agent_figures import add_watches, settings_for  # noqa: E402
from bench.memory import chromium_rss_mib, own_rss_mib  # noqa: E402
from replica.server import ReplicaServer  # noqa: E402
from replica.settings import ReplicaSettings  # noqa: E402
from replica.site import Replica  # noqa: E402


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def threads() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


async def soak(minutes: int) -> list[dict]:
    site = Replica(ReplicaSettings())
    site.clock.unfreeze()
    samples = []
    with ReplicaServer(site) as server, tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(server, tmp, metrics_port=-1)
        sessions = open_database(settings.database_url)
        add_watches(sessions, site, 100, 10, "auto")
        db = Path(settings.database_url.removeprefix("sqlite:///"))
        async with AgentService(settings, MemoryNotifier(), sessions=sessions) as agent:
            started = time.monotonic()
            for minute in range(1, minutes + 1):
                await asyncio.sleep(max(0.0, started + minute * 60 - time.monotonic()))
                sample = {"minute": minute, "agent": own_rss_mib(), "chromium": chromium_rss_mib(), "fds": fds(),
                          "threads": threads(), "db_kib": db.stat().st_size / 1024,
                          "requests": len(site.requests.all()),
                          "refused": sum(1 for r in site.requests.all() if r.status == 429),
                          "polls": sum(s.poller.polls for s in agent.watcher.queries.values()),
                          "quiet": bool(agent.budget.state()["quietUntil"])}
                samples.append(sample)
                print(f"min {minute:3d}: agent {sample['agent']:5.0f} MiB, Chromium {sample['chromium']:5.0f} MiB, "
                      f"fds {sample['fds']:4d}, threads {sample['threads']:3d}, db {sample['db_kib']:7.0f} KiB, "
                      f"{sample['requests']} requests ({sample['refused']} refused), {sample['polls']} polls"
                      f"{', quiet gap' if sample['quiet'] else ''}", flush=True)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=int, default=30)
    options = parser.parse_args()
    samples = asyncio.run(soak(options.minutes))
    window = max(1, min(5, len(samples) // 3))
    print(f"first vs. last {window}-minute medians:")
    for key in ("agent", "chromium", "fds", "threads", "db_kib"):
        first = statistics.median(s[key] for s in samples[:window])
        last = statistics.median(s[key] for s in samples[-window:])
        growth = (last - first) / first * 100 if first else 0.0
        print(f"  {key:9s} {first:8.1f} → {last:8.1f}  ({growth:+.1f} %){'' if abs(growth) <= 10 else '  > 10 %'}")
    print(f"site refused {samples[-1]['refused']} of {samples[-1]['requests']} requests")


if __name__ == "__main__":
    main()
