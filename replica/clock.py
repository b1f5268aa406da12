"""The replica's clock: wall time by default, driven by tests.

Every time-dependent rule of the replica (token lifetime, rate window,
reservation and activation lapses, release schedules) reads this clock, so a
test can jump hours ahead in microseconds instead of sleeping.

The clock never runs behind wall time. The PyPI ``altcha`` package checks a
challenge's ``expiresAt`` against wall time, so a replica clock behind it
would make fresh challenges look expired.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")


class ReplicaClock:
    """Wall time plus an offset, optionally frozen, optionally sped up."""

    def __init__(self, speed: float = 1.0) -> None:
        if speed < 1.0:
            raise ValueError("clock speed must be >= 1.0 (the clock never falls behind wall time)")
        self._lock = threading.Lock()
        self._speed = speed
        self._anchor_wall = time.time()
        self._anchor_replica = self._anchor_wall
        self._frozen_at: float | None = None

    def now(self) -> float:
        """Replica time as Unix seconds."""
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return self._anchor_replica + (time.time() - self._anchor_wall) * self._speed

    def now_berlin(self) -> datetime:
        return datetime.fromtimestamp(self.now(), BERLIN)

    def advance(self, seconds: float) -> float:
        """Move the clock forward; returns the new time."""
        if seconds < 0:
            raise ValueError("the replica clock only moves forward")
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
                return self._frozen_at
            self._anchor_replica += seconds
        return self.now()

    def set(self, when: float | datetime) -> float:
        """Jump to an absolute moment (not before wall time)."""
        target = when.timestamp() if isinstance(when, datetime) else float(when)
        if target < time.time() - 1:
            raise ValueError("the replica clock cannot be set before wall time")
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = target
            else:
                self._anchor_wall = time.time()
                self._anchor_replica = target
        return target

    def freeze(self) -> float:
        """Stop the clock at its current reading (tests then move it with advance/set)."""
        current = self.now()
        with self._lock:
            self._frozen_at = current
        return current

    def unfreeze(self) -> None:
        """Run again from the frozen reading, or from wall time if that is later (frozen, the reading fell
        behind it)."""
        with self._lock:
            if self._frozen_at is None:
                return
            self._anchor_wall = time.time()
            self._anchor_replica = max(self._frozen_at, self._anchor_wall)
            self._frozen_at = None

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None
