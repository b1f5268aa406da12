"""The watcher against the replica: shared polls, the budget, auto-booking, 429 storms, crashes, tokens."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest
from sqlalchemy import select

from agent.db import open_database
from agent.models import Attempt, Watch
from replica.faults import FaultRule
from tests.proc_helpers import descendants
from tests.replica_helpers import berlin_slot
from tests.watch_helpers import add, running_watcher, wait_for, watcher_settings

pytestmark = pytest.mark.browser


def own_chromium(spare: frozenset[int] = frozenset()) -> list[int]:
    """The Chromium processes started by this test process (not anyone else's), except ``spare``: those
    that ran before the test's agent started (pytest-playwright's shared browser, for one)."""
    return [pid for pid, comm in descendants().items() if comm in ("chromium", "chrome") and pid not in spare]


def kill_own_chromium(spare: frozenset[int] = frozenset()) -> int:
    """SIGKILL the Chromium processes the test's agent started (by PID)."""
    victims = own_chromium(spare)
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return len(victims)


def api_log(replica, kind: str | None = None):
    logged = [r for r in replica.requests.all()]
    return [r for r in logged if kind is None or r.path.endswith(f"/{kind}/")]


# The budget spaces requests as they leave; the replica logs them as they arrive, and travel times vary
# (Chromium busy with a proof of work sends late). A compressed window's own slack (a tenth of it) is
# smaller than that spread, so arrivals are counted in a window this much shorter: a budget that let twice
# its rate through is still caught.
ARRIVAL_SPREAD_S = 0.25


def max_in_window(times: list[float], window: float) -> int:
    """The most arrivals in any window of ``window`` seconds (less the arrival spread)."""
    window -= ARRIVAL_SPREAD_S
    times = sorted(times)
    best, start = 0, 0
    for end in range(len(times)):
        while times[end] - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_released_slot_is_booked_automatically_on_the_warm_page(server, replica, tmp_path) -> None:
    replica.clock.unfreeze()
    settings = watcher_settings(server, tmp_path)
    sessions = open_database(settings.database_url)
    watch_id = add(sessions, replica, 1, [102522])
    add(sessions, replica, 1, [102522, 102523], service=1063453)  # the same person's second watch for the service
    async with running_watcher(settings, sessions) as (watcher, notices):
        await wait_for(lambda: any(s.poller.polls >= 1 for s in watcher.queries.values()), 60)
        await wait_for(lambda: watcher.warm.pages, 60)  # the query has its warm page
        slot = berlin_slot(replica, 3, 10)
        replica.desk.add_slots(102522, [slot])
        released = replica.clock.now()
        await wait_for(lambda: watcher.stats.bookings, 60)
    [booking] = watcher.stats.bookings
    assert booking["outcome"] == "reserved", booking
    [process] = replica.desk.live_processes()
    assert process.timestamp == slot and process.status == "preconfirmed"
    reserve = [r for r in api_log(replica, "reserve-appointment") if r.status == 200][0]
    assert 0 < reserve.time - released < 30  # release → reserved, recorded on the site's log
    with sessions() as session:
        attempt = session.scalars(select(Attempt)).one()
        states = {w.id: w.state for w in session.scalars(select(Watch))}
    assert attempt.warm and attempt.slot_first_seen and attempt.reserved_at
    assert booking["detectionToReserved"] is not None and booking["detectionToReserved"] < 10
    assert sorted(states.values()) == ["booked", "paused"]  # one booked, the person's other watch paused
    assert watch_id in states
    assert [n.kind for n in notices.notices if n.kind == "booked"] == ["booked"]
    # the warm page was ready: the booking had no page load and no captcha step of its own
    assert set(attempt.step_seconds) == {"calendar", "reserve", "contact", "preconfirm"}


