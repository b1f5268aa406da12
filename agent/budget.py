"""One rate budget per target site, shared by every poll, captcha solve and booking.

Sliding windows, not a token bucket, so the promise is exact: in any
``window_s`` seconds at most ``requests`` requests go to the site's API,
except that bookings may use a burst allowance on top (a cold booking makes
~10 requests and must not wait on the sustained rate) — while in any
``site_window_s`` the total stays at or below half of the site's known limit.
Bookings have priority: while one waits, polls do not take a place.

A 429 / ``rateLimitExceeded`` opens the circuit: no request at all until the
site's ``X-RateLimit-Reset`` (or an exponential backoff without it) has
passed. The state is visible (``state()``) so the person is told it is a rate
limit, never "no slots".
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

BOOKING, POLL, CAPTCHA, CHECK = "booking", "poll", "captcha", "check"
# Windows are counted longer than configured: slack for the time a request
# travels (Chromium under a proof-of-work load was seen taking ~0.5 s to send
# one), so the site never sees more than the budget in its window.
TRANSIT_SLACK_S = 1.0


def transit_slack(window_s: float) -> float:
    """1 s, or a tenth of a compressed window."""
    return min(TRANSIT_SLACK_S, window_s / 10)


class CircuitOpen(Exception):
    def __init__(self, until: float, reason: str) -> None:
        super().__init__(f"rate limited until {time.strftime('%H:%M:%S', time.localtime(until))}: {reason}")
        self.until = until
        self.reason = reason


class BudgetError(ValueError):
    pass


@dataclass(frozen=True)
class BudgetConfig:
    requests: int = 6
    window_s: float = 60.0
    booking_burst: int = 12
    site_limit: int = 60
    site_window_s: float = 60.0
    backoff_s: float = 60.0
    backoff_max_s: float = 900.0

    def validate(self) -> None:
        site_rate = self.site_limit / self.site_window_s
        if self.requests / self.window_s > site_rate / 2 + 1e-9:
            raise BudgetError(f"a budget of {self.requests} per {self.window_s:g} s is above half of the site's "
                              f"known limit ({self.site_limit} per {self.site_window_s:g} s); not allowed")
        if self.requests < 1 or self.window_s <= 0:
            raise BudgetError("the budget needs at least one request per window")


class RateBudget:
    def __init__(self, config: BudgetConfig, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        config.validate()
        self.config = config
        self.clock, self.wall = clock, wall
        self.sent: deque[tuple[float, str]] = deque()
        self.open_until = 0.0  # wall time
        self.open_reason = ""
        self.backoff = config.backoff_s
        self.bookings_waiting = 0
        self.counts: dict[str, int] = {}
        self.refused = 0
        self._changed = asyncio.Event()

    # -- accounting ------------------------------------------------------------------
    def _count(self, seconds: float) -> int:
        horizon = self.clock() - seconds
        return sum(1 for t, _ in self.sent if t > horizon)

    def _prune(self) -> None:
        longest = max(self.config.window_s, self.config.site_window_s)
        horizon = self.clock() - longest - transit_slack(longest)
        while self.sent and self.sent[0][0] <= horizon:
            self.sent.popleft()

    def _allowed(self, kind: str) -> bool:
        c = self.config
        in_window = self._count(c.window_s + transit_slack(c.window_s))
        if kind == BOOKING:
            site_window = self._count(c.site_window_s + transit_slack(c.site_window_s))
            return in_window < c.requests + c.booking_burst and site_window < c.site_limit // 2
        return self.bookings_waiting == 0 and in_window < c.requests

    def _wait_time(self) -> float:
        if not self.sent:
            return 0.05
        window = self.config.window_s + transit_slack(self.config.window_s)
        oldest_in_window = next((t for t, _ in self.sent if t > self.clock() - window), self.clock())
        return max(0.02, oldest_in_window + window - self.clock())

    @property
    def circuit_open(self) -> bool:
        return self.wall() < self.open_until

    async def acquire(self, kind: str) -> tuple[float, str]:
        """Wait for a place in the budget; raise CircuitOpen while the site's rate limit holds.

        Returns the place, which :meth:`refund` gives back if the request is not sent after all. A place
        must be used at once: it counts from the moment it was taken."""
        if kind == BOOKING:
            self.bookings_waiting += 1
        try:
            while True:
                if self.circuit_open:
                    self.refused += 1
                    raise CircuitOpen(self.open_until, self.open_reason)
                self._prune()
                if self._allowed(kind):
                    place = (self.clock(), kind)
                    self.sent.append(place)
                    self.counts[kind] = self.counts.get(kind, 0) + 1
                    return place
                self._changed.clear()
                try:
                    await asyncio.wait_for(self._changed.wait(), timeout=self._wait_time())
                except asyncio.TimeoutError:
                    pass
        finally:
            if kind == BOOKING:
                self.bookings_waiting -= 1
                self._changed.set()

    def refund(self, place: tuple[float, str]) -> None:
        """Give back a place whose request was not sent (e.g. its token had to be renewed first)."""
        try:
            self.sent.remove(place)
        except ValueError:
            return
        self.counts[place[1]] = self.counts.get(place[1], 1) - 1
        self._changed.set()

    # -- what the site said -------------------------------------------------------------
    def observe(self, status: int, headers: Mapping[str, str], error_codes: list[str] | None = None) -> None:
        """Feed every answer of the site back: 429 opens the circuit, success closes the backoff."""
        limited = status == 429 or "rateLimitExceeded" in (error_codes or [])
        if not limited:
            if status < 500:
                self.backoff = self.config.backoff_s
            return
        now = self.wall()
        reset = _header(headers, "x-ratelimit-reset")
        until = now + self.backoff
        if reset is not None and reset > now:
            until = max(until, reset if reset > 1e9 else now + reset)  # Unix time or seconds
        self.open_until = max(self.open_until, until)
        self.open_reason = "the site answered 429 rateLimitExceeded"
        self.backoff = min(self.backoff * 2, self.config.backoff_max_s)
        self._changed.set()

    def state(self) -> dict:
        return {
            "circuit": "open" if self.circuit_open else "closed",
            "openUntil": self.open_until if self.circuit_open else None,
            "reason": self.open_reason if self.circuit_open else "",
            "inWindow": self._count(self.config.window_s),
            "budget": f"{self.config.requests}/{self.config.window_s:g}s (+{self.config.booking_burst} for bookings)",
            "sent": dict(self.counts),
            "refusedWhileOpen": self.refused,
        }


def _header(headers: Mapping[str, str], name: str) -> float | None:
    for key, value in headers.items():
        if key.lower() == name:
            try:
                return float(value)
            except (TypeError, ValueError):
                return None
    return None
