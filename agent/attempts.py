"""Attempts in SQLite: written before the flow acts, updated as it goes, closed after.

The recorder is the flow's observer. Every call commits at once, so that a
crash at any point leaves the truth on disk: in particular, processId and
authKey are committed the moment the reserve answer arrives, before the
flow takes its next step.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

from loguru import logger
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from flows.fingerprint import StepPrint
from flows.outcomes import Outcome
from flows.request import BookingRequest
from flows.timezone import BERLIN

from .models import Attempt, OrphanReservation, PagePattern
from .watches import upsert_person

LIVE_STATUSES = ("reserved", "preconfirmed", "confirmed")


def request_record(request: BookingRequest) -> dict:
    """What is stored of a request: everything but the contact details."""
    return {
        "serviceId": request.service_id,
        "count": request.count,
        "officeIds": list(request.office_ids),
        "from": request.date_from.isoformat(),
        "to": request.date_to.isoformat(),
        "weekdays": sorted(request.weekdays),
        "time": f"{request.time_from:%H:%M}-{request.time_to:%H:%M}",
    }


class BookingBlocked(RuntimeError):
    """The person already has a live or possibly-live booking for this service."""


class AttemptRecorder:
    def __init__(self, sessions: sessionmaker[Session], attempt_id: int) -> None:
        self.sessions = sessions
        self.id = attempt_id
        self.progress: list[str] = []

    @classmethod
    def begin(cls, sessions: sessionmaker[Session], site: str, request: BookingRequest,
              watch_id: int | None = None) -> AttemptRecorder:
        """Refuse a second live booking for the person and service; otherwise write the attempt row."""
        with booking_lock(sessions), sessions.begin() as session:
            guard_one_booking(session, request.person, request.service_id)
            # the contact is kept (privately) so that a reservation whose page is lost can still be finished
            upsert_person(session, request.contact, key=request.person)
            attempt = Attempt(site=site, person=request.person, service_id=request.service_id, watch_id=watch_id,
                              request=request_record(request), pid=os.getpid(), phase="started", tries=[],
                              step_seconds={}, diff=[])
            session.add(attempt)
            session.flush()
            attempt_id = attempt.id
        logger.info("attempt {} started for service {}", attempt_id, request.service_id)
        return cls(sessions, attempt_id)

    def update(self, **values: object) -> None:
        with self.sessions.begin() as session:
            attempt = session.get(Attempt, self.id)
            assert attempt is not None
            for key, value in values.items():
                setattr(attempt, key, value)

    # -- BookingObserver ---------------------------------------------------------------
    def step_done(self, name: str, seconds: float) -> None:
        with self.sessions.begin() as session:
            attempt = session.get(Attempt, self.id)
            assert attempt is not None
            attempt.step_seconds = {**attempt.step_seconds, name: round(seconds, 3)}

    def step_failed(self, name: str, seconds: float) -> None:
        self.step_done(f"{name} (failed)", seconds)

    def reserving(self, office_id: int, slot_ts: int, reservation_minutes: int) -> None:
        self.update(phase="reserving", office_id=office_id, slot_ts=slot_ts, reserve_sent_at=time.time(),
                     reservation_minutes=reservation_minutes)

    def reserved(self, process: dict) -> None:
        self.update(phase="reserved", process_id=int(process["processId"]), auth_key=str(process["authKey"]),
                     office_id=int(process.get("officeId") or 0) or None, process_status="reserved",
                     reserved_at=time.time())
        self._try("reserved")
        logger.info("attempt {}: slot held as process {}", self.id, process["processId"])

    def slot_taken(self, office_id: int, slot_ts: int) -> None:
        self.update(phase="started")
        self._try("taken", office_id, slot_ts)

    def reserve_refused(self, office_id: int, slot_ts: int, codes: list[str]) -> None:
        self.update(phase="started")
        self._try("refused: " + ",".join(codes), office_id, slot_ts)

    def note(self, message: str) -> None:
        self.progress.append(message)
        logger.info("attempt {}: {}", self.id, message)

    def _try(self, result: str, office_id: int | None = None, slot_ts: int | None = None) -> None:
        with self.sessions.begin() as session:
            attempt = session.get(Attempt, self.id)
            assert attempt is not None
            entry = {"officeId": office_id or attempt.office_id, "slot": slot_ts or attempt.slot_ts, "result": result}
            attempt.tries = [*attempt.tries, entry]

    # -- closing -------------------------------------------------------------------------
    def close(self, outcome: Outcome, trace_path: str | None = None) -> None:
        status = None
        if outcome.kind.value in ("reserved", "confirmed"):
            status = "preconfirmed" if outcome.kind.value == "reserved" else "confirmed"
        values: dict[str, object] = dict(
            phase="closed", outcome=outcome.kind.value, reason=outcome.reason, diff=outcome.diff,
            handoff_link=outcome.handoff_link, activation_deadline=outcome.activation_deadline,
            trace_path=trace_path, finished_at=datetime.now(timezone.utc),
        )
        if status:
            values["process_status"] = status
        with self.sessions.begin() as session:
            attempt = session.get(Attempt, self.id)
            assert attempt is not None
            if attempt.phase == "reserving" and not outcome.kind.succeeded:
                # the reserve left and no answer was saved: exactly as uncertain as a crash after sending it
                values["reason"] = f"{outcome.reason}; {record_orphan(session, attempt)}"
            for key, value in values.items():
                setattr(attempt, key, value)
        logger.info("attempt {} closed: {}", self.id, outcome.kind.value)

    def load(self) -> Attempt:
        with self.sessions() as session:
            attempt = session.get(Attempt, self.id)
            assert attempt is not None
            return attempt


DEFAULT_RESERVATION_MINUTES = 15


@contextmanager
def booking_lock(sessions: sessionmaker[Session]) -> Iterator[None]:
    """The one-booking check and the new attempt row as one step across processes (``mta run`` and
    ``mta book`` beside it): SQLite's deferred transactions would let both pass the check."""
    database = getattr(getattr(sessions.kw.get("bind"), "url", None), "database", None)
    if not database or database == ":memory:":
        yield
        return
    fd = os.open(f"{database}.booking-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # held for one short transaction
        yield
    finally:
        os.close(fd)


def record_orphan(session: Session, attempt: Attempt) -> str:
    """A reserve was sent and its answer never saved (lost, timed out, or the process died): the site may
    hold the slot for ``reservationDuration``. Until then that slot is not reserved again and the person
    gets no new reservation for the service (``guard_one_booking``). Returns the reason to record."""
    sent_at = attempt.reserve_sent_at or time.time()
    hold_until = sent_at + (attempt.reservation_minutes or DEFAULT_RESERVATION_MINUTES) * 60
    session.add(OrphanReservation(attempt_id=attempt.id, person=attempt.person, service_id=attempt.service_id,
                                  office_id=attempt.office_id, slot_ts=attempt.slot_ts, sent_at=sent_at,
                                  hold_until=hold_until))
    until = munich_clock(hold_until)
    return (f"the reserve was sent but its answer never came; the site may hold that slot until {until} "
            "(orphan reservation): no new reservation for this service before then")


def munich_clock(unix: float) -> str:
    return datetime.fromtimestamp(unix, BERLIN).strftime("%H:%M")


def guard_one_booking(session: Session, person: str, service_id: int, now: float | None = None) -> None:
    """One active booking per person and service, and no new one while an orphan may hold a slot."""
    now = time.time() if now is None else now
    live = session.scalars(
        select(Attempt).where(Attempt.person == person, Attempt.service_id == service_id,
                              Attempt.process_status.in_(LIVE_STATUSES))
    ).first()
    if live is not None:
        raise BookingBlocked(f"attempt {live.id} already holds process {live.process_id} ({live.process_status}) "
                             "for this person and service; to book anew, cancel it first: mta cancel with its link from "
                             "the city's e-mail")
    running = session.scalars(
        select(Attempt).where(Attempt.person == person, Attempt.service_id == service_id, Attempt.outcome.is_(None))
    ).first()
    if running is not None:
        raise BookingBlocked(f"attempt {running.id} for this person and service is still open; "
                             "it is settled on the agent's next start")
    orphan = session.scalars(
        select(OrphanReservation).where(OrphanReservation.person == person,
                                        OrphanReservation.service_id == service_id,
                                        OrphanReservation.hold_until > now)
    ).first()
    if orphan is not None:
        until = munich_clock(orphan.hold_until)
        raise BookingBlocked(f"attempt {orphan.attempt_id} may still hold a slot (its reserve answer was lost); "
                             f"no new reservation for this service before {until}")


class SqlPatternStore:
    """Page fingerprints in the ``page_patterns`` table."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def load(self, site: str, step: str) -> StepPrint | None:
        with self.sessions() as session:
            row = session.scalars(select(PagePattern).where(PagePattern.site == site, PagePattern.step == step)).first()
            return StepPrint.from_json(row.fingerprint) if row else None

    def save(self, site: str, step: str, fingerprint: StepPrint) -> None:
        with self.sessions.begin() as session:
            row = session.scalars(select(PagePattern).where(PagePattern.site == site, PagePattern.step == step)).first()
            if row is None:
                session.add(PagePattern(site=site, step=step, fingerprint=fingerprint.to_json()))
            else:
                row.fingerprint = fingerprint.to_json()
