"""A page of the site prepared up to "Weiter": deep link, count, captcha solved — with its own wear.

The poll page (``agent/poll_page.py``) and the warm booking pages
(``agent/warm_pages.py``) are both such pages. Each has exactly one owner at a
time; every request it sends passes the rate budget through its gate. Like
crawlee's ``Session``, a page knows its own wear (uses, age, failures) and
when its captcha token runs out, and says when it should be retired.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

from loguru import logger
from playwright.async_api import Page

from flows.booking import BookingFlow, BookingObserver, Catalogue, NullObserver, Target
from flows.locators import SelectorBook
from flows.outcomes import FlowStop
from flows.request import BookingRequest, Contact

from .budget import RateBudget
from .config import Settings
from .gate import PageGate
from .pool import BrowserPool, PooledContext, new_page
from .states import Trouble

NOBODY = Contact("-", "-", "poll@invalid.example")


class SiteTrouble(Exception):
    """The site gave no usable answer (rate limit, maintenance, failure, refused token)."""

    def __init__(self, kind: Trouble, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def flow_on(page: Page, settings: Settings, book: SelectorBook) -> BookingFlow:
    """The booking flow for a page of the configured site. An answer may wait in the rate budget for a
    whole window on top of the step's own timeout."""
    return BookingFlow(page, book, Target(settings.booking_url, settings.api_url), NullObserver(),
                       control_timeout=settings.control_timeout_s,
                       api_timeout=settings.step_timeout_s + settings.budget_window_s,
                       step_timeout=settings.step_timeout_s)


@dataclass(frozen=True)
class StreamKey:
    """One distinct query: what a poll asks for (any number of watches share it)."""

    service_id: int
    count: int
    office_ids: tuple[int, ...]

    @property
    def id(self) -> str:
        """A stable text key (scheduler jobs, the query's saved state)."""
        return f"{self.service_id}:{self.count}:{','.join(map(str, self.office_ids))}"

    def label(self) -> str:
        offices = ",".join(map(str, self.office_ids)) or "all offices"
        return f"service {self.service_id} ×{self.count} @ {offices}"

    def template(self) -> BookingRequest:
        """The page a booking for this query needs (no person: preparing never reaches the contact step)."""
        today = date.today()
        return BookingRequest(service_id=self.service_id, office_ids=self.office_ids, count=self.count,
                              date_from=today, date_to=today + timedelta(days=182), contact=NOBODY)


@dataclass
class SitePage:
    """One prepared page: its context, page, gate and flow, and what it learned while preparing."""

    key: StreamKey
    pooled: PooledContext
    page: Page
    gate: PageGate
    flow: BookingFlow
    catalogue: Catalogue
    prepared_at: float = field(default_factory=time.time)
    requests: int = 0  # sent while preparing (the token's upkeep)
    tracing: bool = False  # a Playwright trace runs since the page became ready

    @classmethod
    async def prepare(cls, key: StreamKey, settings: Settings, pool: BrowserPool, budget: RateBudget,
                      book: SelectorBook, kind: str, observer: BookingObserver | None = None) -> SitePage:
        """Load the deep link, set the count, solve the captcha — one page at a time (``pool.warming``):
        pages preparing together would interleave their requests in the budget."""
        async with pool.warming:
            pooled = await pool.new_context()
            try:
                page = await new_page(pooled)
                gate = PageGate(budget, settings.api_url, kind)
                await gate.attach(page)
                flow = flow_on(page, settings, book)
                if observer is not None:
                    flow.observer = observer  # metrics of the preparation (steps, captcha)
                # bounded as a whole: a browser that dies mid-way must not hold the pool's lock forever
                limit = 4 * (settings.step_timeout_s + settings.budget_window_s)
                catalogue = await asyncio.wait_for(flow.prepare(key.template()), limit)
            except FlowStop as stop:
                await pool.retire(pooled)
                raise SiteTrouble(_trouble_of(stop), stop.outcome.reason) from stop
            except BaseException:
                await pool.retire(pooled)
                raise
        prepared = cls(key, pooled, page, gate, flow, catalogue, requests=len(flow.capture.answers))
        logger.debug("prepared a page for {} ({} requests)", key.label(), prepared.requests)
        return prepared

    def token_seconds_left(self, site_now: float) -> float:
        expires = self.catalogue.token_expires_at
        return float("inf") if expires is None else expires - site_now

    def usable(self, pool: BrowserPool, site_now: float, margin_s: float) -> bool:
        """Alive, not worn, and its token (if any) good for ``margin_s`` more seconds."""
        return (not self.page.is_closed() and self.flow.capture.gone is None and pool.alive
                and not pool.worn(self.pooled)
                and self.token_seconds_left(site_now) > margin_s)

    async def retire(self, pool: BrowserPool) -> None:
        await pool.retire(self.pooled)


def _trouble_of(stop: FlowStop) -> Trouble:
    kind = stop.outcome.kind.value
    return {"rate_limited": Trouble.RATE_LIMITED, "captcha_handoff": Trouble.HANDOFF}.get(kind, Trouble.SITE_ERROR)
