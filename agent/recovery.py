"""Settling attempts a crash or restart left open, before the agent does anything else.

- With a processId: ask the site. Preconfirmed or confirmed → closed as such
  (nothing is forgotten). Merely reserved → the walk cannot be resumed without
  its page, so the held slot is given back (cancel) and the attempt closed.
  Gone → closed.
- Without one, but a reserve was being sent: the answer may be lost while the
  site holds the slot. An orphan reservation is recorded; until it lapses
  (``reservationDuration`` after sending) that slot is never reserved again and
  no new reservation is made for the person and service.
- Earlier phases: nothing was held; closed.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

from loguru import logger
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from flows.outcomes import OutcomeKind

from .models import Attempt, OrphanReservation
from .site_api import ProcessStatus, SiteApi

DEFAULT_RESERVATION_MINUTES = 15


def _alive(pid: int | None) -> bool:
    if not pid or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


async def settle_unfinished(sessions: sessionmaker[Session], site_api: SiteApi) -> list[str]:
    """Close every open attempt whose process is gone; returns one line per settled attempt.

    The site is asked first (budgeted), then the attempt is closed in one transaction."""
    report = []
    with sessions() as session:
        open_ids = [a.id for a in session.scalars(select(Attempt).where(Attempt.outcome.is_(None)))
                    if not _alive(a.pid)]
    for attempt_id in open_ids:
        with sessions() as session:
            snapshot = session.get(Attempt, attempt_id)
        assert snapshot is not None
        status = cancelled = None
        if snapshot.process_id and snapshot.auth_key:
            status = await site_api.appointment(snapshot.process_id, snapshot.auth_key)
            if status.status == "reserved":
                cancelled = await site_api.cancel(snapshot.process_id, snapshot.auth_key)
        with sessions.begin() as session:
            attempt = session.get(Attempt, attempt_id)
            assert attempt is not None
            line = _settle(session, attempt, status, cancelled)
            attempt.phase = "closed"
            attempt.finished_at = datetime.now(timezone.utc)
        logger.info("settled attempt {}: {}", attempt_id, line)
        report.append(f"attempt {attempt_id}: {line}")
    return report


def _settle(session: Session, attempt: Attempt, status: ProcessStatus | None, cancelled: ProcessStatus | None) -> str:
    if status is not None:
        if status.status in ("preconfirmed", "confirmed"):
            attempt.process_status = status.status
            attempt.outcome = (OutcomeKind.RESERVED if status.status == "preconfirmed" else OutcomeKind.CONFIRMED).value
            attempt.reason = f"interrupted; the site reports the appointment {status.status}"
        elif status.status == "reserved":
            assert cancelled is not None
            attempt.process_status = "cancelled" if cancelled.status in ("cancelled", "gone") else "reserved"
            attempt.outcome = OutcomeKind.TIMEOUT.value
            attempt.reason = ("interrupted after the slot was held; the walk cannot resume without its page, so the "
                              f"held slot was given back ({cancelled.status})")
        elif status.status == "gone":
            attempt.process_status = "gone"
            attempt.outcome = OutcomeKind.TIMEOUT.value
            attempt.reason = "interrupted; the held slot has lapsed at the site"
        else:
            attempt.outcome = OutcomeKind.TIMEOUT.value
            attempt.reason = f"interrupted; the site's status is unknown ({status.detail}); check before rebooking"
        return attempt.reason
    if attempt.phase == "reserving" and attempt.reserve_sent_at:
        minutes = attempt.reservation_minutes or DEFAULT_RESERVATION_MINUTES
        hold_until = attempt.reserve_sent_at + minutes * 60
        session.add(OrphanReservation(attempt_id=attempt.id, person=attempt.person, service_id=attempt.service_id,
                                      office_id=attempt.office_id, slot_ts=attempt.slot_ts,
                                      sent_at=attempt.reserve_sent_at, hold_until=hold_until))
        attempt.outcome = OutcomeKind.TIMEOUT.value
        until = datetime.fromtimestamp(hold_until).astimezone().strftime("%H:%M")
        attempt.reason = (f"interrupted while reserving; the site may hold that slot until {until} "
                          "(orphan reservation): it is not reserved again before then")
        return attempt.reason
    attempt.outcome = OutcomeKind.TIMEOUT.value
    attempt.reason = "interrupted before any slot was reserved; nothing is held"
    return attempt.reason
