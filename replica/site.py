"""The replica as one object: its settings, clock, data and switches.

Tests and the scenario API drive the replica through this object; the HTTP
layer (``replica/app.py``) only translates requests into calls on it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from .bookings import BookingDesk
from .captcha import CaptchaService
from .catalog import Catalog, munich_catalog
from .clock import BERLIN, ReplicaClock
from .ratelimit import RateLimiter
from .records import Outbox, RequestLog
from .settings import ReplicaSettings


@dataclass
class Switches:
    """Operational states of the site that tests can flip."""

    maintenance: bool = False
    blacklisted_ips: set[str] = field(default_factory=set)
    max_body_bytes: int = 64 * 1024


class Replica:
    def __init__(self, settings: ReplicaSettings | None = None, catalog: Catalog | None = None) -> None:
        self.settings = settings or ReplicaSettings()
        self.clock = ReplicaClock(speed=self.settings.clock_speed)
        self.catalog = catalog or munich_catalog()
        self.desk = BookingDesk(self.settings, self.clock, self.catalog)
        self.captcha = CaptchaService(self.settings, self.clock)
        self.limiter = RateLimiter(self.clock, self.settings.rate_limit, self.settings.rate_window_s)
        self.requests = RequestLog()
        self.outbox = Outbox()
        self.switches = Switches()
        if not self.settings.captcha_enabled:
            for office in self.catalog.offices.values():
                office.captcha_required = False

    def set_captcha_required(self, required: bool, office_ids: list[int] | None = None) -> None:
        for office in self.catalog.offices.values():
            if office_ids is None or office.id in office_ids:
                office.captcha_required = required

    def seed_slots(self, days: int = 21, per_day: int = 3, seed: int = 7) -> int:
        """Release a reproducible scatter of slots over the next ``days`` working days."""
        rng = random.Random(seed)
        start = self.clock.now_berlin().date()
        count = 0
        for office in self.catalog.offices.values():
            for offset in range(1, days + 1):
                day = start + timedelta(days=offset)
                if day.weekday() >= 5:
                    continue
                stamps = set()
                for _ in range(per_day):
                    minute = rng.randrange(7 * 60 + 30, 17 * 60, office.slot_minutes)
                    moment = datetime.combine(day, time(minute // 60, minute % 60), BERLIN)
                    stamps.add(int(moment.timestamp()))
                self.desk.add_slots(office.id, sorted(stamps))
                count += len(stamps)
        return count

    def reset(self) -> None:
        """Forget processes, slots, logs, mails, counters and switches (catalogue stays)."""
        with self.desk.lock:
            self.desk.slots.clear()
            self.desk.processes.clear()
        self.requests.clear()
        self.outbox.clear()
        self.limiter.reset()
        self.switches = Switches()
        self.captcha.token_lifetime_override = None
