"""What the agent tells a person, as typed facts: one dataclass per kind of notice.

The watcher and the mailbox state *what happened* (an office, a time, a
deadline); how it reads, in German or English, on the console or in Telegram,
is the formatters' job (``agent/notice_text.py``). A notice never carries a
name, an e-mail or a token: the person is their key, and the channel looks up
how to address them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .states import NoticeKind


@dataclass(frozen=True)
class SlotFound:
    """Matching slots for a notify-only watch."""

    watch_id: int
    service: str
    slots: tuple[tuple[int, str], ...]  # (unix time, office name), earliest first, at most a few
    total: int


@dataclass(frozen=True)
class Reserved:
    watch_id: int | None
    attempt_id: int
    slot_ts: int
    office: str
    deadline: float | None  # the activation deadline (Unix time), when the site told it
    paused: tuple[int, ...] = ()  # the person's other watches for this service, paused


@dataclass(frozen=True)
class Confirmed:
    attempt_id: int
    slot_ts: int
    office: str
    via: str = "mail"  # mail (the mailbox watcher) | chat (a pasted link) | check (the site said so)


@dataclass(frozen=True)
class Handoff:
    """The captcha refuses automated browsers: the person finishes on their own device."""

    label: str
    reason: str
    query: str = ""  # the query's stable id (cooldowns), whatever names the label shows


@dataclass(frozen=True)
class Trouble:
    """Rate limited, maintenance, site changed, other site errors: waiting, and why (never "no slots")."""

    label: str
    detail: str
    until: float | None = None  # when the agent tries again, when known
    attempt_id: int | None = None  # the attempt whose trace shows it (site changed)
    query: str = ""  # the query's stable id (cooldowns), whatever names the label shows


@dataclass(frozen=True)
class Failed:
    attempt_id: int | None
    outcome: str
    reason: str


@dataclass(frozen=True)
class Stopped:
    pass


@dataclass(frozen=True)
class ActivationDue:
    attempt_id: int
    deadline: float


@dataclass(frozen=True)
class ActivationFailed:
    attempt_id: int
    reason: str
    lapsed: bool  # the appointment has ended: the link had lapsed, or it was cancelled
    cancelled: bool = False


@dataclass(frozen=True)
class QueryDigest:
    label: str
    checks: int
    last_ok: float | None
    slots_seen: int
    state: str


@dataclass(frozen=True)
class Digest:
    """Once a day: checks made, the last successful check and slots seen, per watched query."""

    queries: tuple[QueryDigest, ...] = field(default_factory=tuple)
    bookings: int = 0


Facts = (SlotFound | Reserved | Confirmed | Handoff | Trouble | Failed | Stopped | ActivationDue | ActivationFailed
         | Digest)


@dataclass(frozen=True)
class Notice:
    person_key: str
    kind: NoticeKind
    facts: Facts
    link: str | None = None  # the site's deep link or the activation link
    attachment: Path | None = None  # a file for the person (the appointment's .ics)

    @property
    def text(self) -> str:
        """English plain text (logs of the demo, tests); channels render it themselves."""
        from .notice_text import render

        return render(self, "en").plain
