"""The replica as one object: its settings, clock, data and switches.

Tests and the scenario API drive the replica through this object; the HTTP
layer (``replica/app.py``) only translates requests into calls on it.
"""

from __future__ import annotations

import random
from time import time as wall_time
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from .bookings import BookingDesk, Release
from .captcha import CaptchaService
from .faults import Faults
from .friendly import FriendlyCaptcha
from .catalog import Catalog, munich_catalog
from .clock import BERLIN, ReplicaClock
from .ratelimit import RateLimiter
from .mail import deliver
from .records import Delivery, Outbox, RequestLog
from .settings import ReplicaSettings


@dataclass
class Switches:
    """Operational states of the site that tests can flip."""

    maintenance: bool = False
    blacklisted_ips: set[str] = field(default_factory=set)
    max_body_bytes: int = 64 * 1024
    redesign: dict | None = None  # see replica/variant.py


class Replica:
    def __init__(self, settings: ReplicaSettings | None = None, catalog: Catalog | None = None) -> None:
        self.settings = settings or ReplicaSettings()
        self.clock = ReplicaClock(speed=self.settings.clock_speed)
        self.catalog = catalog or munich_catalog()
        self.desk = BookingDesk(self.settings, self.clock, self.catalog)
        self.captcha = CaptchaService(self.settings, self.clock)
        s = self.settings
        self.friendly = FriendlyCaptcha(self.clock, s.frc_secret, s.frc_solutions, s.frc_difficulty, s.frc_expiry_units)
        self.captcha_mode: str = s.captcha_mode
        self.allow_automated_browsers: bool = s.frc_allow_automated_browsers
        self.faults = Faults()
        self.limiter = RateLimiter(self.clock, self.settings.rate_limit, self.settings.rate_window_s)
        self.requests = RequestLog()
        self.outbox = Outbox()
        self.switches = Switches()
        if not self.settings.captcha_enabled:
            for office in self.catalog.offices.values():
                office.captcha_required = False

    def deliver_mail(self, process_id: int, message) -> None:
        """Hand an activation mail to ``settings.mail_url`` (runs after the API answer, in a worker thread);
        the delivery is recorded with the wall time it completed."""
        try:
            deliver(message, self.settings.mail_url)
        except (OSError, ValueError) as exc:  # smtplib's errors are OSErrors
            self.outbox.delivered(Delivery(process_id, wall_time(), f"{type(exc).__name__}: {exc}"))
            return
        self.outbox.delivered(Delivery(process_id, wall_time()))

    def set_captcha_required(self, required: bool, office_ids: list[int] | None = None) -> None:
        for office in self.catalog.offices.values():
            if office_ids is None or office.id in office_ids:
                office.captcha_required = required

    def set_captcha_mode(self, mode: str, allow_automated_browsers: bool | None = None) -> None:
        if mode not in ("altcha", "friendly"):
            raise ValueError("captcha mode must be 'altcha' or 'friendly'")
        self.captcha_mode = mode
        if allow_automated_browsers is not None:
            self.allow_automated_browsers = allow_automated_browsers

    def release_at(self, at: float, office_id: int, timestamps: list[int], vanish_after_s: float | None = None) -> Release:
        """Slots appear at replica time ``at`` (and vanish ``vanish_after_s`` later: someone took them)."""
        if office_id not in self.catalog.offices:
            raise ValueError(f"unknown office {office_id}")
        vanish = at + vanish_after_s if vanish_after_s is not None else None
        return self.desk.schedule_release(Release(at=at, office_id=office_id, timestamps=sorted(timestamps),
                                                  vanish_at=vanish))

    def schedule_weekly(
        self,
        weekdays: list[int],
        at: str,
        office_id: int,
        count: int,
        weeks: int = 4,
        slot_days_ahead: int = 7,
        first_slot: str = "08:00",
        vanish_after_s: float | None = None,
    ) -> list[Release]:
        """A release schedule, e.g. weekdays (0=Mon) at "07:30", ``count`` slots at an office.

        Each release offers ``count`` consecutive slots starting ``first_slot``
        (Europe/Berlin) on the day ``slot_days_ahead`` after the release.
        """
        hour, minute = (int(x) for x in at.split(":"))
        slot_hour, slot_minute = (int(x) for x in first_slot.split(":"))
        step = self.catalog.offices[office_id].slot_minutes * 60
        today = self.clock.now_berlin().date()
        made = []
        for offset in range(weeks * 7):
            day = today + timedelta(days=offset)
            if day.weekday() not in weekdays:
                continue
            moment = datetime.combine(day, time(hour, minute), BERLIN).timestamp()
            if moment < self.clock.now():
                continue
            slot_day = day + timedelta(days=slot_days_ahead)
            first = int(datetime.combine(slot_day, time(slot_hour, slot_minute), BERLIN).timestamp())
            made.append(self.release_at(moment, office_id, [first + i * step for i in range(count)], vanish_after_s))
        return made

    def take_slot_before_next_reserve(self, office_id: int | None = None) -> None:
        """Someone else books the slot the next reservation asks for, just before it arrives."""

        def take(office: int, timestamp: int) -> None:
            if office_id is None or office == office_id:
                self.desk.remove_slots(office, [timestamp])
                self.desk.before_reserve = None

        self.desk.before_reserve = take

    def seed_slots(self, days: int = 21, per_day: int = 3, seed: int = 7, first_day: int = 1,
                   office_ids: list[int] | None = None, weekdays: list[int] | None = None) -> int:
        """Release a reproducible scatter of slots: ``per_day`` on each of ``days`` days from ``first_day``
        days ahead (Mon–Fri unless ``weekdays`` says otherwise), at every office or the given ones.

        Scarce, far-out availability is a narrow scatter far ahead, e.g. ``first_day=21, days=1`` (the
        first bookable day three weeks away) or ``first_day=61, days=3`` (only slots in two months)."""
        if days < 0 or per_day < 1 or first_day < 0:
            raise ValueError("days ≥ 0, perDay ≥ 1 and firstDay ≥ 0 are required")
        allowed = set(range(5) if weekdays is None else weekdays)
        offices = [self.catalog.offices[o] for o in office_ids] if office_ids else list(self.catalog.offices.values())
        rng = random.Random(seed)
        start = self.clock.now_berlin().date()
        count = 0
        for office in offices:
            for offset in range(first_day, first_day + days):
                day = start + timedelta(days=offset)
                if day.weekday() not in allowed:
                    continue
                stamps = set()
                for _ in range(per_day):
                    minute = rng.randrange(7 * 60 + 30, 17 * 60, office.slot_minutes)
                    moment = datetime.combine(day, time(minute // 60, minute % 60), BERLIN)
                    stamps.add(int(moment.timestamp()))
                self.desk.add_slots(office.id, sorted(stamps))
                count += len(stamps)
        return count

    def clear_slots(self, office_ids: list[int] | None = None) -> None:
        """No free slots at all (or none at the given offices)."""
        for office_id in office_ids or list(self.catalog.offices):
            self.desk.remove_slots(office_id)

    def clear_faults(self) -> None:
        """Every fault the scenario API's ``faults`` route can switch on, off again: rules and latency,
        maintenance, the IP blacklist, a shortened token lifetime and the redesign variant."""
        self.faults.clear()
        self.switches.maintenance = False
        self.switches.blacklisted_ips = set()
        self.switches.redesign = None
        self.captcha.token_lifetime_override = None

    def reset(self) -> None:
        """Forget processes, slots, logs, mails, counters and switches (catalogue stays)."""
        with self.desk.lock:
            self.desk.slots.clear()
            self.desk.processes.clear()
        self.requests.clear()
        self.outbox.clear()
        self.limiter.reset()
        self.switches = Switches()
        self.faults.clear()
        self.desk.releases.clear()
        self.desk.before_reserve = None
        self.captcha.token_lifetime_override = None
        self.captcha.expire_issued_tokens()
        self.captcha_mode = self.settings.captcha_mode
        self.allow_automated_browsers = self.settings.frc_allow_automated_browsers
