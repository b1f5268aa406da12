"""Settling attempts a crash or restart left open, before the agent does anything else.

- With a processId: ask the site. Preconfirmed or confirmed → closed as such
  (nothing is forgotten). Merely reserved → **the slot is kept**: the booking is
  finished with the requests the city's page sends for its remaining steps
  (``update-appointment/`` with the person's stored contact, then
  ``preconfirm-appointment/``), inside the budget, while the reservation holds.
  Only when that cannot succeed (no contact stored, the site refuses) is the
  slot given back (cancel). Why keep it: on the live site the slot an attempt
  was interrupted on is usually the contested one; giving it back and booking
  another means losing it to the next bot.
- Without one, but a reserve was being sent: the answer may be lost while the
  site holds the slot. An orphan reservation is recorded; until it lapses
  (``reservationDuration`` after sending) that slot is never reserved again and
  no new reservation is made for the person and service.
- Earlier phases: nothing was held; closed.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from loguru import logger
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from flows.booking import activation_minutes
from flows.outcomes import OutcomeKind
from flows.request import Contact

from .artifacts import process_alive
from .attempts import record_orphan
from .models import Attempt
from .site_api import ProcessStatus, SiteApi
from .watches import contact_of

def _claim(sessions: sessionmaker[Session], attempt_id: int) -> bool:
    """Take an open attempt over atomically (its pid becomes ours): two processes starting at once never
    settle the same attempt twice."""
    with sessions.begin() as session:
        attempt = session.get(Attempt, attempt_id)
        if attempt is None or attempt.outcome is not None or process_alive(attempt.pid):
            return False
        claimed = session.execute(update(Attempt).where(Attempt.id == attempt_id, Attempt.pid == attempt.pid)
                                  .values(pid=os.getpid()))
        return claimed.rowcount == 1


async def settle_unfinished(sessions: sessionmaker[Session], site_api: SiteApi) -> list[str]:
    """Close every open attempt whose process is gone; returns one line per settled attempt.

    The site is asked first (budgeted), then the attempt is closed in one transaction."""
    report = []
    with sessions() as session:
        open_ids = [a.id for a in session.scalars(select(Attempt).where(Attempt.outcome.is_(None)))
                    if not process_alive(a.pid)]
    for attempt_id in open_ids:
        if not _claim(sessions, attempt_id):
            continue  # another agent process is settling it
        with sessions() as session:
            snapshot = session.get(Attempt, attempt_id)
        assert snapshot is not None
        status = held = None
        if snapshot.process_id and snapshot.auth_key:
            status = await site_api.appointment(snapshot.process_id, snapshot.auth_key)
            if status.status == "reserved":
                with sessions() as session:
                    contact = contact_of(session, snapshot.person)
                held = await keep_or_give_back(site_api, snapshot.process_id, snapshot.auth_key, status, contact)
        with sessions.begin() as session:
            attempt = session.get(Attempt, attempt_id)
            assert attempt is not None
            line = _settle_held(attempt, held) if held is not None else _settle(session, attempt, status)
            attempt.phase = "closed"
            attempt.finished_at = datetime.now(timezone.utc)
        logger.info("settled attempt {}: {}", attempt_id, line)
        report.append(f"attempt {attempt_id}: {line}")
    return report


@dataclass(frozen=True)
class Held:
    """What became of a reservation whose page was lost."""

    kept: bool  # finished (preconfirmed) rather than given back
    process_status: str  # preconfirmed | confirmed | cancelled | reserved (the give-back failed too)
    process: dict | None
    why: str  # the reason it could not be kept ("" when kept)


async def keep_or_give_back(site_api: SiteApi, process_id: int, auth_key: str, status: ProcessStatus,
                            contact: Contact | None) -> Held:
    """A held (reserved) process without its page: finish it as the page would, or give the slot back."""
    process = {**(status.process or {}), "processId": process_id, "authKey": auth_key}
    if contact is not None:
        kept = await site_api.keep(process, contact)
        if kept.status in ("preconfirmed", "confirmed"):
            return Held(True, kept.status, kept.process, "")
        why = kept.detail or kept.status
    else:
        why = "no contact details are stored for the person"
    # a preconfirm whose answer was lost may have landed: only a process the site still calls "reserved"
    # is given back
    now = await site_api.appointment(process_id, auth_key)
    if now.status in ("preconfirmed", "confirmed"):
        return Held(True, now.status, now.process, "")
    if now.status != "reserved":
        gone = now.status in ("gone", "cancelled")
        return Held(False, now.status if gone else "reserved", None,
                    f"{why}; the site reports it {now.status}, so it was left as it is")
    cancelled = await site_api.cancel(process_id, auth_key)
    given = cancelled.status in ("cancelled", "gone")
    return Held(False, "cancelled" if given else "reserved", None,
                f"{why}; the held slot was given back ({cancelled.status})")


def activation_deadline(process: dict | None) -> float:
    return time.time() + activation_minutes(process) * 60


def _settle_held(attempt: Attempt, held: Held) -> str:
    attempt.process_status = held.process_status
    if held.kept:
        attempt.outcome = OutcomeKind.RESERVED.value
        attempt.activation_deadline = activation_deadline(held.process)
        attempt.reason = ("interrupted after the slot was held; the slot was kept: the booking was finished with "
                          "the requests the city's page sends (contact, then reservation). The city e-mailed the "
                          "activation link")
    else:
        attempt.outcome = OutcomeKind.TIMEOUT.value
        attempt.reason = f"interrupted after the slot was held; it could not be finished: {held.why}"
    return attempt.reason


def _settle(session: Session, attempt: Attempt, status: ProcessStatus | None) -> str:
    if status is not None:
        if status.status in ("preconfirmed", "confirmed"):
            attempt.process_status = status.status
            attempt.outcome = (OutcomeKind.RESERVED if status.status == "preconfirmed" else OutcomeKind.CONFIRMED).value
            attempt.reason = f"interrupted; the site reports the appointment {status.status}"
        elif status.status in ("gone", "cancelled"):
            attempt.process_status = status.status
            attempt.outcome = OutcomeKind.TIMEOUT.value
            attempt.reason = ("interrupted; the held slot has lapsed at the site" if status.status == "gone"
                              else "interrupted; the appointment was cancelled at the site")
        else:
            attempt.outcome = OutcomeKind.TIMEOUT.value
            attempt.reason = f"interrupted; the site's status is unknown ({status.detail}); check before rebooking"
        return attempt.reason
    if attempt.phase == "reserving" and attempt.reserve_sent_at:
        attempt.outcome = OutcomeKind.TIMEOUT.value
        attempt.reason = f"interrupted while reserving: {record_orphan(session, attempt)}"
        return attempt.reason
    attempt.outcome = OutcomeKind.TIMEOUT.value
    attempt.reason = "interrupted before any slot was reserved; nothing is held"
    return attempt.reason
