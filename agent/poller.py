"""Polling the cheap way: the site's own ``available-calendar/`` request, issued from inside a
warm page of the site (same origin, cookies and captcha token as the page).

A stream serves one distinct query (service, count, offices), however many
watches share it. Its page is prepared once — deep link, count, captcha — and
then stays at the service step, ready to book: the captcha token is refreshed
shortly before it expires, outside any booking's hot path.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode

from playwright.async_api import Page

from flows.booking import BookingFlow, Catalogue, NullObserver, Target
from flows.pages.appointment_step import CalendarView
from flows.locators import SelectorBook
from flows.outcomes import FlowStop
from flows.request import BookingRequest, Contact
from flows.timezone import BERLIN

from .budget import POLL, RateBudget
from .config import Settings
from .gate import PageGate
from .pool import BrowserPool, PooledContext

POLL_SCRIPT = """async (url) => {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  return { status: response.status, body, date: response.headers.get("date") };
}"""

NOBODY = Contact("-", "-", "poll@invalid.example")


class SiteTrouble(Exception):
    """The poll got no usable answer (rate limit, maintenance, failure, refused token)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class StreamKey:
    service_id: int
    count: int
    office_ids: tuple[int, ...]

    def label(self) -> str:
        offices = ",".join(map(str, self.office_ids)) or "all offices"
        return f"service {self.service_id} ×{self.count} @ {offices}"


@dataclass
class PollResult:
    """What one poll learned: the bookable days with their offices, and the times of the days it read."""

    days: dict[date, set[int]]  # every bookable day of the range → offices with slots that day
    read: dict[date, set[tuple[int, int]]]  # days whose times were read in this poll → (officeId, unix)
    site_time: float  # the site's clock at the answer (Date header), else ours
    requests: int = 1

    @property
    def slots(self) -> set[tuple[int, int]]:
        return {slot for slots in self.read.values() for slot in slots}


DayFilter = Callable[[date, set[int]], bool]


