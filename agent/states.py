"""The agent's closed sets of states, so that status lines, notices and records never disagree.

Booking outcomes live with the flow (``flows/outcomes.py``); what an API
answer means lives in ``flows/site_errors.py``.
"""

from __future__ import annotations

from enum import Enum


class _Named(str, Enum):
    """Prints as its value ("rate_limited"), in f-strings and logs alike."""

    def __str__(self) -> str:
        return str(self.value)

    __format__ = str.__format__


class StreamStatus(_Named):
    """What one distinct query's polling is doing."""

    STARTING = "starting"
    WATCHING = "watching"
    BOOKING = "booking"
    RATE_LIMITED = "rate_limited"  # the site's limit (or our circuit): paused, not "no slots"
    QUIET = "quiet"  # a planned quiet gap so the site's request counter resets: paused, not "no slots"
    SITE_ERROR = "site_error"  # maintenance, failures, a blocked IP
    TOKEN = "token"  # the captcha token was refused; renewing
    HANDOFF = "handoff"  # the captcha refuses automated browsers: the person finishes


class Trouble(_Named):
    """Why a poll got no usable answer."""

    RATE_LIMITED = "rate_limited"
    MAINTENANCE = "maintenance"
    SITE_ERROR = "site_error"
    BLOCKED = "blocked"
    TOKEN = "token"
    HANDOFF = "handoff"
    BROWSER = "browser"

    @property
    def status(self) -> StreamStatus:
        return {
            Trouble.RATE_LIMITED: StreamStatus.RATE_LIMITED,
            Trouble.TOKEN: StreamStatus.TOKEN,
            Trouble.HANDOFF: StreamStatus.HANDOFF,
        }.get(self, StreamStatus.SITE_ERROR)


class NoticeKind(_Named):
    """What a person is told."""

    FOUND = "found"  # a matching slot (notify-only watches)
    BOOKED = "booked"  # reserved: open the activation link
    HANDOFF = "handoff"  # finish the captcha step on your own device
    RATE_LIMITED = "rate_limited"
    MAINTENANCE = "maintenance"
    SITE_CHANGED = "site_changed"  # the booking page no longer matches what the flows know
    SITE_ERROR = "site_error"
    FAILED = "failed"  # an attempt ended without a booking for a reason worth telling
    STOPPED = "stopped"  # the agent stopped while working for the person
    ACTIVATED = "activated"  # the agent activated the reservation from the city's e-mail (with the .ics)
    ACTIVATION_DUE = "activation_due"  # the activation deadline is near and no e-mail has come
    DIGEST = "digest"  # the daily summary

    @property
    def is_trouble(self) -> bool:
        """Kinds sent at most once per cooldown (nobody wants a message per poll)."""
        return self in (NoticeKind.RATE_LIMITED, NoticeKind.MAINTENANCE, NoticeKind.SITE_CHANGED,
                        NoticeKind.SITE_ERROR, NoticeKind.HANDOFF)

    @property
    def urgent(self) -> bool:
        """Kinds that never wait for the end of quiet hours: a reservation lapses within minutes."""
        return self in (NoticeKind.BOOKED, NoticeKind.HANDOFF, NoticeKind.ACTIVATION_DUE, NoticeKind.ACTIVATED,
                        NoticeKind.STOPPED)