async def test_hundred_watches_over_five_queries_poll_five_streams_within_the_budget(server, replica, tmp_path) -> None:
    replica.clock.unfreeze()
    replica.set_captcha_required(False)  # pure poll accounting
    settings = watcher_settings(server, tmp_path)
    sessions = open_database(settings.database_url)
    queries = [[102522], [102523], [102524], [102526], [54261]]
    for n in range(100):
        add(sessions, replica, n, queries[n % 5], mode="notify")
    async with running_watcher(settings, sessions) as (watcher, _):
        assert len(watcher.queries) == 5
        await wait_for(lambda: all(s.poller.polls >= 3 for s in watcher.queries.values()), 90)
    calendars = api_log(replica, "available-calendar")
    offices = {r.query.split("officeIds=")[1].split("&")[0] for r in calendars}
    assert offices == {"102522", "102523", "102524", "102526", "54261"}
    times = [r.time for r in api_log(replica)]
    assert max_in_window(times, settings.budget_window_s) <= settings.budget_requests


async def test_429_storm_backs_off_and_recovers(server, replica, tmp_path) -> None:
    replica.clock.unfreeze()
    settings = watcher_settings(server, tmp_path)
    async with running_watcher(settings) as (watcher, notices):
        add(watcher.sessions, replica, 1, [102522], mode="notify")
        await watcher.refresh()
        await wait_for(lambda: any(s.poller.polls >= 1 for s in watcher.queries.values()), 60)
        replica.settings.rate_window_s = 4  # the storm's X-RateLimit-Reset says: come back in 4 s
        replica.faults.add(FaultRule(kind="rate_limit"))
        await wait_for(lambda: watcher.budget.circuit_open, 30)
        [state] = watcher.queries.values()
        await wait_for(lambda: state.status == "rate_limited", 10)
        opened_at, until = replica.clock.now(), watcher.budget.open_until
        assert until >= opened_at + 2  # honours X-RateLimit-Reset (whole seconds)
        during = len(replica.requests.all())
        await asyncio.sleep(max(0.0, until - time.time()))  # the whole time the circuit is open
        sent_while_open = [r for r in replica.requests.all()[during:] if r.time < until - 0.05]
        assert sent_while_open == []
        replica.faults.clear()
        polls = state.poller.polls
        await wait_for(lambda: state.poller.polls > polls and state.status == "watching", 60)
    assert any(n.kind == "rate_limited" and "not 'no slots'" in n.text for n in notices.notices)
    assert opened_at < until


async def test_chromium_killed_mid_run_is_relaunched_and_nothing_is_lost(server, replica, tmp_path) -> None:
    replica.clock.unfreeze()
    settings = watcher_settings(server, tmp_path)
    sessions = open_database(settings.database_url)
    add(sessions, replica, 1, [102522])
    spare = frozenset(own_chromium())
    async with running_watcher(settings, sessions) as (watcher, _):
        await wait_for(lambda: any(s.poller.polls >= 1 for s in watcher.queries.values()), 60)
        # Chromium rests (closed) between token renewals while no page is open: wait until it runs
        await wait_for(lambda: own_chromium(spare), 60, step=0.02)
        launches = watcher.pool.launches
        killed = kill_own_chromium(spare)
        assert killed, "no Chromium of this test process found"
        replica.desk.add_slots(102522, [berlin_slot(replica, 4, 9)])
        await wait_for(lambda: watcher.pool.launches > launches, 60)
        await wait_for(lambda: watcher.stats.bookings, 90)
    with sessions() as session:
        attempts = session.scalars(select(Attempt)).all()
    assert attempts and all(a.outcome is not None for a in attempts)
    assert attempts[-1].outcome == "reserved"


async def test_a_poll_due_while_the_loop_was_busy_still_runs_and_polling_goes_on(server, replica, tmp_path) -> None:
    """The event loop blocked past a poll's due time (a slow disk, a loaded machine): the poll runs late
    and arms the next one. APScheduler's default would drop a run more than 1 s late, and with it every
    later poll of the query."""
    replica.clock.unfreeze()
    settings = watcher_settings(server, tmp_path, refresh_s=600.0)  # no refresh comes to the rescue
    async with running_watcher(settings) as (watcher, _):
        add(watcher.sessions, replica, 1, [102522], mode="notify")
        await watcher.refresh()
        [state] = watcher.queries.values()
        await wait_for(lambda: state.poller.polls >= 1, 60)
        time.sleep(max(0.0, state.next_poll - time.time()) + 2.5)  # blocks the loop across the due time
        polls = state.poller.polls
        await wait_for(lambda: state.poller.polls >= polls + 2, 60)