def page_end_date(today: date) -> date:
    """The ``endDate`` the city's page sends: ``new Date(year, month + 6, day)`` with JavaScript's overflow
    (2026-08-31 → 2027-02-31 → 2027-03-03)."""
    index = today.month - 1 + 6
    first = date(today.year + index // 12, index % 12 + 1, 1)
    return first + timedelta(days=today.day - 1)


@dataclass
class PollStream:
    key: StreamKey
    settings: Settings
    pool: BrowserPool
    budget: RateBudget
    book: SelectorBook
    pooled: PooledContext | None = None
    page: Page | None = None
    gate: PageGate | None = None
    flow: BookingFlow | None = None
    catalogue: Catalogue | None = None
    site_offset: float = 0.0  # site clock minus ours
    known: set[tuple[int, int]] = field(default_factory=set)  # slots seen by the latest read of their day
    day_cache: dict[date, tuple[frozenset[int], float]] = field(default_factory=dict)  # day → (offices, read at)
    polls: int = 0
    warmups: int = 0

    @property
    def target(self) -> Target:
        return Target(self.settings.booking_url, self.settings.api_url)

    def template(self) -> BookingRequest:
        today = date.today()
        return BookingRequest(service_id=self.key.service_id, office_ids=self.key.office_ids, count=self.key.count,
                              date_from=today, date_to=today + timedelta(days=182), contact=NOBODY)

    def site_now(self) -> float:
        return time.time() + self.site_offset

    def _token_fresh(self) -> bool:
        if self.catalogue is None:
            return False
        expires = self.catalogue.token_expires_at
        return expires is None or expires - self.site_now() > self.settings.token_refresh_margin_s

    def _ready(self) -> bool:
        return (self.page is not None and not self.page.is_closed() and self.pool.alive and self._token_fresh()
                and self.pooled is not None and not self.pool.worn(self.pooled))

    async def ensure_warm(self) -> None:
        """A page prepared up to "Weiter" with a captcha token that will not expire soon."""
        if self._ready():
            return
        async with self.pool.warming:
            await self._prepare()

    async def _prepare(self) -> None:
        await self.retire()
        self.pooled = await self.pool.new_context()
        self.page = await self.pooled.context.new_page()
        self.gate = PageGate(self.budget, self.settings.api_url, POLL)
        await self.gate.attach(self.page)
        self.flow = BookingFlow(self.page, self.book, self.target, NullObserver(), control_timeout=self.settings.control_timeout_s,
                                api_timeout=self.settings.step_timeout_s + self.settings.budget_window_s)
        try:
            self.catalogue = await self.flow.prepare(self.template())
        except FlowStop as stop:
            await self.retire()
            raise SiteTrouble(stop.outcome.kind.value, stop.outcome.reason) from stop
        self.warmups += 1

    async def retire(self) -> None:
        await self.pool.retire(self.pooled)
        self.pooled = self.page = self.gate = self.flow = self.catalogue = None

    def poll_url(self, slots_start: date | None = None, slots_end: date | None = None) -> str:
        """The page's own query (start today, end as the page computes it, offices ascending, the token).

        The slots window is ours: by default the whole range, so the answer paints every month and lists
        every bookable day with its offices in one request (spec §3b); a single day reads that day's times.
        """
        assert self.catalogue is not None and self.flow is not None
        today = _berlin_today(self.site_now())
        end = page_end_date(today)
        offices = self.key.office_ids or tuple(self.catalogue.offices_of_service)
        params = {
            "startDate": today.isoformat(), "endDate": end.isoformat(),
            "officeIds": ",".join(map(str, sorted(offices))), "serviceIds": str(self.key.service_id),
            "serviceCounts": str(self.key.count),
        }
        token = self._token()
        if token:
            params["captchaToken"] = token
        params["slotsStartDate"] = (slots_start or today).isoformat()
        params["slotsEndDate"] = (slots_end or end).isoformat()
        return self.settings.api_url.rstrip("/") + "/available-calendar/?" + urlencode(params)

    def _token(self) -> str | None:
        assert self.flow is not None
        answer = self.flow.capture.latest("captcha-verify/")
        body = answer.body if answer and isinstance(answer.body, dict) else {}
        return body.get("token")

    async def _ask(self, slots_start: date | None = None, slots_end: date | None = None) -> dict | None:
        """One ``available-calendar/`` request from the warm page, inside the budget.

        The place in the budget is taken *before* the token is judged fresh: a wait in the budget (up
        to a window) must not let the token expire on the way. Returns the body, ``None`` for no slots."""
        while True:
            await self.ensure_warm()
            place = await self.budget.acquire(POLL)
            if self._ready():
                break
            # The wait aged the token (or lost the page): renewing uses its own places, and this one is
            # given back, since a place counts from when it was taken and must be used at once.
            self.budget.refund(place)
        assert self.page is not None and self.pooled is not None and self.gate is not None
        self.gate.prepaid = 1
        try:
            answer = await self.page.evaluate(POLL_SCRIPT, self.poll_url(slots_start, slots_end))
        finally:
            self.gate.prepaid = 0
        self.pooled.uses += 1
        if answer.get("date"):
            self.site_offset = (_date_header(answer.get("date")) or time.time()) - time.time()
        status, body = int(answer["status"]), answer.get("body")
        codes = [e.get("errorCode") for e in body.get("errors", [])] if isinstance(body, dict) else []
        if status == 429 or "rateLimitExceeded" in codes:
            raise SiteTrouble("rate_limited", "the site's rate limit (429)")
        if status == 503 or "serviceUnavailable" in codes:
            raise SiteTrouble("site_error", "the site is in maintenance")
        if {"captchaMissing", "captchaInvalid", "captchaExpired"} & set(codes):
            await self.retire()
            raise SiteTrouble("token", f"the site refused the captcha token ({', '.join(codes)})")
        if status >= 500 or body is None:
            self.pooled.failed = True
            raise SiteTrouble("site_error", f"the site failed (HTTP {status})")
        if "noAppointmentForThisScope" in codes:
            return None
        if codes:
            raise SiteTrouble("site_error", ", ".join(codes))
        return body

    async def poll(self, wanted: DayFilter | None = None) -> PollResult:
        """One check: the overview of the whole range (one request), then the times of up to
        ``poll_day_reads`` days that may hold a wanted slot (one request each).

        ``wanted(day, offices)`` says whether any watch of this stream could want a slot that day. Days
        are read in this order: new or changed (offices differ from what the last read saw), never read,
        then the longest unread — so every candidate day is re-read in turn and a slot released on a day
        that already had others is found too (within ``candidates / poll_day_reads`` polls)."""
        body = await self._ask()
        self.polls += 1
        result = PollResult({}, {}, self.site_now())
        if body is None:
            self.day_cache.clear()
            return result
        view = CalendarView.of(_Answer(body))
        result.days = {date.fromisoformat(d): offices for d, offices in view.offices_by_day.items()}
        if view.slot_day:
            self._remember(result, date.fromisoformat(view.slot_day), view.slots, result.days)
        for gone in [d for d in self.day_cache if d not in result.days]:
            del self.day_cache[gone]
        candidates = [d for d, offices in sorted(result.days.items())
                      if d not in result.read and (wanted is None or wanted(d, offices))]
        for day in self._days_to_read(candidates, result.days):
            day_body = await self._ask(day, day)
            result.requests += 1
            if day_body is None:
                continue
            day_view = CalendarView.of(_Answer(day_body))
            if day_view.slot_day == day.isoformat():
                self._remember(result, day, day_view.slots, result.days)
        result.site_time = self.site_now()
        return result

    def _remember(self, result: PollResult, day: date, slots: dict[int, list[int]], days: dict[date, set[int]]) -> None:
        result.read[day] = {(office, int(ts)) for office, stamps in slots.items() for ts in stamps}
        self.day_cache[day] = (frozenset(days.get(day, set())), time.monotonic())

    def _days_to_read(self, candidates: list[date], days: dict[date, set[int]]) -> list[date]:
        """Up to ``poll_day_reads`` days: the most urgent (changed, never read), and one place kept for the
        day read longest ago, so days that change on every poll cannot starve the stable ones."""
        budget = self.settings.poll_day_reads
        if budget <= 0 or not candidates:
            return []
        urgent = sorted(candidates, key=lambda d: self._read_priority(d, days[d]))
        oldest = sorted(candidates, key=lambda d: (self.day_cache[d][1] if d in self.day_cache else 0.0, d))
        if budget == 1:  # alternate between the two orders
            return [urgent[0] if self.polls % 2 else oldest[0]]
        chosen = urgent[:budget - 1]
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


@dataclass(frozen=True)
class _Answer:
    """An in-page poll's body in the shape the flow's calendar reader takes."""

    body: object


def _berlin_today(unix: float) -> date:
    return datetime.fromtimestamp(unix, BERLIN).date()


def _date_header(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
