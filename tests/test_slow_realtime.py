"""Real-time runs (minutes): the replica's clock is wall time, costs are the defaults.

Marked ``slow``: not in CI; run before resolving with ``scripts/test.sh -m slow``.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from agent.db import open_database
from agent.runner import run_booking
from flows.outcomes import OutcomeKind
from replica.server import ReplicaServer
from replica.settings import ReplicaSettings
from replica.site import Replica
from tests.agent_helpers import agent_settings, request_for
from tests.replica_helpers import berlin_slot, calendar_params, captcha_token, error_codes

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture
def realtime_server():
    site = Replica(ReplicaSettings())  # default ALTCHA cost, real clock
    with ReplicaServer(site) as server:
        yield server, site


async def test_booking_at_the_citys_captcha_cost(realtime_server, tmp_path) -> None:
    server, site = realtime_server
    site.desk.add_slots(102522, [berlin_slot(site, 2, 9)])
    settings = agent_settings(server, tmp_path)
    result = await run_booking(settings, open_database(settings.database_url), request_for(site))
    assert result.outcome.kind is OutcomeKind.RESERVED, result.outcome.reason
    print(f"\nreal-time booking at ALTCHA cost {site.settings.altcha_cost}: steps {result.step_seconds}")


def test_rate_window_in_real_time(realtime_server) -> None:
    server, _ = realtime_server
    with httpx.Client(base_url=server.api_url + "/") as api:
        for _ in range(60):
            assert api.get("captcha-details/").status_code == 200
        assert api.get("captcha-details/").status_code == 429
        time.sleep(61)
        assert api.get("captcha-details/").status_code == 200


def test_token_lifetime_in_real_time(realtime_server) -> None:
    server, site = realtime_server
    with httpx.Client(base_url=server.api_url + "/", timeout=30) as api:
        token = captcha_token(api)
        params = calendar_params(site, [102522], token=token)
        time.sleep(295)
        assert error_codes(api.get("available-calendar/", params=params)) == ["noAppointmentForThisScope"]
        time.sleep(7)
        assert error_codes(api.get("available-calendar/", params=params)) == ["captchaExpired"]


async def test_ten_minutes_of_watching_never_meets_an_expired_token(tmp_path) -> None:
    """Two token lifetimes of 300 s in real time, at the default budget: polls never get captchaExpired."""
    import asyncio

    from tests.watch_helpers import add, running_watcher

    site = Replica(ReplicaSettings())
    with ReplicaServer(site) as server:
        settings = agent_settings(server, tmp_path)  # the default budget: 6 requests per minute
        async with running_watcher(settings) as (watcher, _):
            add(watcher.sessions, site, 1, [102522], mode="notify")
            await watcher.refresh()
            await asyncio.sleep(600)
            polls = sum(s.poller.polls for s in watcher.queries.values())
            warmups = watcher.poll_page.renewals
    calendars = [r for r in site.requests.all() if r.path.endswith("/available-calendar/")]
    print(f"\n10 min real time: {polls} polls, {warmups} token renewals, {len(site.requests.all())} requests, "
          f"calendar statuses {sorted({r.status for r in calendars})}")
    assert polls >= 20 and warmups >= 2
    assert [r for r in calendars if r.status == 400] == []


async def test_three_queries_warming_together_at_the_default_budget_for_ten_minutes(realtime_server, tmp_path) -> None:
    """Issue 9: every page gets its captcha token; never captchaMissing in the replica's log."""
    from datetime import timedelta

    from agent.watches import add_watch
    from tests.watch_helpers import person, running_watcher

    server, site = realtime_server
    settings = agent_settings(server, tmp_path)  # the default budget: 6 per 60 s
    sessions = open_database(settings.database_url)
    today = site.clock.now_berlin().date()
    for n, offices in enumerate([[102522], [102523], [102524]]):
        add_watch(sessions, person(n), 1063453, offices, today, today + timedelta(days=60), mode="auto")
    async with running_watcher(settings, sessions) as (watcher, _):
        started = time.monotonic()
        while time.monotonic() - started < 600:
            await asyncio.sleep(5)
        status = watcher.status()
    calendars = [r for r in site.requests.all() if r.path.endswith("/available-calendar/")]
    refused = [r for r in calendars if r.status == 400]
    times = sorted(r.time for r in site.requests.all())
    busiest = max(sum(1 for t in times if s <= t < s + 60) for s in times) if times else 0
    print(f"\n10 min, 3 queries: {len(site.requests.all())} requests, {len(calendars)} calendar polls, "
          f"{len([r for r in site.requests.all() if r.path.endswith('/captcha-verify/')])} verifies, "
          f"{len(refused)} refused (captchaMissing/Expired), busiest 60 s: {busiest}; streams: {status}")
    assert refused == []
    assert all(s["polls"] >= 3 for s in status)
    assert busiest <= settings.budget_requests
