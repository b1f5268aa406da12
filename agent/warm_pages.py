"""A capped set of pages kept ready to book, each handed to one holder at a time.

A warm page is prepared up to "Weiter" for one query (deep link, count,
captcha): a booking on it skips the load and the proof-of-work and holds a
slot in about a second. At most ``MTA_WARM_PAGES`` exist (each costs
~150 MiB of Chromium and its own captcha token per lifetime), given to the
queries most likely to need one: queries with auto-book watches, in or near a
learned release window (or, before anything is learned, the ones with the most
auto-book watches). Other queries book cold.

Ownership: :meth:`WarmPages.take` removes the page from the set and hands it
to the booking, which uses it up; the next :meth:`maintain` prepares a fresh
one. Preparing happens one page at a time and within the budget.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from loguru import logger
from playwright.async_api import Error as PlaywrightError

from flows.locators import SelectorBook
from flows.network import PageGone

from .budget import POLL, RateBudget
from .config import Settings
from .metrics import NULL_METRICS, Metrics
from .poll_page import Token, token_of
from .pool import BrowserPool
from .site_page import SitePage, SiteTrouble, StreamKey
from .tracing import start_trace


class WarmPages:
    def __init__(self, settings: Settings, pool: BrowserPool, budget: RateBudget, book: SelectorBook,
                 site_now=time.time, metrics: Metrics = NULL_METRICS) -> None:
        self.settings, self.pool, self.budget, self.book = settings, pool, budget, book
        self.metrics = metrics
        self.cap = settings.warm_pages
        self.site_now = site_now
        self.pages: dict[StreamKey, SitePage] = {}
        self.wanted: list[StreamKey] = []
        self.prepared = 0  # preparations so far
        self.upkeep_requests = 0

    def want(self, ranked: Sequence[StreamKey]) -> None:
        """The queries that should have a warm page, most likely first (only the first ``cap`` get one)."""
        self.wanted = list(ranked)[:self.cap]

    def _fresh(self, page: SitePage) -> bool:
        return page.usable(self.pool, self.site_now(), self.settings.warm_token_margin_s)

    async def maintain(self) -> None:
        """Retire pages no longer wanted or going stale; prepare the missing ones (one at a time)."""
        for key in [k for k, p in self.pages.items() if k not in self.wanted or not self._fresh(p)]:
            await self.pages.pop(key).retire(self.pool)
        for key in self.wanted:
            if key in self.pages:
                continue
            try:
                page = await SitePage.prepare(key, self.settings, self.pool, self.budget, self.book, POLL,
                                              self.metrics.observer())
            except SiteTrouble as trouble:
                logger.info("no warm page for {}: {}", key.label(), trouble)
                return
            except (PageGone, PlaywrightError, TimeoutError) as failed:  # the browser's trouble: next round
                logger.info("no warm page for {} this time: {}", key.label(),
                            (str(failed).splitlines() or [type(failed).__name__])[0])
                return
            self.prepared += 1
            self.upkeep_requests += page.requests
            if self.settings.trace_attempts:
                await _trace_from_now(page, self.settings.trace_screenshots)
            if key in self.wanted and key not in self.pages:
                self.pages[key] = page
            else:
                await page.retire(self.pool)

    def lend_token(self, margin_s: float) -> Token | None:
        """The freshest token a warm page holds, if it is good for ``margin_s`` more seconds: the poller
        uses it instead of earning its own (the token is the IP's, not the page's). The page keeps it."""
        now = self.site_now()
        fresh = [p for p in self.pages.values() if p.usable(self.pool, now, margin_s)]
        if not fresh:
            return None
        return token_of(max(fresh, key=lambda p: p.token_seconds_left(now)))

    def take(self, key: StreamKey) -> SitePage | None:
        """Hand the query's warm page to a booking (it is no longer in the set), if a fresh one exists."""
        page = self.pages.get(key)
        if page is None or not self._fresh(page):
            return None
        return self.pages.pop(key)

    async def close(self) -> None:
        for page in self.pages.values():
            await page.retire(self.pool)
        self.pages.clear()


async def _trace_from_now(page: SitePage, screenshots: bool) -> None:
    """Trace the page from its ready state: the booking's steps are recorded, the solve (done) is not,
    and starting a trace (~0.1 s) stays out of the booking's hot path."""
    try:
        await start_trace(page.pooled.context, 0, screenshots)
        page.tracing = True
    except PlaywrightError:
        pass
