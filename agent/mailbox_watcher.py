"""The mailbox component of the running agent: the city's activation e-mail → activation → confirmed.

It keeps one IMAP connection (``agent/imap_mailbox.py``) and, on every change the server reports (IDLE)
or every ``imap_poll_s`` without IDLE, searches recent unseen mail. Each new message is read without
marking it, parsed (``agent/mail_links.py``) and judged (``agent/mail_verdict.py``); only the activation
mail of an open reservation of this agent is acted on: activated through the page within the rate budget
(``agent/activation.py``), recorded (the attempt becomes ``confirmed``), marked seen, and the person is
told, with the ``.ics``. Nothing is deleted; other mail is left exactly as it was.

A lost connection is re-opened with a doubling pause; a search right after reconnecting finds whatever
arrived meanwhile, so nothing is missed. A second task reminds the person once when an activation
deadline is near and no mail has been acted on.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

from loguru import logger
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from flows.links import activation_link
from flows.outcomes import OutcomeKind

from .activation import activate_link, record_activation, recorded_status
from .calendar_file import keep_calendar_file
from .budget import RateBudget
from .config import Settings
from .imap_mailbox import Mailbox, MailboxConfig, MailboxLost, MailboxRefused
from .mail_links import parse_message, read_activation_mail
from .mail_verdict import Action, Verdict, judge
from .models import Attempt
from .notices import ActivationDue, ActivationFailed, Confirmed, Facts, Notice
from .notifier import Notifier
from .pool import BrowserPool
from .states import NoticeKind


def mailbox_config(settings: Settings) -> MailboxConfig:
    return MailboxConfig(settings.imap_host, settings.imap_port, settings.imap_user,
                         settings.imap_password.get_secret_value(), settings.imap_folder, settings.imap_ca_file,
                         settings.imap_timeout_s)


@dataclass
class MailStats:
    connections: int = 0
    examined: int = 0
    activated: list[dict] = field(default_factory=list)  # {attempt, processId, mailReadAt, confirmedAt}


async def judge_unseen(mailbox: Mailbox, settings: Settings, sessions: sessionmaker[Session],
                       person: str | None = None, skip: set[str] | frozenset[str] = frozenset()
                       ) -> tuple[list[str], list[tuple[str, Verdict]]]:
    """Read (without marking) and judge every recent unseen message but ``skip``; (unseen UIDs, verdicts).
    ``mta mailbox check`` and the watcher."""
    since = date.today() - timedelta(days=settings.imap_lookback_days)
    judged = []
    unseen = await mailbox.unseen_since(since)
    for uid in unseen:
        if uid in skip:
            continue
        raw = await mailbox.read(uid)
        if raw is None:
            continue
        reading = read_activation_mail(parse_message(raw), settings.booking_url)
        judged.append((uid, judge(reading, sessions, settings.imap_sender, person)))
    return unseen, judged


class MailboxWatcher:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session], notifier: Notifier,
                 budget: RateBudget, person: str | None = None) -> None:
        self.settings, self.sessions, self.notifier, self.budget = settings, sessions, notifier, budget
        self.person = person  # one person's own mailbox (the bot); None: the single-user setup
        self.config = mailbox_config(settings)
        self.pool: BrowserPool | None = None
        self.state = "stopped"  # connecting | watching | reconnecting | refused | stopped
        self.detail = ""
        self.stats = MailStats()
        self.connection: Mailbox | None = None  # the open one, while watching
        self._decided: dict[str, set[str]] = {}  # UIDVALIDITY → UIDs with nothing (more) to do
        self._retry_at: dict[str, float] = {}  # UID → not before (its booking is finishing, or activation failed)
        self._failures: dict[int, int] = {}  # processId → failed activations
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    # -- lifecycle ------------------------------------------------------------------------------
    async def check_login(self) -> None:
        """At start: wrong credentials, an untrusted certificate or a missing folder end the start with a
        clear error (MailboxRefused); an unreachable server is only logged (the loop keeps trying)."""
        mailbox = Mailbox(self.config)
        try:
            await mailbox.open()
        except MailboxLost as exc:
            logger.warning("mailbox: {}; will keep trying", exc)
        finally:
            await mailbox.close()

    def start(self, pool: BrowserPool) -> None:
        self.pool = pool
        self._stopping.clear()
        self._tasks = [asyncio.create_task(self._run(), name="mailbox"),
                       asyncio.create_task(self._remind_loop(), name="activation-reminders")]

    async def stop(self) -> None:
        """An activation in flight is cancelled; its mail stays unseen and is handled on the next start."""
        self._stopping.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self.state = "stopped"

    @property
    def idling(self) -> bool:
        """An IDLE is running on the open connection (the server will push news)."""
        client = self.connection.client if self.connection is not None else None
        return client is not None and client.has_pending_idle()

    def status(self) -> dict:
        return {"state": self.state, "detail": self.detail, "connections": self.stats.connections,
                "examined": self.stats.examined, "activated": len(self.stats.activated)}

    # -- the mailbox loop -----------------------------------------------------------------------
    async def _run(self) -> None:
        s = self.settings
        pause = s.imap_reconnect_s
        while not self._stopping.is_set():
            mailbox = Mailbox(self.config)
            try:
                self.state = "connecting"
                await mailbox.open()
                self.stats.connections += 1
                self.connection = mailbox
                self.state, self.detail, pause = "watching", "", s.imap_reconnect_s
                logger.info("mailbox: watching {} (IDLE: {})", s.imap_folder, "yes" if mailbox.idle_supported else "no")
                while True:
                    judged, retry_in = await self.scan(mailbox)
                    if judged:
                        # Mail that arrived while those were handled was announced in the answers to that
                        # work's commands, not to the IDLE that follows: search again before idling.
                        continue
                    wait = s.imap_idle_s if retry_in is None else max(0.05, min(s.imap_idle_s, retry_in))
                    await mailbox.wait_for_news(wait, s.imap_poll_s)
            except MailboxRefused as exc:
                self.state, self.detail = "refused", str(exc)
                logger.error("mailbox: {}", exc)
                pause = s.imap_reconnect_max_s
            except MailboxLost as exc:
                self.state, self.detail = "reconnecting", str(exc)
                logger.warning("mailbox: {}; reconnecting in {:.1f} s", exc, pause)
            finally:
                self.connection = None
                await mailbox.close()
            try:
                await asyncio.wait_for(self._stopping.wait(), pause)
            except asyncio.TimeoutError:
                pass
            pause = min(pause * 2, s.imap_reconnect_max_s)

    async def scan(self, mailbox: Mailbox) -> tuple[int, float | None]:
        """Handle every unseen message not yet decided: how many were judged (each ends decided or waiting, so
        the next search skips it), and seconds until a message should be looked at again."""
        decided = self._decided.setdefault(mailbox.uidvalidity, set())
        now = time.time()
        waiting = {uid for uid, at in self._retry_at.items() if at > now}
        unseen, judged = await judge_unseen(mailbox, self.settings, self.sessions, self.person,
                                            skip=decided | waiting)
        for uid in set(self._retry_at) - set(unseen):  # read or removed by the person meanwhile
            del self._retry_at[uid]
        for uid, verdict in judged:
            self.stats.examined += 1
            if verdict.action is Action.IGNORE:
                logger.info("mailbox: message {} ignored: {}", uid, verdict.reason)
                decided.add(uid)
            elif verdict.action is Action.WAIT:
                self._retry_at[uid] = time.time() + self.settings.imap_retry_s
            elif verdict.action is Action.DONE:
                await mailbox.mark_seen(uid)
                decided.add(uid)
            else:
                if await self._activate(verdict, uid):
                    await mailbox.mark_seen(uid)
                    decided.add(uid)
                    self._retry_at.pop(uid, None)
        for uid in decided & set(self._retry_at):
            del self._retry_at[uid]
        pending = list(self._retry_at.values())
        return len(judged), (max(0.0, min(pending) - time.time()) if pending else None)

    async def _activate(self, verdict: Verdict, uid: str) -> bool:
        """True when the mail is dealt with (activated, or its link had lapsed)."""
        link = verdict.link
        assert link is not None and verdict.attempt_id is not None
        read_at = time.time()
        logger.info("mailbox: activating process {} (attempt {})", link.process_id, verdict.attempt_id)
        try:
            outcome = await activate_link(self.settings, link.link, self.budget, self.pool)
        except Exception as exc:  # noqa: BLE001 - a browser failure is one failed try, not the end of the loop
            outcome = None
            reason = f"unexpected error: {type(exc).__name__}"
        else:
            reason = outcome.reason
        if outcome is not None and outcome.kind is OutcomeKind.CONFIRMED:
            record_activation(self.sessions, link.process_id, outcome)
            confirmed_at = time.time()
            self.stats.activated.append({"attempt": verdict.attempt_id, "processId": link.process_id,
                                         "mailReadAt": read_at, "confirmedAt": confirmed_at})
            logger.info("mailbox: process {} activated (attempt {}) in {:.1f} s", link.process_id,
                        verdict.attempt_id, confirmed_at - read_at)
            ics = keep_calendar_file(self.settings, verdict.attempt_id, outcome)
            await self._tell(verdict.person, NoticeKind.ACTIVATED,
                             Confirmed(verdict.attempt_id, outcome.slot_ts or 0, outcome.office_name or "", "mail"),
                             attachment=ics)
            return True
        if outcome is not None and record_activation(self.sessions, link.process_id, outcome):
            cancelled = recorded_status(self.sessions, link.process_id) == "cancelled"
            await self._tell(verdict.person, NoticeKind.FAILED,
                             ActivationFailed(verdict.attempt_id, reason, True, cancelled))
            return True
        failures = self._failures[link.process_id] = self._failures.get(link.process_id, 0) + 1
        logger.warning("mailbox: activating process {} failed ({}): {}", link.process_id, failures, reason)
        if failures == 1:
            await self._tell(verdict.person, NoticeKind.FAILED, ActivationFailed(verdict.attempt_id, reason, False),
                             link=link.link)
        self._retry_at[uid] = time.time() + min(self.settings.imap_retry_s * 2 ** failures,
                                                self.settings.imap_reconnect_max_s)
        return False

    # -- reminders ------------------------------------------------------------------------------
    async def _remind_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.remind_due()
            except Exception:  # noqa: BLE001 - a database hiccup must not end the reminders
                logger.exception("mailbox: checking activation deadlines failed")
            try:
                await asyncio.wait_for(self._stopping.wait(), self.settings.activation_check_s)
            except asyncio.TimeoutError:
                pass

    async def remind_due(self, now: float | None = None) -> list[int]:
        """Once per attempt: the deadline is within ``activation_remind_before_s`` and it is not activated.
        The reminder is recorded before it is sent (never twice, even across restarts)."""
        now = time.time() if now is None else now
        due = []
        with self.sessions.begin() as session:
            query = select(Attempt).where(Attempt.process_status == "preconfirmed", Attempt.phase == "closed",
                                          Attempt.activation_reminded_at.is_(None),
                                          Attempt.activation_deadline.is_not(None),
                                          Attempt.activation_deadline > now,
                                          Attempt.activation_deadline <= now + self.settings.activation_remind_before_s)
            if self.person is not None:
                query = query.where(Attempt.person == self.person)
            for attempt in session.scalars(query):
                attempt.activation_reminded_at = now
                due.append((attempt.id, attempt.person, attempt.activation_deadline, attempt.process_id,
                            attempt.auth_key))
        for attempt_id, person, deadline, process_id, auth_key in due:
            link = activation_link(self.settings.booking_url, process_id, auth_key) if auth_key else None
            await self._tell(person, NoticeKind.ACTIVATION_DUE, ActivationDue(attempt_id, deadline), link=link)
        return [d[0] for d in due]

    async def _tell(self, person: str | None, kind: NoticeKind, facts: Facts, link: str | None = None,
                    attachment=None) -> None:
        try:
            await self.notifier.send(Notice(person or "", kind, facts, link, attachment))
        except Exception:  # noqa: BLE001 - telling is best effort; the mailbox goes on
            logger.exception("sending a {} notice failed", kind)
