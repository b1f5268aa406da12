"""The agent's one captcha token per site, and every distinct query's poll sent with it.

The city's token is bound to the client's IP, not to a service or an office
(spec §4), so one token serves every ``available-calendar/`` request the agent
sends. It is earned the way a person earns it — a page of Debian's Chromium
loads the deep link and solves the captcha (``SitePage.prepare``) — or taken
from a warm page that holds a fresh one. Once the token is in hand the page is
closed: each poll is the page's own request (same URL and query, the token in
``captchaToken``) sent by a plain HTTP client from the same machine and IP.
Chromium then runs only while it is needed (a renewal once per token lifetime,
warm pages, bookings); with ``MTA_WARM_PAGES=0`` the agent idles at the memory
of the Python process alone. See docs/watcher.md ("Polling without a page").
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

import httpx

from flows.captcha import captcha_required
from flows.locators import SelectorBook
from flows.site_errors import SiteMeaning, describe, error_codes, meaning
from flows.timezone import berlin_day

from .budget import POLL, RateBudget, http_date
from .config import Settings
from .metrics import NULL_METRICS, Metrics
from .pool import BrowserPool
from .site_page import SitePage, SiteTrouble, StreamKey
from .states import Trouble


@dataclass(frozen=True)
class Token:
    """A captcha token and what came with it: when it expires (site time) and the site's catalogue."""

    value: str | None  # None: the site asked for no captcha
    expires_at: float | None  # site time; None: no expiry known
    catalogue_body: object

    def seconds_left(self, site_now: float) -> float:
        return float("inf") if self.expires_at is None else self.expires_at - site_now


def token_of(page: SitePage) -> Token:
    """The token a prepared page earned (its ``captcha-verify/`` answer) and its catalogue."""
    verify = page.flow.capture.latest("captcha-verify/")
    body = verify.body if verify and isinstance(verify.body, dict) else {}
    catalogue = page.flow.capture.latest("offices-and-services/")
    return Token(body.get("token"), page.catalogue.token_expires_at, catalogue.body if catalogue else None)