async def test_a_query_whose_poll_was_lost_is_armed_again_by_the_refresh(server, replica, tmp_path) -> None:
    """The safety net: however a poll's job went missing, the next refresh arms the overdue query again."""
    from agent.watcher import _job_id

    replica.clock.unfreeze()
    settings = watcher_settings(server, tmp_path, refresh_s=600.0)
    async with running_watcher(settings) as (watcher, _):
        add(watcher.sessions, replica, 1, [102522], mode="notify")
        await watcher.refresh()
        [(key, state)] = watcher.queries.items()
        await wait_for(lambda: state.poller.polls >= 1 and key not in watcher._poll_tasks, 60)
        if watcher.scheduler.get_job(_job_id(key)) is not None:  # (it may be firing right now)
            watcher.scheduler.remove_job(_job_id(key))  # lost
        state.next_poll = time.time() - watcher.interval() - settings.refresh_s - 1
        polls = state.poller.polls
        await watcher.refresh()
        assert watcher.scheduler.get_job(_job_id(key)) is not None
        await wait_for(lambda: state.poller.polls > polls, 60)


async def test_token_is_refreshed_before_it_expires(server, replica, tmp_path) -> None:
    replica.clock.unfreeze()
    replica.settings.token_lifetime_s = 8  # compressed: the city's is 300 s (the replica floors it to seconds)
    settings = watcher_settings(server, tmp_path, token_refresh_margin_s=2.5)
    async with running_watcher(settings) as (watcher, _):
        add(watcher.sessions, replica, 1, [102522], mode="notify")
        await watcher.refresh()
        # polls go on across several token lifetimes (each renewed ahead of time)
        await wait_for(lambda: watcher.poll_page.renewals >= 3
                       and sum(s.poller.polls for s in watcher.queries.values()) >= 8, 120)
        warmups = watcher.poll_page.renewals
    calendars = api_log(replica, "available-calendar")
    assert [r for r in calendars if r.status == 400] == []  # never captchaExpired
    assert warmups >= 3  # several token lifetimes passed, each renewed ahead of time


async def test_a_poll_held_by_the_budget_never_carries_an_expired_token(server, replica, tmp_path) -> None:
    """A poll may wait a whole budget window; its token is judged fresh after the wait, not before,
    and the place it waited for is given back while the token is renewed."""
    from playwright.async_api import async_playwright

    from agent.poll_page import PollPage
    from agent.poller import QueryPoller
    from agent.pool import BrowserPool
    from agent.runner import selector_book
    from agent.site_page import StreamKey
    from tests.watch_helpers import budget as make_budget

    replica.clock.unfreeze()
    replica.settings.token_lifetime_s = 8
    settings = watcher_settings(server, tmp_path, budget_requests=3, budget_window_s=4.0, site_limit=60,
                                site_window_s=6.0, token_refresh_margin_s=1.0)
    budget = make_budget(settings)
    key = StreamKey(1063453, 1, (102522,))
    async with async_playwright() as playwright:
        pool = BrowserPool(playwright, settings)
        page = PollPage(settings, pool, budget, selector_book(settings))
        await page.ensure_ready([key])
        # wait until the token has 2.5 s left: fresh by the 1 s margin…
        await asyncio.sleep(max(0.0, page.token.expires_at - page.site_now() - 2.5))
        # …while the budget's window is full, so this poll must wait about 4 s first
        now = budget.clock()
        with budget.ledger.hold() as books:
            books.sent.extend([(now, "poll")] * settings.budget_requests)
        result = await QueryPoller(key).poll(page, [key])
        await page.close()
        await pool.close()
    assert isinstance(result.slots, set)
    calendars = api_log(replica, "available-calendar")
    assert [r.status for r in calendars] == [404]  # no slots, and no captchaExpired (400)
    assert page.renewals == 2  # the token was renewed after the wait
