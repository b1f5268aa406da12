"""One rate budget per target site, shared by every poll, captcha solve and booking of every agent process.

Two limits are kept, both exactly:

- **Our own pace** (sliding windows): in any ``window_s`` seconds at most ``requests`` requests, except that
  bookings may use a burst allowance on top (a cold booking makes ~10 requests and must not wait on the
  sustained rate), while in any ``site_window_s`` the total stays at or below half of the site's limit.
  Bookings have priority: while one waits, polls do not take a place.
- **The site's own counter**, modelled as the city's ``RateLimitingMiddleware`` keeps it: one counter per
  IP whose cache entry gets a fresh TTL (``site_window_s``) on every counted request, so it only returns to
  zero after a full TTL of silence. Steady polling below any per-minute rate still reaches the limit (6 per
  minute reach 60 after ten minutes). Before the counter nears the limit, polls stop for a *quiet gap* a
  little longer than the TTL; the last ``booking_burst + requests`` places below the limit stay free for a
  booking, so a gap never starts in the middle of one. The gap is taken early, while it costs nothing,
  when a learned release window is about to begin (``release_hint``). ``X-RateLimit-Remaining/Reset``
  answers correct the model (they also count requests this agent did not send, e.g. the person's own
  browser).

The books live in a ledger (:mod:`agent.budget_ledger`); the file ledger makes ``mta run``, ``mta book``,
``mta activate`` and ``mta cancel`` on one machine spend one budget.

A 429 / ``rateLimitExceeded`` opens the circuit: no request at all until the site's
``X-RateLimit-Reset`` (or an exponential backoff without it) has passed. The state is visible
(``state()``) so the person is told it is a rate limit or a quiet gap, never "no slots".
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from .budget_ledger import Books, FileLedger, MemoryLedger

BOOKING, POLL, CAPTCHA, CHECK = "booking", "poll", "captcha", "check"
# Windows are counted longer than configured: slack for the time a request
# travels (Chromium under a proof-of-work load was seen taking ~0.5 s to send
# one), so the site never sees more than the budget in its window.
TRANSIT_SLACK_S = 1.0
# A quiet gap taken before a release window ends at most this long before the window begins.
EARLY_GAP_LEAD_S = 30.0


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
    def __init__(self, config: BudgetConfig, ledger: MemoryLedger | FileLedger | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        config.validate()
        self.config = config
        self.ledger = ledger or MemoryLedger()
        self.clock = clock  # wall time: the books may be shared with other processes
        self.release_hint: Callable[[float], float | None] | None = None  # seconds to a release window (0: in one)
        self.bookings_waiting = 0
        self.counts: dict[str, int] = {}  # places this process took, by kind
        self.refused = 0  # places refused because the circuit was open
        self.waits = 0  # acquisitions that had to wait
        self.waited_s = 0.0
        self._changed = asyncio.Event()

    # -- the model --------------------------------------------------------------------------------
    @property
    def site_ttl(self) -> float:
        """How long the site's counter lives after the last counted request, plus the travel slack."""
        return self.config.site_window_s + transit_slack(self.config.site_window_s)

    @property
    def quiet_threshold(self) -> int:
        """Polls stop when the site's counter reaches this: the rest is kept for a booking."""
        c = self.config
        return max(1, c.site_limit - c.booking_burst - c.requests)

    @staticmethod
    def _site_count(books: Books, now: float) -> int:
        return books.site_count if now < books.site_lapse else 0

    def _quiet(self, books: Books, now: float) -> tuple[float, str]:
        """(until, why) of the quiet gap in force now; (0, "") when there is none."""
        count = self._site_count(books, now)
        if not count:
            return 0.0, ""
        until = books.site_lapse
        if count >= self.quiet_threshold:
            return until, (f"quiet gap: the site's counter is at {count} of {self.config.site_limit} and only "
                           f"resets after {self.config.site_window_s:g} s without requests")
        ahead = self.release_hint(now) if self.release_hint else None
        if ahead is not None and 0 < ahead <= self.site_ttl + EARLY_GAP_LEAD_S and count > self.config.requests:
            return until, "quiet gap taken early: a release window begins soon and should find the counter at zero"
        return 0.0, ""

    def _prune(self, books: Books, now: float) -> None:
        longest = max(self.config.window_s, self.config.site_window_s)
        horizon = now - longest - transit_slack(longest)
        while books.sent and books.sent[0][0] <= horizon:
            books.sent.pop(0)

    @staticmethod
    def _count(books: Books, now: float, seconds: float) -> int:
        return sum(1 for t, _ in books.sent if t > now - seconds)

    def _wait(self, books: Books, kind: str, now: float) -> float:
        """0 when ``kind`` may take a place now; otherwise how long to wait before asking again."""
        c = self.config
        window = c.window_s + transit_slack(c.window_s)
        in_window = self._count(books, now, window)
        if kind == BOOKING:
            if self._site_count(books, now) >= c.site_limit - 1:
                return max(0.02, books.site_lapse - now)  # even a booking waits for the site's counter
            site_window = self._count(books, now, c.site_window_s + transit_slack(c.site_window_s))
            if in_window < c.requests + c.booking_burst and site_window < c.site_limit // 2:
                return 0.0
        else:
            if self.bookings_waiting:
                return 0.05
            quiet_until, _ = self._quiet(books, now)
            if quiet_until > now:
                return quiet_until - now
            if in_window < c.requests:
                return 0.0
        oldest = next((t for t, _ in books.sent if t > now - window), now)
        return max(0.02, oldest + window - now)

    # -- taking and giving back places ------------------------------------------------------------------
    @property
    def open_until(self) -> float:
        with self.ledger.hold() as books:
            return books.open_until

    @property
    def circuit_open(self) -> bool:
        return self.clock() < self.open_until

    async def acquire(self, kind: str) -> tuple[float, str]:
        """Wait for a place in the budget; raise CircuitOpen while the site's rate limit holds.

        Returns the place, which :meth:`refund` gives back if the request is not sent after all. A place
        must be used at once: it counts from the moment it was taken."""
        if kind == BOOKING:
            self.bookings_waiting += 1
        started = self.clock()
        try:
            while True:
                with self.ledger.hold() as books:
                    now = self.clock()
                    if now < books.open_until:
                        self.refused += 1
                        raise CircuitOpen(books.open_until, books.open_reason)
                    self._prune(books, now)
                    wait = self._wait(books, kind, now)
                    if wait == 0:
                        place = (now, kind)
                        books.sent.append(place)
                        books.site_count = self._site_count(books, now) + 1
                        books.site_lapse = max(books.site_lapse, now + self.site_ttl)
                        self.counts[kind] = self.counts.get(kind, 0) + 1
                        if now - started > 0.05:
                            self.waits += 1
                            self.waited_s += now - started
                        return place
                self._changed.clear()
                # other processes change the books too: look again at least every second
                wait = min(wait, 1.0) if self.ledger.shared else wait
                try:
                    await asyncio.wait_for(self._changed.wait(), timeout=wait)
                except asyncio.TimeoutError:
                    pass
        finally:
            if kind == BOOKING:
                self.bookings_waiting -= 1
                self._changed.set()

    def wake(self) -> None:
        """Have waiting acquisitions look at the books again now (a driven clock, another process)."""
        self._changed.set()

    def refund(self, place: tuple[float, str]) -> None:
        """Give back a place whose request was not sent (e.g. its token had to be renewed first)."""
        with self.ledger.hold() as books:
            entry = (place[0], place[1])
            if entry not in books.sent:
                return
            books.sent.remove(entry)
            if books.site_count > 0:
                books.site_count -= 1
        self.counts[place[1]] = self.counts.get(place[1], 1) - 1
        self._changed.set()

    # -- what the site said -------------------------------------------------------------
    def observe(self, status: int, headers: Mapping[str, str], error_codes: list[str] | None = None) -> None:
        """Feed every answer of the site back: 429 opens the circuit, the rate headers correct the model."""
        limited = status == 429 or "rateLimitExceeded" in (error_codes or [])
        now = self.clock()
        reset = _header(headers, "x-ratelimit-reset")
        with self.ledger.hold() as books:
            if not limited:
                if status < 500:
                    books.backoff = 0.0
                self._correct(books, now, headers, reset)
                return
            backoff = books.backoff or self.config.backoff_s
            until = now + backoff
            if reset is not None and reset > 1e9:  # Unix time, read against the site's own clock when it says
                site_now = _date_header(headers)
                until = max(until, now + (reset - site_now) if site_now is not None else reset)
            elif reset is not None and reset > 0:  # seconds
                until = max(until, now + reset)
            books.open_until = max(books.open_until, until)
            books.open_reason = "the site answered 429 rateLimitExceeded"
            books.backoff = min(backoff * 2, self.config.backoff_max_s)
            books.site_count = self.config.site_limit
            books.site_lapse = max(books.site_lapse, books.open_until)
        self._changed.set()

    def _correct(self, books: Books, now: float, headers: Mapping[str, str], reset: float | None) -> None:
        """The site's own figures win over the model when they are worse: they also count what others sent
        from this IP, and its TTL may be longer than configured. ``X-RateLimit-Reset`` is read against the
        answer's ``Date`` (the site's clock), so a clock apart from ours does not matter."""
        remaining = _header(headers, "x-ratelimit-remaining")
        limit = _header(headers, "x-ratelimit-limit") or self.config.site_limit
        if remaining is None:
            return
        counted = max(0, int(limit) - int(remaining))
        if counted > self._site_count(books, now):
            books.site_count = counted
        site_now = _date_header(headers)
        if reset is not None and reset > 1e9 and site_now is not None:
            lapse_in = min(max(0.0, reset - site_now), 24 * 3600.0)
            books.site_lapse = max(books.site_lapse, now + lapse_in + transit_slack(self.config.site_window_s))

    def quiet_until(self) -> tuple[float, str]:
        """The quiet gap in force now (wall time, reason), or (0, "")."""
        with self.ledger.hold() as books:
            return self._quiet(books, self.clock())

    def site_count(self) -> int:
        with self.ledger.hold() as books:
            return self._site_count(books, self.clock())

    def sent_times(self, kind: str | None = None) -> list[float]:
        """When the places in the books were taken (all processes), oldest first."""
        with self.ledger.hold() as books:
            return [t for t, k in books.sent if kind is None or k == kind]

    def state(self) -> dict:
        now = self.clock()
        with self.ledger.hold() as books:
            is_open = now < books.open_until
            quiet, why = self._quiet(books, now)
            return {
                "circuit": "open" if is_open else "closed",
                "openUntil": books.open_until if is_open else None,
                "reason": books.open_reason if is_open else "",
                "inWindow": self._count(books, now, self.config.window_s),
                "limit": self.config.requests,
                "windowSeconds": self.config.window_s,
                "budget": f"{self.config.requests}/{self.config.window_s:g}s (+{self.config.booking_burst} for bookings)",
                "siteCounter": self._site_count(books, now),
                "siteLimit": self.config.site_limit,
                "quietUntil": quiet or None,
                "quietReason": why,
                "nextPlace": now + self._wait(books, POLL, now),  # when a poll may next be sent (budget only)
                "shared": self.ledger.shared,
                "sent": dict(self.counts),
                "refusedWhileOpen": self.refused,
            }


def http_date(value: str | None) -> float | None:
    """Unix time of an HTTP ``Date`` value (the site's clock); None when absent or unreadable."""
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def _date_header(headers: Mapping[str, str]) -> float | None:
    return http_date(next((v for k, v in headers.items() if k.lower() == "date"), None))


def _header(headers: Mapping[str, str], name: str) -> float | None:
    for key, value in headers.items():
        if key.lower() == name:
            try:
                return float(value)
            except (TypeError, ValueError):
                return None
    return None