class PollPage:
    def __init__(self, settings: Settings, pool: BrowserPool, budget: RateBudget, book: SelectorBook,
                 metrics: Metrics = NULL_METRICS, borrow: Callable[[float], Token | None] | None = None) -> None:
        self.settings, self.pool, self.budget, self.book = settings, pool, budget, book
        self.metrics = metrics
        self.borrow = borrow  # a fresh token some warm page holds (no requests), if any
        self.token: Token | None = None
        self.site_offset = 0.0  # the site's clock minus ours (from its Date header)
        self.renewals = 0  # preparations (one per token lifetime when all is well)
        self.borrowed = 0  # tokens taken from warm pages instead
        self.upkeep_requests = 0  # requests those preparations sent
        self.polls = 0  # calendar requests sent
        self._refused: set[str] = set()  # tokens the site refused (not to be borrowed again)
        self._client = httpx.AsyncClient(timeout=settings.step_timeout_s, headers={"Accept": "application/json"})

    def site_now(self) -> float:
        return time.time() + self.site_offset

    def ready(self) -> bool:
        return self.token is not None and self.token.seconds_left(self.site_now()) > self.settings.token_refresh_margin_s

    def _key_to_prepare(self, keys: Sequence[StreamKey]) -> StreamKey:
        """A service whose page shows the captcha when any polled service needs one (the token is the same)."""
        services = [k.service_id for k in keys] or [0]
        body = self.token.catalogue_body if self.token else None
        with_captcha = [s for s in services if body is not None and captcha_required(body, s)]
        return StreamKey((with_captcha or services)[0], 1, ())

    async def ensure_ready(self, keys: Sequence[StreamKey]) -> None:
        """A token good for the renewal margin: borrowed from a warm page, or earned on a page of its own
        (one preparation), which is closed at once."""
        if self.ready():
            return
        borrowed = self.borrow(self.settings.token_refresh_margin_s) if self.borrow else None
        if borrowed is not None and borrowed.value in self._refused:
            borrowed = None  # the site refused that token once: a warm page still holding it does not lend it
        if borrowed is not None:
            self.token = borrowed
            self.borrowed += 1
            return
        self.token = None
        prepared = await SitePage.prepare(self._key_to_prepare(keys), self.settings, self.pool, self.budget,
                                          self.book, POLL, self.metrics.observer())
        try:
            self.token = token_of(prepared)
            fresh = self.ready()  # judged as earned: closing the page and Chromium below may take seconds
        finally:
            await prepared.retire(self.pool)
        await self.pool.close_if_idle()
        self.renewals += 1
        self.upkeep_requests += prepared.requests
        self._refused.clear()
        if not fresh:  # a fresh token already inside the margin: the settings cannot work
            raise SiteTrouble(Trouble.TOKEN, "a freshly earned captcha token expires within "
                              f"MTA_TOKEN_REFRESH_MARGIN_S ({self.settings.token_refresh_margin_s:g} s)")

    async def retire(self) -> None:
        """Forget the token (it was refused, or the agent stops polling)."""
        self.token = None

    async def close(self) -> None:
        self.token = None
        await self._client.aclose()

    def url(self, key: StreamKey, slots_start: date | None, slots_end: date | None) -> str:
        """The page's own query (start today, end as the page computes it, offices ascending, the token).
        The slots window is the caller's choice (see ``agent/poller.py``)."""
        assert self.token is not None
        today = berlin_day(self.site_now())
        end = page_end_date(today)
        offices = key.office_ids or tuple(self._offices_of(key.service_id))
        params = {
            "startDate": today.isoformat(), "endDate": end.isoformat(),
            "officeIds": ",".join(map(str, sorted(offices))), "serviceIds": str(key.service_id),
            "serviceCounts": str(key.count),
        }
        if self.token.value:
            params["captchaToken"] = self.token.value
        params["slotsStartDate"] = (slots_start or today).isoformat()
        params["slotsEndDate"] = (slots_end or end).isoformat()
        return self.settings.api_url.rstrip("/") + "/available-calendar/?" + urlencode(params)

    def _offices_of(self, service_id: int) -> list[int]:
        body = self.token.catalogue_body if self.token and isinstance(self.token.catalogue_body, dict) else {}
        relations = [r for r in body.get("relations", []) if isinstance(r, dict)]
        return sorted({r["officeId"] for r in relations if r.get("serviceId") == service_id and "officeId" in r})

    async def calendar(self, key: StreamKey, keys: Sequence[StreamKey], slots_start: date | None = None,
                       slots_end: date | None = None) -> dict | None:
        """One ``available-calendar/`` request for ``key``, inside the budget. The body, or None for no slots.

        The place in the budget is taken when the token is ready and used at once; if the wait for the
        place aged the token past the margin, the place is given back and the token renewed first."""
        while True:
            await self.ensure_ready(keys)
            place = await self.budget.acquire(POLL)
            if self.ready():
                break
            self.budget.refund(place)
        try:
            answer = await self._client.get(self.url(key, slots_start, slots_end))
        except httpx.HTTPError as exc:
            raise SiteTrouble(Trouble.SITE_ERROR, f"the site did not answer ({type(exc).__name__}: "
                              f"{str(exc) or 'no detail'})") from exc
        self.polls += 1
        try:
            body: object = answer.json()
        except ValueError:
            body = None
        status = answer.status_code
        self.budget.observe(status, answer.headers, error_codes(body))
        site_time = http_date(answer.headers.get("date"))
        if site_time is not None:
            self.site_offset = site_time - time.time()
        what = meaning(status, body)
        if what is SiteMeaning.OK and isinstance(body, dict):
            return body
        if what is SiteMeaning.NO_SLOTS:
            return None
        if what is SiteMeaning.CAPTCHA_REFUSED:
            if self.token is not None and self.token.value:
                self._refused.add(self.token.value)
            await self.retire()
            raise SiteTrouble(Trouble.TOKEN, f"the site refused the captcha token ({describe(status, body)})")
        trouble = {SiteMeaning.RATE_LIMITED: Trouble.RATE_LIMITED, SiteMeaning.MAINTENANCE: Trouble.MAINTENANCE,
                   SiteMeaning.BLOCKED: Trouble.BLOCKED}.get(what, Trouble.SITE_ERROR)
        raise SiteTrouble(trouble, describe(status, body))


def page_end_date(today: date) -> date:
    """The ``endDate`` the city's page sends: ``new Date(year, month + 6, day)`` with JavaScript's overflow
    (2026-08-31 → 2027-02-31 → 2027-03-03)."""
    index = today.month - 1 + 6
    first = date(today.year + index // 12, index % 12 + 1, 1)
    return first + timedelta(days=today.day - 1)
