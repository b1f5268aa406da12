"""Every request a page sends to the site's API passes the rate budget (``page.route``).

The page decides what to send (it is the site's own code); the gate only
decides when, and feeds each answer back into the budget. A page's requests
count as the kind the agent is using it for (poll page, booking page).
"""

from __future__ import annotations

from playwright.async_api import Page, Request, Response, Route

from .budget import POLL, CircuitOpen, RateBudget


class PageGate:
    def __init__(self, budget: RateBudget, api_url: str, kind: str = POLL) -> None:
        self.budget = budget
        self.api_root = api_url.rstrip("/") + "/"
        self.kind = kind
        self.blocked = 0
        self.prepaid = 0  # requests whose place in the budget the caller already took

    async def attach(self, page: Page) -> None:
        await page.route(f"{self.api_root}**", self._route)
        page.on("response", self._on_response)

    async def _route(self, route: Route, request: Request) -> None:
        kind = "captcha" if "/captcha-" in request.url and self.kind == POLL else self.kind
        if self.prepaid > 0:
            self.prepaid -= 1
            await route.continue_()
            return
        try:
            await self.budget.acquire(kind)
        except CircuitOpen:
            self.blocked += 1
            await route.fulfill(status=429, content_type="application/json",
                                body='{"errors":[{"errorCode":"rateLimitExceeded","errorMessage":"agent: circuit open",'
                                     '"errorType":"error","statusCode":429}]}',
                                headers={"X-Agent-Circuit": "open"})
            return
        await route.continue_()

    def _on_response(self, response: Response) -> None:
        if not response.url.startswith(self.api_root) or response.headers.get("x-agent-circuit"):
            return
        self.budget.observe(response.status, response.headers)
