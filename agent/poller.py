"""Polling the cheap way: the site's own ``available-calendar/`` request, issued from inside a
warm page of the site (same origin, cookies and captcha token as the page).

A stream serves one distinct query (service, count, offices), however many
watches share it. Its page is prepared once — deep link, count, captcha — and
then stays at the service step, ready to book: the captcha token is refreshed
shortly before it expires, outside any booking's hot path.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode

from playwright.async_api import Page

from flows.booking import BookingFlow, Catalogue, NullObserver, Target
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
    slots: set[tuple[int, int]]  # (officeId, unix seconds)
    site_time: float  # the site's clock at the answer (Date header), else ours


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
    known: set[tuple[int, int]] = field(default_factory=set)
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

    async def ensure_warm(self) -> None:
        """A page prepared up to "Weiter" with a captcha token that will not expire soon."""
        if (self.page is not None and not self.page.is_closed() and self.pool.alive and self._token_fresh()
                and self.pooled is not None and not self.pool.worn(self.pooled)):
            return
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

    def poll_url(self) -> str:
        assert self.catalogue is not None and self.flow is not None
        today = _berlin_today(self.site_now())
        end = today + timedelta(days=182)
        offices = self.key.office_ids or tuple(self.catalogue.offices_of_service)
        params = {
            "startDate": today.isoformat(), "endDate": end.isoformat(),
            "officeIds": ",".join(map(str, sorted(offices))), "serviceIds": str(self.key.service_id),
            "serviceCounts": str(self.key.count),
        }
        token = self._token()
        if token:
            params["captchaToken"] = token
        params["slotsStartDate"], params["slotsEndDate"] = today.isoformat(), end.isoformat()
        return self.settings.api_url.rstrip("/") + "/available-calendar/?" + urlencode(params)

    def _token(self) -> str | None:
        assert self.flow is not None
        answer = self.flow.capture.latest("captcha-verify/")
        body = answer.body if answer and isinstance(answer.body, dict) else {}
        return body.get("token")

    async def poll(self) -> PollResult:
        """One check. The place in the budget is taken *before* the token is judged fresh:
        a wait in the budget (up to a window) must not let the token expire on the way."""
        await self.ensure_warm()
        await self.budget.acquire(POLL)
        await self.ensure_warm()  # the wait may have aged the token; renewing uses its own places
        assert self.page is not None and self.pooled is not None and self.gate is not None
        self.gate.prepaid = 1
        try:
            answer = await self.page.evaluate(POLL_SCRIPT, self.poll_url())
        finally:
            self.gate.prepaid = 0
        self.polls += 1
        self.pooled.uses += 1
        site_time = _date_header(answer.get("date")) or time.time()
        self.site_offset = site_time - time.time() if answer.get("date") else self.site_offset
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
            return PollResult(set(), site_time)
        if codes:
            raise SiteTrouble("site_error", ", ".join(codes))
        slots = {
            (int(office["officeId"]), int(ts))
            for day in body.get("availableDays", [])
            for office in day.get("offices", [])
            for ts in office.get("appointments", [])
        }
        return PollResult(slots, site_time)


def _berlin_today(unix: float) -> date:
    return datetime.fromtimestamp(unix, BERLIN).date()


def _date_header(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
