"""One Chromium, many short-lived contexts (crawlee's BrowserPool idea, kept small).

Contexts are handed out for a job and retired after ``max_uses`` jobs, after
``max_age_s``, after an error, or when their captcha token runs out — for
freshness and bounded memory, never to look like someone else: the rate
budget is per site, so rotating contexts adds no requests. A Chromium that
crashed (or was killed) is relaunched on the next request for a context.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from loguru import logger
from playwright.async_api import Browser, BrowserContext, Page, Playwright

from .browser import launch_chromium, new_site_context
from .config import Settings


@dataclass
class PooledContext:
    context: BrowserContext
    created: float = field(default_factory=time.monotonic)
    uses: int = 0
    failed: bool = False
    closed: bool = False


CLOSE_TIMEOUT_S = 10.0
OPEN_TIMEOUT_S = 15.0


async def new_page(pooled: PooledContext) -> Page:
    """A page in a pooled context, bounded like every open/close of the pool."""
    return await asyncio.wait_for(pooled.context.new_page(), OPEN_TIMEOUT_S)


class BrowserPool:
    def __init__(self, playwright: Playwright, settings: Settings, max_uses: int = 50, max_age_s: float = 1800) -> None:
        self.playwright, self.settings = playwright, settings
        self.max_uses, self.max_age_s = max_uses, max_age_s
        self.browser: Browser | None = None
        self.launches = 0
        self.crash_relaunches = 0  # launches after a Chromium that was gone without being closed
        self.resting = False  # closed on purpose while no page was needed (``close_if_idle``)
        self.retired = 0
        self.open_contexts = 0  # handed out and not yet retired (a leak shows here)
        # One page prepares (load, captcha-details, challenge, verify) at a time: pages warming together
        # would interleave their requests in the rate budget and one could wait past its step timeout.
        self.warming = asyncio.Lock()
        self._browser_lock = asyncio.Lock()

    @property
    def alive(self) -> bool:
        return self.browser is not None and self.browser.is_connected()

    async def _ensure_browser(self) -> Browser:
        async with self._browser_lock:  # one launch at a time: two callers never start two Chromiums
            if not self.alive:
                if self.browser is not None:
                    logger.warning("Chromium is gone; relaunching")
                    self.crash_relaunches += 1
                self.browser = await launch_chromium(self.playwright, self.settings)
                self.launches += 1
                self.resting = False
            assert self.browser is not None
            return self.browser

    async def new_context(self) -> PooledContext:
        self.open_contexts += 1  # counted before the awaits: an idle close never takes the browser from under it
        try:
            browser = await self._ensure_browser()
            # bounded: opening on a browser that dies at that moment can wait forever (seen with Chromium killed)
            context = await asyncio.wait_for(new_site_context(browser), OPEN_TIMEOUT_S)
        except BaseException:
            self.open_contexts -= 1
            raise
        context.set_default_timeout(self.settings.step_timeout_s * 1000)
        return PooledContext(context)

    def worn(self, pooled: PooledContext) -> bool:
        return (pooled.failed or pooled.uses >= self.max_uses
                or time.monotonic() - pooled.created > self.max_age_s)

    async def retire(self, pooled: PooledContext | None) -> None:
        if pooled is None or pooled.closed:
            return
        pooled.closed = True
        self.retired += 1
        self.open_contexts -= 1
        try:
            # bounded: closing a context of a browser that was just killed can wait forever
            await asyncio.wait_for(pooled.context.close(), CLOSE_TIMEOUT_S)
        except Exception:  # noqa: BLE001 - the browser may already be gone
            pass

    async def close_if_idle(self) -> bool:
        """Close Chromium while no context is open (it is relaunched for the next one, ~0.5 s): between
        token renewals an agent without warm pages then holds no browser memory at all."""
        async with self._browser_lock:
            if self.open_contexts or self.browser is None or not self.settings.close_idle_browser:
                return False
            browser, self.browser = self.browser, None
            self.resting = True
        try:
            await asyncio.wait_for(browser.close(), CLOSE_TIMEOUT_S)
        except Exception:  # noqa: BLE001 - it may be gone already
            pass
        return True

    async def close(self) -> None:
        if self.browser is not None:
            try:
                await asyncio.wait_for(self.browser.close(), CLOSE_TIMEOUT_S)
            except Exception:  # noqa: BLE001
                pass
            self.browser = None
            self.open_contexts = 0
