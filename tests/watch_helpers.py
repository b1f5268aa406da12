"""Running the watcher inside a test against the replica."""

from __future__ import annotations

import asyncio
import os
import time
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from agent.budget import BudgetConfig, RateBudget
from agent.db import open_database
from agent.notifier import MemoryNotifier
from agent.service import AgentService
from agent.watches import add_watch
from flows.request import Contact
from tests.agent_helpers import agent_env, agent_settings

# Compressed time: the budget's window is 3 s instead of 60 s (6 requests per window, like a person).
FAST_BUDGET = dict(budget_requests=6, budget_window_s=3.0, budget_booking_burst=12, site_limit=60, site_window_s=6.0,
                   backoff_s=2.0, backoff_max_s=8.0, token_refresh_margin_s=3.0, warm_token_margin_s=3.0,
                   warm_check_s=1.0, refresh_s=2.0, stop_grace_s=20.0)


def fast_run_env(server, tmp: Path, **extra: str) -> dict[str, str]:
    """The environment of a separate ``mta`` process aimed at the replica, with the compressed budget."""
    return {**os.environ, **agent_env(server, tmp), **{f"MTA_{k.upper()}": str(v) for k, v in FAST_BUDGET.items()},
            **extra}


def person(n: int) -> Contact:
    return Contact(f"Person{n}", "Test", f"p{n}@example.org")


def watcher_settings(server, tmp: Path, **overrides):
    """Agent settings with compressed windows, and the replica's limiter compressed to match (the city's
    counter lapses after its TTL of silence; agent and site agree on it, as on the live site)."""
    settings = agent_settings(server, tmp, **{**FAST_BUDGET, **overrides})
    server.replica.limiter.window_s = settings.site_window_s
    server.replica.limiter.limit = settings.site_limit
    return settings


def add(sessions, replica, n: int, offices: list[int], service: int = 1063453, mode: str = "auto", **kw) -> int:
    today = replica.clock.now_berlin().date()
    return add_watch(sessions, person(n), service, offices, today, today + timedelta(days=60), mode=mode, **kw)


@asynccontextmanager
async def running_agent(settings, sessions=None, budget: RateBudget | None = None, schedule: bool = True):
    """The agent service running in this test; yields it and the notices it sent to the console channel."""
    sessions = sessions or open_database(settings.database_url)
    notifier = MemoryNotifier()
    agent = AgentService(settings, notifier, sessions=sessions, budget=budget)
    await agent.start(schedule=schedule)
    try:
        yield agent, notifier
    finally:
        await agent.stop()


@asynccontextmanager
async def running_watcher(settings, sessions=None, budget: RateBudget | None = None, schedule: bool = True):
    """The agent service running in this test; yields its watcher (pool, budget, queries) and the notices."""
    async with running_agent(settings, sessions, budget, schedule) as (agent, notifier):
        yield agent.watcher, notifier


async def wait_for(condition, timeout: float = 60.0, step: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await asyncio.sleep(step)
    raise AssertionError("condition not met in time")


def budget(settings) -> RateBudget:
    return RateBudget(BudgetConfig(requests=settings.budget_requests, window_s=settings.budget_window_s,
                                   booking_burst=settings.budget_booking_burst, site_limit=settings.site_limit,
                                   site_window_s=settings.site_window_s, backoff_s=settings.backoff_s,
                                   backoff_max_s=settings.backoff_max_s))
