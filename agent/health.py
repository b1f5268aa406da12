"""Liveness and readiness of the running agent, as the ops server reports them.

``/health`` answers while the process serves at all. ``/ready`` says whether
the agent can do its job now; each check says why not:

- **database**: the SQLite file takes a write lock (``BEGIN IMMEDIATE``, rolled
  back): a full disk, a read-only volume or a file owned by someone else fails.
- **chromium**: the pool's browser is connected, or closed on purpose while no
  page is needed (polls go over HTTP; it is launched for a renewal, a warm page
  or a booking). Before the first poll there is none yet: that is ready, not
  down. A Chromium that died is down until the pool relaunches it.
- **polls**: every query got an answer recently: within
  ``MTA_READY_POLL_AGE_S``, or three poll intervals when the budget spaces
  polls further apart. A query new since the start counts from when it was
  added.
- **circuit**: closed. While the site's rate limit holds the agent sends
  nothing, so it is not ready (and says until when).
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:  # pragma: no cover
    from .service import AgentService


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict:
        return {"ok": self.ok, "detail": self.detail}


def database_writable(sessions: sessionmaker[Session]) -> Check:
    """Take SQLite's write lock and give it back (nothing is written)."""
    engine = sessions.kw["bind"]
    path = engine.url.database
    if path and path != ":memory:" and not os.access(path, os.W_OK):
        return Check("database", False, f"{path} is not writable by uid {os.getuid()}")
    try:
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            cursor.execute("ROLLBACK")
        finally:
            raw.close()
    except Exception as exc:  # noqa: BLE001 - any failure means not writable; the reason is the detail
        return Check("database", False, f"not writable: {str(exc).splitlines()[0]}")
    return Check("database", True, "writable")


def chromium_up(agent: AgentService) -> Check:
    pool = agent.pool
    if pool is None:
        return Check("chromium", False, "the agent is not running")
    if pool.alive:
        return Check("chromium", True, f"connected (launched {pool.launches} time(s))")
    if pool.resting:
        return Check("chromium", True, "closed while no page is needed; launched again on demand")
    if pool.launches == 0:
        return Check("chromium", True, "not started yet (no poll has needed it)")
    return Check("chromium", False, "Chromium is gone; it is relaunched on the next poll")


def polls_recent(agent: AgentService, max_age_s: float, now: float | None = None) -> Check:
    watcher = agent.watcher
    if watcher is None:
        return Check("polls", False, "the agent is not running")
    if not watcher.queries:
        return Check("polls", True, "no active watch")
    now = time.time() if now is None else now
    limit = max(max_age_s, 3 * watcher.interval(now))
    stale = [key.label() for key, query in watcher.queries.items()
             if now - (query.last_ok or query.since) > limit]
    if stale:
        return Check("polls", False, f"no answer within {limit:.0f} s for: {'; '.join(sorted(stale))}")
    return Check("polls", True, f"{len(watcher.queries)} query(ies) answered within {limit:.0f} s")


def circuit_closed(agent: AgentService) -> Check:
    if agent.budget.circuit_open:
        until = time.strftime("%H:%M:%S", time.localtime(agent.budget.open_until))
        return Check("circuit", False, f"rate limited by the site until {until}; sending nothing")
    return Check("circuit", True, "closed")


async def readiness(agent: AgentService, max_poll_age_s: float) -> list[Check]:
    database = await asyncio.to_thread(database_writable, agent.sessions)
    return [database, chromium_up(agent), polls_recent(agent, max_poll_age_s), circuit_closed(agent)]
