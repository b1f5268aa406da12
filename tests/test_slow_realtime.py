"""Real-time runs (minutes): the replica's clock is wall time, costs are the defaults.

Marked ``slow``: not in CI; run before resolving with ``scripts/test.sh -m slow``.
"""

from __future__ import annotations

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
            watcher.refresh_streams()
            await asyncio.sleep(600)
            polls = sum(s.stream.polls for s in watcher.streams.values())
            warmups = sum(s.stream.warmups for s in watcher.streams.values())
    calendars = [r for r in site.requests.all() if r.path.endswith("/available-calendar/")]
    print(f"\n10 min real time: {polls} polls, {warmups} token renewals, {len(site.requests.all())} requests, "
          f"calendar statuses {sorted({r.status for r in calendars})}")
    assert polls >= 20 and warmups >= 2
    assert [r for r in calendars if r.status == 400] == []
