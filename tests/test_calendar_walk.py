"""``mta book`` finds the earliest matching slot in any month of its range, walking the calendar as a person does.

Each test runs the real CLI in its own process against the replica and checks the replica's request log:
which requests the booking sent and how many calendar reads it needed (spec §3b: one answer tells the
painted month's days and one day's times; every further day costs one request).
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

import pytest

from replica.clock import BERLIN
from tests.page_helpers import api_calls
from tests.test_cli_book import CONTACT, mta

pytestmark = pytest.mark.browser
GET, POST = "GET", "POST"
COLD_START = [(GET, "offices-and-services/"), (GET, "captcha-details/"), (GET, "captcha-challenge/"),
              (POST, "captcha-verify/")]
AFTER_RESERVE = [(POST, "reserve-appointment/"), (POST, "update-appointment/"), (POST, "preconfirm-appointment/")]


def at(day: date, hhmm: str = "09:00") -> int:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return int(datetime.combine(day, time(hour, minute), BERLIN).timestamp())


def month_start(day: date, months_ahead: int) -> date:
    index = day.month - 1 + months_ahead
    return date(day.year + index // 12, index % 12 + 1, 1)


def book(server, replica, tmp_path, *args: str) -> dict:
    replica.requests.clear()
    done = mta(server, tmp_path, "book", "--service", "1063453", "--office", "102522", "--json", *args, *CONTACT)
    assert done.stdout, done.stderr
    return json.loads(done.stdout)


def flow_calls(replica) -> list[tuple[str, str]]:
    """The requests of the page walk (after the CLI's own catalogue check)."""
    calls = api_calls(replica)
    return calls[calls.index((GET, "offices-and-services/"), 1):]


def booked_day(result: dict) -> date:
    return datetime.fromisoformat(result["slotTime"]).date()  # Munich time


@pytest.fixture
def today(replica) -> date:
    replica.clock.unfreeze()
    return replica.clock.now_berlin().date()


def test_only_slots_two_months_ahead(server, replica, tmp_path, today) -> None:
    far = month_start(today, 2) + timedelta(days=4)
    replica.desk.add_slots(102522, [at(far), at(far, "10:00")])
    result = book(server, replica, tmp_path, "--to", (far + timedelta(days=30)).isoformat())
    assert result["outcome"] == "reserved", result["reason"]
    assert result["slotTime"].startswith(far.isoformat() + "T09:00")
    # "Weiter": today's window, the backend snaps to the far day; the page asks once more for that day
    assert flow_calls(replica) == COLD_START + [(GET, "available-calendar/")] * 2 + AFTER_RESERVE


def test_from_next_month_skips_this_months_days_without_reading_them(server, replica, tmp_path, today) -> None:
    soon = today + timedelta(days=1)
    this_month = soon.month == today.month
    if this_month:
        replica.desk.add_slots(102522, [at(soon), at(soon, "11:00")])
    nxt = month_start(today, 1)
    wanted = nxt + timedelta(days=9)
    replica.desk.add_slots(102522, [at(wanted, "08:30")])
    result = book(server, replica, tmp_path, "--from", nxt.isoformat(), "--to", (nxt + timedelta(days=40)).isoformat())
    assert result["outcome"] == "reserved", result["reason"]
    assert booked_day(result) == wanted
    # this month's day is shown by "Weiter" but not wanted; the chevron jumps to the wanted day (one request)
    calendars = 3 if this_month else 2
    assert flow_calls(replica) == COLD_START + [(GET, "available-calendar/")] * calendars + AFTER_RESERVE


def test_first_bookable_day_outside_the_time_window_a_later_day_matches(server, replica, tmp_path, today) -> None:
    first, later = today + timedelta(days=2), today + timedelta(days=4)
    replica.desk.add_slots(102522, [at(first, "08:00"), at(first, "08:30"), at(later, "14:00")])
    result = book(server, replica, tmp_path, "--time", "13:00-16:00")
    assert result["outcome"] == "reserved", result["reason"]
    assert booked_day(result) == later and result["slotTime"][11:16] == "14:00"
    # the first day's times came with "Weiter"; the later day costs one read (a tile, or the chevron)
    assert flow_calls(replica) == COLD_START + [(GET, "available-calendar/")] * 3 + AFTER_RESERVE


def test_three_weeks_lead_time(server, replica, tmp_path, today) -> None:
    first = today + timedelta(days=21)
    replica.desk.add_slots(102522, [at(first, "10:00"), at(first + timedelta(days=1), "10:00")])
    result = book(server, replica, tmp_path)
    assert result["outcome"] == "reserved", result["reason"]
    assert booked_day(result) == first
    assert flow_calls(replica) == COLD_START + [(GET, "available-calendar/")] * 2 + AFTER_RESERVE


def test_the_day_read_cap_is_a_named_outcome(server, replica, tmp_path, today) -> None:
    days = [today + timedelta(days=n) for n in range(1, 30) if (today + timedelta(days=n)).weekday() < 5][:8]
    replica.desk.add_slots(102522, [at(d, "08:00") for d in days])
    done = mta(server, tmp_path, "book", "--service", "1063453", "--office", "102522", "--json", "--time",
               "15:00-16:00", *CONTACT, extra_env={"MTA_MAX_DAY_READS": "3"})
    result = json.loads(done.stdout)
    assert done.returncode == 1
    assert result["outcome"] == "search_limit"
    assert "cap of 3 day reads" in result["reason"] and "MTA_MAX_DAY_READS" in result["reason"]
    calendars = [c for c in flow_calls(replica) if c == (GET, "available-calendar/")]
    assert len(calendars) == 2 + 3  # "Weiter" (two) and exactly the cap
    assert replica.desk.live_processes() == []
