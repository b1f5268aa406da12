"""Per-IP rate limit with the semantics of the city's RateLimitingMiddleware.

The city keeps, per IP, a counter and the time of the last counted request in
a cache entry that expires ``window`` seconds after that request. At
``limit`` counted requests further ones get 429 ``rateLimitExceeded`` (not
counted) until the entry expires. Headers on success: ``X-RateLimit-Limit``,
``X-RateLimit-Remaining``, ``X-RateLimit-Reset`` (Unix seconds). The replica
also sends them on the 429 (the issue asks for it; the city's code does not):
clients must not depend on them being present there.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .clock import ReplicaClock


@dataclass
class _Entry:
    count: int
    last: float


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


class RateLimiter:
    def __init__(self, clock: ReplicaClock, limit: int, window_s: float) -> None:
        self.clock = clock
        self.limit = limit
        self.window_s = window_s
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def hit(self, ip: str) -> RateDecision:
        now = self.clock.now()
        with self._lock:
            entry = self._entries.get(ip)
            if entry is not None and now >= entry.last + self.window_s:
                entry = None
            if entry is None:
                entry = self._entries[ip] = _Entry(count=1, last=now)
            elif entry.count >= self.limit:
                return RateDecision(False, self.limit, 0, int(entry.last + self.window_s))
            else:
                entry.count += 1
                entry.last = now
            remaining = max(0, self.limit - entry.count)
            return RateDecision(True, self.limit, remaining, int(entry.last + self.window_s))

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()
