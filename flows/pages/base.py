"""What every step page shares: the resolver, the API capture, and the site's error states."""

from __future__ import annotations

from dataclasses import dataclass

from playwright.async_api import Page

from ..locators import Resolver
from ..network import ApiAnswer, ApiCapture, WrongApi
from ..outcomes import FlowStop, Outcome, OutcomeKind
from ..site_errors import SiteMeaning, describe, meaning

class CaptchaExpired(Exception):
    """The site refused the captcha token mid-flow: solve again."""


def site_stop(answer: ApiAnswer) -> FlowStop | None:
    """The flow-ending outcome an API answer implies, if any (never "no slots" for a rate limit)."""
    what = meaning(answer.status, answer.body)
    if what is SiteMeaning.RATE_LIMITED:
        return FlowStop(Outcome(OutcomeKind.RATE_LIMITED, describe(answer.status, answer.body)))
    if what.is_site_trouble:
        reason = describe(answer.status, answer.body)
        if what is SiteMeaning.FAILURE:
            reason = f"the site failed ({answer.endpoint} answered {answer.status})"
        return FlowStop(Outcome(OutcomeKind.SITE_ERROR, reason))
    return None


@dataclass
class StepPage:
    page: Page
    locate: Resolver
    capture: ApiCapture

    def check(self, answer: ApiAnswer) -> ApiAnswer:
        """Raise the outcome an error answer implies; return the answer otherwise."""
        stop = site_stop(answer)
        if stop is not None:
            raise stop
        if meaning(answer.status, answer.body) is SiteMeaning.CAPTCHA_REFUSED:
            raise CaptchaExpired(", ".join(answer.error_codes))
        return answer

    async def load(self, url: str, endpoint: str, send_timeout: float | None = None) -> ApiAnswer:
        """Open ``url`` and return the answer to the ``endpoint`` request the page sends as it loads.

        A page that talks to another API than the agent's (or sends nothing within ``send_timeout``) ends
        the flow at once with a reason naming both, instead of a long wait for an answer that cannot come."""
        since, asked = self.capture.mark(), self.capture.asked()
        await self.page.goto(url)
        try:
            return await self.capture.answer_to_load(endpoint, since, asked, send_timeout)
        except WrongApi as wrong:
            raise FlowStop(Outcome(OutcomeKind.SITE_ERROR, f"{wrong}; nothing was done")) from wrong

    async def site_state(self) -> FlowStop | None:
        """The site's own error pages, if one is shown."""
        shown = await self.locate.first_present(["maintenance_page", "failure_page", "rate_limit_notice"], timeout=0)
        if shown == "maintenance_page":
            return FlowStop(Outcome(OutcomeKind.SITE_ERROR, "the site shows its maintenance page"))
        if shown == "failure_page":
            return FlowStop(Outcome(OutcomeKind.SITE_ERROR, "the site shows its system-failure page"))
        if shown == "rate_limit_notice":
            return FlowStop(Outcome(OutcomeKind.RATE_LIMITED, "the site shows its rate-limit notice"))
        return None
