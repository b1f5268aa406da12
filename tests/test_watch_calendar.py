"""Detection that cannot miss a matching slot on a later day (spec §3b), and pages that warm together.

The poll asks for the whole range (every bookable day with its offices), then reads the times of
candidate days, one request each; the booking walks straight to the day the poll found.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from urllib.parse import parse_qsl

import pytest

from agent.db import open_database
from agent.watches import add_watch
from replica.clock import BERLIN
from tests.test_watcher import api_log, max_in_window
from tests.watch_helpers import person, running_watcher, wait_for, watcher_settings

pytestmark = pytest.mark.browser


def at(day: date, hhmm: str) -> int:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return int(datetime.combine(day, time(hour, minute), BERLIN).timestamp())


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def day_reads(replica, day: date) -> list:
    """Calendar requests that read exactly ``day``."""
    reads = []
    for r in api_log(replica, "available-calendar"):
        q = dict(parse_qsl(r.query))
        if q.get("slotsStartDate") == q.get("slotsEndDate") == day.isoformat():
            reads.append(r)
    return reads


async def book_after_release(replica, tmp_path, server, watch: dict, before: dict[date, list[str]],
                             release_day: date, release_time: str, **overrides):
    replica.clock.unfreeze()
    settings = watcher_settings(server, tmp_path, **overrides)
    sessions = open_database(settings.database_url)
    for day, times in before.items():
        replica.desk.add_slots(102522, [at(day, t) for t in times])
    add_watch(sessions, person(1), 1063453, [102522], mode="auto", **watch)
    async with running_watcher(settings, sessions) as (watcher, _):
        await wait_for(lambda: any(s.poller.polls >= 2 + len(before) for s in watcher.queries.values()), 90)
        assert watcher.stats.bookings == []  # nothing before the release matches
        slot = at(release_day, release_time)
        replica.desk.add_slots(102522, [slot])
        await wait_for(lambda: watcher.stats.bookings, 90)
    [booking] = watcher.stats.bookings
    assert booking["outcome"] == "reserved", booking
    [process] = replica.desk.live_processes()
    assert process.timestamp == slot
    times_ = [r.time for r in api_log(replica)]
    budget = settings.budget_requests + settings.budget_booking_burst
    assert max_in_window(times_, settings.budget_window_s) <= budget
    booking_starts = min(x.time for x in api_log(replica, "reserve-appointment"))
    polls_only = [r.time for r in api_log(replica) if r.time < booking_starts - settings.budget_window_s]
    assert max_in_window(polls_only, settings.budget_window_s) <= settings.budget_requests  # polls: no burst
    return settings, polls_only


async def test_watch_whose_range_starts_next_month_books_a_released_slot(server, replica, tmp_path) -> None:
    today = replica.clock.now_berlin().date()
    start = next_month(today)
    soon = today + timedelta(days=1)
    before = {soon: ["09:00", "10:00"]} if soon < start else {}  # this month's slots: not wanted
    target = start + timedelta(days=9)
    await book_after_release(replica, tmp_path, server,
                             dict(date_from=start, date_to=start + timedelta(days=45)), before, target, "11:00")
    assert day_reads(replica, target), "the poll read the new day before booking"


async def test_watch_whose_time_window_excludes_the_first_bookable_day(server, replica, tmp_path) -> None:
    today = replica.clock.now_berlin().date()
    first, later = today + timedelta(days=2), today + timedelta(days=5)
    await book_after_release(replica, tmp_path, server,
                             dict(date_from=today, date_to=today + timedelta(days=40), time_from="13:00",
                                  time_to="16:00"),
                             {first: ["08:00", "08:30"]}, later, "14:00")


async def test_a_slot_released_on_a_day_that_already_had_others_is_found(server, replica, tmp_path) -> None:
    """The days' offices do not change, so only re-reading candidate days in turn finds it: four candidate
    days, one day read per poll."""
    today = replica.clock.now_berlin().date()
    first = today + timedelta(days=2)
    others = [today + timedelta(days=n) for n in (4, 6, 8, 10)]
    busy = others[2]
    settings, polls = await book_after_release(
        replica, tmp_path, server,
        dict(date_from=today, date_to=today + timedelta(days=40), time_from="15:00", time_to="17:00"),
        {first: ["08:00"], **{d: ["09:00"] for d in others}}, busy, "15:30", poll_day_reads=1,
        budget_window_s=2.0)  # many polls: a compressed window (6 requests per 2 s)
    assert len(day_reads(replica, busy)) >= 2  # read before the release and again after it
    assert all(day_reads(replica, d) for d in others)  # every candidate day had its turn


async def test_pages_warming_together_each_get_their_captcha_token(server, replica, tmp_path) -> None:
    """Three auto-book queries at once, the default budget's shape (6 per window): the poll page and
    both warm pages get their token; no poll ever goes without one."""
    replica.clock.unfreeze()
    settings = watcher_settings(server, tmp_path)
    sessions = open_database(settings.database_url)
    today = replica.clock.now_berlin().date()
    for n, offices in enumerate([[102522], [102523], [102524]]):
        add_watch(sessions, person(n), 1063453, offices, today, today + timedelta(days=30), mode="auto")
    async with running_watcher(settings, sessions) as (watcher, _):
        assert len(watcher.queries) == 3
        await wait_for(lambda: all(s.poller.polls >= 2 for s in watcher.queries.values())
                       and len(watcher.warm.pages) == 2, 120)
        pages = watcher.poll_page.renewals + watcher.warm.prepared
    calendars = api_log(replica, "available-calendar")
    assert [r for r in calendars if r.status == 400] == []  # never captchaMissing/Expired
    assert len(api_log(replica, "captcha-verify")) == pages == 3
    times_ = [r.time for r in api_log(replica)]
    assert max_in_window(times_, settings.budget_window_s) <= settings.budget_requests
