"""Cooldowns and quiet hours, in front of whichever channel tells the person.

- **Cooldown**: the same trouble notice (rate limited, maintenance, site
  changed, site error, handoff) reaches a person at most once per
  ``MTA_NOTICE_COOLDOWN_S`` per query; a found-slot notice at most once per a
  tenth of it per watch. A notice inside its cooldown is dropped: the earlier
  one already said it, and ``/status`` shows the current state.
- **Quiet hours** (``MTA_QUIET_HOURS``, Munich time, or the person's own, set
  with ``/quiet`` in the chat): found slots, trouble and the digest wait until they end; of several waiting notices of one kind and
  subject only the newest is sent. A reservation, a handoff, a deadline and a
  confirmation never wait: a reserved slot lapses within minutes. Waiting
  notices live in memory; a restart drops them (none of them is urgent).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from loguru import logger

from .config import Settings
from .notices import ActivationFailed, Notice
from .notifier import Notifier
from .quiet_hours import Window, is_quiet, parse_quiet_hours
from .states import NoticeKind


class NoticePolicy:
    """A notifier that applies cooldowns and quiet hours, then hands the notice to ``channel``."""

    def __init__(self, channel: Notifier, settings: Settings, clock: Callable[[], float] = time.time,
                 quiet_hours: bool = True, personal: Callable[[str], str | None] | None = None) -> None:
        self.channel = channel
        self.cooldown_s = settings.notice_cooldown_s
        self.quiet = parse_quiet_hours(settings.quiet_hours) if quiet_hours else None  # the console never waits
        self.personal = personal if quiet_hours else None  # a person's own quiet hours (None: the setting's)
        self.clock = clock
        self.last_sent: dict[tuple[str, NoticeKind, str], float] = {}
        self.waiting: dict[tuple[str, NoticeKind, str], Notice] = {}  # held for the end of quiet hours
        self.dropped = 0

    @staticmethod
    def subject(notice: Notice) -> str:
        facts = notice.facts
        return str(getattr(facts, "watch_id", None) or getattr(facts, "attempt_id", None) or getattr(facts, "query", "")
                   or getattr(facts, "label", ""))

    @classmethod
    def for_bot(cls, bot, settings: Settings) -> NoticePolicy:
        """In front of the Telegram bot: each person's own quiet hours (``/quiet``) apply."""
        return cls(bot, settings, personal=bot.chats.quiet_hours_of)

    def window_for(self, person_key: str) -> Window | None:
        """The person's own quiet hours where they set some, else the setting's."""
        if self.personal is not None:
            try:
                own = self.personal(person_key)
                return parse_quiet_hours(own) if own is not None else self.quiet
            except Exception:  # noqa: BLE001 - an unreadable choice (or database) falls back to the setting
                logger.warning("a person's quiet hours could not be read; the setting's apply")
        return self.quiet

    def _cooldown(self, kind: NoticeKind) -> float:
        if kind.is_trouble:
            return self.cooldown_s
        if kind is NoticeKind.FOUND:
            return self.cooldown_s / 10
        return 0.0

    async def send(self, notice: Notice) -> None:
        now = self.clock()
        key = (notice.person_key, notice.kind, self.subject(notice))
        cooldown = self._cooldown(notice.kind)
        if cooldown and now - self.last_sent.get(key, float("-inf")) < cooldown:
            self.dropped += 1
            logger.debug("{} notice inside its cooldown; not sent", notice.kind)
            return
        urgent = notice.kind.urgent or isinstance(notice.facts, ActivationFailed)  # the deadline runs at night too
        if not urgent and is_quiet(self.window_for(notice.person_key), now):
            self.waiting[key] = notice  # the newest of its kind and subject
            return
        self.waiting.pop(key, None)  # an older notice held for the same subject is superseded by this one
        self.last_sent[key] = now
        await self.channel.send(notice)

    async def flush(self) -> int:
        """Send what waited for the end of quiet hours (called every minute by the service)."""
        now = self.clock()
        due = [key for key, notice in self.waiting.items() if not is_quiet(self.window_for(notice.person_key), now)]
        for key in due:
            notice = self.waiting.pop(key)
            self.last_sent[key] = now
            await self.channel.send(notice)
        return len(due)

    async def alert(self, text: str) -> None:
        alert = getattr(self.channel, "alert", None)
        if alert is not None:
            await alert(text)

    async def run_flusher(self, every_s: float = 60.0) -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await self.flush()
            except Exception:  # noqa: BLE001 - the next minute tries again
                logger.exception("sending notices held over quiet hours failed")
