"""What a distinct query's poll asks and learns (spec §3b): an overview, then the times of some days.

One answer of ``available-calendar/`` lists the bookable days of its painted
months with their offices, and the free times of one day only. A poll asks for
the whole range (every month painted: every bookable day in one request), then
reads the times of up to ``MTA_POLL_DAY_READS`` candidate days, one request
each. All requests go out from the one poll page (``agent/poll_page.py``).
The query's state (slots seen, which day was read when) lives here; the slots
seen survive restarts through ``agent/releases.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from flows.pages.appointment_step import CalendarView

from .poll_page import PollPage
from .site_page import StreamKey

DayFilter = Callable[[date, set[int]], bool]
Slot = tuple[int, int]  # (officeId, unix seconds)


@dataclass
class PollResult:
    """What one poll learned: the bookable days with their offices, and the times of the days it read."""

    days: dict[date, set[int]]  # every bookable day of the range → offices with slots that day
    read: dict[date, set[Slot]]  # days whose times were read in this poll
    site_time: float  # the site's clock at the answer (Date header), else ours
    requests: int = 1

    @property
    def slots(self) -> set[Slot]:
        return {slot for slots in self.read.values() for slot in slots}


@dataclass
class QueryPoller:
    """One distinct query (service, count, offices), however many watches share it."""

    key: StreamKey
    day_reads: int = 2
    known: set[Slot] = field(default_factory=set)  # slots seen by the latest read of their day
    day_cache: dict[date, tuple[frozenset[int], float]] = field(default_factory=dict)  # day → (offices, read at)
    polls: int = 0
    requests: int = 0
    baseline: bool = False  # never polled before (not even in an earlier run): the first poll sets the baseline

    async def poll(self, page: PollPage, keys: Sequence[StreamKey], wanted: DayFilter | None = None) -> PollResult:
        """One check: the overview of the whole range (one request), then the times of up to ``day_reads``
        days that may hold a wanted slot (one request each).

        ``wanted(day, offices)`` says whether any watch of this query could want a slot that day. Days are
        read most urgent first (offices changed since their last read, then never read), with one place
        kept for the day read longest ago, so a slot released on a day that already had others is found
        in turn, even when other days change on every poll."""
        body = await page.calendar(self.key, keys)
        self.polls += 1
        self.requests += 1
        result = PollResult({}, {}, page.site_now())
        if body is None:
            self.day_cache.clear()
            return result
        view = CalendarView.of_body(body)
        result.days = {date.fromisoformat(d): offices for d, offices in view.offices_by_day.items()}
        if view.slot_day:
            self._remember(result, date.fromisoformat(view.slot_day), view.slots)
        for gone in [d for d in self.day_cache if d not in result.days]:
            del self.day_cache[gone]
        candidates = [d for d, offices in sorted(result.days.items())
                      if d not in result.read and (wanted is None or wanted(d, offices))]
        for day in self._days_to_read(candidates, result.days):
            day_body = await page.calendar(self.key, keys, day, day)
            result.requests += 1
            self.requests += 1
            if day_body is None:
                continue
            day_view = CalendarView.of_body(day_body)
            if day_view.slot_day == day.isoformat():
                self._remember(result, day, day_view.slots)
        result.site_time = page.site_now()
        return result

    def _remember(self, result: PollResult, day: date, slots: dict[int, list[int]]) -> None:
        result.read[day] = {(office, int(ts)) for office, stamps in slots.items() for ts in stamps}
        self.day_cache[day] = (frozenset(result.days.get(day, set())), time.monotonic())

    def _days_to_read(self, candidates: list[date], days: dict[date, set[int]]) -> list[date]:
        if self.day_reads <= 0 or not candidates:
            return []
        urgent = sorted(candidates, key=lambda d: self._read_priority(d, days[d]))
        oldest = sorted(candidates, key=lambda d: (self.day_cache[d][1] if d in self.day_cache else 0.0, d))
        if self.day_reads == 1:  # alternate between the two orders
            return [urgent[0] if self.polls % 2 else oldest[0]]
        chosen = urgent[:self.day_reads - 1]
        spare = next((d for d in oldest if d not in chosen), None)
        return chosen + ([spare] if spare is not None else [])

    def _read_priority(self, day: date, offices: set[int]) -> tuple[int, float, date]:
        cached = self.day_cache.get(day)
        if cached is None:
            return (1, 0.0, day)
        seen_offices, read_at = cached
        if set(seen_offices) != offices:
            return (0, read_at, day)
        return (2, read_at, day)
