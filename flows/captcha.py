"""Captcha handlers behind one interface, chosen by what the page shows.

- ALTCHA: tick "Ich bin kein Bot.", wait for the verified state, read the
  token from the page's own ``captcha-verify/`` answer.
- FriendlyCaptcha v1: start it and wait for the solution; when the widget
  refuses the automated browser (``.HEADLESS_ERROR``) stop with a handoff: the
  person finishes the step on their own device. The agent never alters the
  browser's identity to get past such a check.
- none: nothing to do.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Protocol

import jwt

from .locators import Resolver
from .network import ApiCapture
from .pages.base import site_stop


@dataclass(frozen=True)
class CaptchaResult:
    kind: str  # "solved" | "none" | "handoff" | "failed"
    token_expires_at: float | None = None
    reason: str = ""


class CaptchaHandler(Protocol):
    name: str

    async def solve(self) -> CaptchaResult: ...


def token_expiry(token: str | None) -> float | None:
    """The ``exp`` of a captcha JWT (read, not verified: the site verifies it)."""
    if not token:
        return None
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    exp = claims.get("exp")
    return float(exp) if isinstance(exp, (int, float)) else None


async def _verify_answer(capture: ApiCapture, since: int) -> CaptchaResult:
    """The site's answer to the solution; waited for as long as any answer (the rate budget may hold the
    request for up to its window)."""
    answer = await capture.next("captcha-verify/", since)
    body = answer.body if isinstance(answer.body, dict) else {}
    if (body.get("meta") or {}).get("success") is True:
        return CaptchaResult("solved", token_expiry(body.get("token")))
    return CaptchaResult("failed", reason=f"the site refused the captcha solution: {(body.get('meta') or {}).get('error')}")


class AltchaHandler:
    name = "altcha"

    def __init__(self, locate: Resolver, capture: ApiCapture, timeout: float = 90.0) -> None:
        self.locate, self.capture, self.timeout = locate, capture, timeout

    async def solve(self) -> CaptchaResult:
        since = self.capture.mark()
        await (await self.locate.find("altcha_checkbox")).click()
        deadline = time.monotonic() + self.timeout
        state = await self.locate.find("altcha_state")
        while time.monotonic() < deadline:
            current = await state.get_attribute("data-state")
            if current == "verified":
                return await _verify_answer(self.capture, since)
            if current in ("error", "expired"):
                return CaptchaResult("failed", reason=f"ALTCHA ended in state {current!r}")
            await asyncio.sleep(0.1)
        return CaptchaResult("failed", reason=f"ALTCHA not verified within {self.timeout:.0f} s")


class FriendlyCaptchaHandler:
    name = "friendlycaptcha"

    def __init__(self, locate: Resolver, capture: ApiCapture, timeout: float = 90.0, restarts: int = 2) -> None:
        self.locate, self.capture, self.timeout, self.restarts = locate, capture, timeout, restarts

    async def solve(self) -> CaptchaResult:
        since = self.capture.mark()
        for _ in range(self.restarts + 1):
            await (await self.locate.find("frc_start")).click()
            deadline = time.monotonic() + self.timeout
            while time.monotonic() < deadline:
                field = await self.locate.try_find("frc_solution")
                value = (await field.input_value()) if field is not None else ""
                if value == ".HEADLESS_ERROR":
                    return CaptchaResult(
                        "handoff",
                        reason="FriendlyCaptcha refuses automated browsers by design (its browser check "
                        "reported .HEADLESS_ERROR); the agent does not disguise itself",
                    )
                if value == ".EXPIRED":
                    break  # restart the widget
                if value == ".ERROR":
                    return CaptchaResult("failed", reason="FriendlyCaptcha reported an error")
                if value.count(".") == 3 and not value.startswith("."):
                    return await _verify_answer(self.capture, since)
                await asyncio.sleep(0.1)
            else:
                return CaptchaResult("failed", reason=f"FriendlyCaptcha not solved within {self.timeout:.0f} s")
        return CaptchaResult("failed", reason="FriendlyCaptcha puzzle kept expiring")


class NoCaptcha:
    name = "none"

    async def solve(self) -> CaptchaResult:
        return CaptchaResult("none")


def captcha_required(catalogue: object, service_id: int) -> bool:
    """As the city's page decides: a captcha when any office of the service requires one."""
    if not isinstance(catalogue, dict):
        return True
    offices = {r.get("officeId") for r in catalogue.get("relations", []) if r.get("serviceId") == service_id}
    return any(
        (o.get("scope") or {}).get("captchaActivatedRequired") for o in catalogue.get("offices", []) if o.get("id") in offices
    )


class CaptchaMissing(Exception):
    """The site says the service needs a captcha, yet no widget appeared: never go on without one."""


async def detect_captcha(locate: Resolver, capture: ApiCapture, service_id: int, since: int = 0,
                         widget_timeout: float = 15.0) -> CaptchaHandler:
    """Which captcha the service step shows.

    When the catalogue says an office of the service requires a captcha, the page asks
    ``captcha-details/`` and then shows the widget. Both are waited for: the answer however long the
    rate budget holds the request (the capture's timeout covers a whole budget window), then the
    widget. ``captchaEnabled: false`` means no captcha; anything else without a widget raises
    :class:`CaptchaMissing` instead of carrying on as if there were none.
    """
    catalogue = capture.latest("offices-and-services/")
    if not captcha_required(catalogue.body if catalogue else None, service_id):
        return NoCaptcha()
    try:
        details = await capture.next("captcha-details/", since)
    except TimeoutError as exc:
        raise TimeoutError(f"the site requires a captcha for service {service_id}, but the page got no "
                           f"captcha-details/ answer within {capture.timeout:.0f} s") from exc
    stop = site_stop(details)
    if stop is not None:
        raise stop  # rate limit, maintenance, failure: the site's trouble, said as such
    body = details.body if isinstance(details.body, dict) else None
    if details.status >= 400 or body is None:
        raise CaptchaMissing(f"the site's captcha-details/ answered HTTP {details.status}"
                             + (f" ({', '.join(details.error_codes)})" if details.error_codes else ""))
    if body.get("captchaEnabled") is False:
        return NoCaptcha()
    first = await locate.first_present(["altcha_widget", "frc_widget"], timeout=widget_timeout)
    if first == "altcha_widget":
        return AltchaHandler(locate, capture)
    if first == "frc_widget":
        return FriendlyCaptchaHandler(locate, capture)
    raise CaptchaMissing(f"the site requires a captcha for service {service_id}, but no captcha widget "
                         f"appeared within {widget_timeout:.0f} s of its captcha-details/ answer")
