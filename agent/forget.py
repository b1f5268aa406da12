"""``mta forget``: a person's data removed — their rows, and the traces that show what they typed.

A person is named by their key (``p-…``, as the attempts and notices show it),
their number (``person N`` in ``mta watch list``) or their e-mail address.
Removed: the person's row (name, e-mail, phone, chat), their watches, their
attempts and orphan reservations, and the trace files of those attempts. The
deleted rows are overwritten in the file (SQLite's ``secure_delete``) and the
write-ahead log is checkpointed, so the values do not linger in free pages.

Refused while one of their attempts is still open (a running booking, or one a
crash left for recovery to settle with the site): forgetting it would leave a
held slot nobody settles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, or_, select, text
from sqlalchemy.orm import Session, sessionmaker

from .models import Attempt, OrphanReservation, Person, Watch
from .tracing import trace_file
from .watches import person_key


class UnknownPerson(LookupError):
    pass


class StillBooking(RuntimeError):
    pass


@dataclass
class Forgotten:
    person: str
    watches: int = 0
    attempts: int = 0
    traces: list[Path] = field(default_factory=list)


def find_person_key(sessions: sessionmaker[Session], who: str) -> str:
    """The person's key from a key, a number or an e-mail address (known to the database or its attempts)."""
    who = who.strip()
    with sessions() as session:
        if who.isdigit():
            person = session.get(Person, int(who))
            if person is not None:
                return person.key
        candidates = [who, person_key(who)] if "@" in who else [who]
        for key in candidates:
            if session.scalar(select(Person.id).where(Person.key == key)) is not None:
                return key
            if session.scalar(select(Attempt.id).where(Attempt.person == key).limit(1)) is not None:
                return key
    raise UnknownPerson(f"no person {who!r} (give the key p-…, the number from `mta watch list`, or the e-mail)")


def forget(sessions: sessionmaker[Session], who: str, recordings: Path) -> Forgotten:
    key = find_person_key(sessions, who)
    done = Forgotten(key)
    with sessions.begin() as session:
        session.execute(text("PRAGMA secure_delete = ON"))
        attempts = session.scalars(select(Attempt).where(Attempt.person == key)).all()
        open_ = [a.id for a in attempts if a.phase != "closed"]
        if open_:
            raise StillBooking(f"attempt(s) {', '.join(map(str, open_))} of {key} are still open (a booking in flight, "
                               "or one the next start settles with the site); try again after that")
        ids = [a.id for a in attempts]
        for attempt in attempts:
            for path in {trace_file(recordings, attempt.id), *([Path(attempt.trace_path)] if attempt.trace_path else [])}:
                if path.exists():
                    path.unlink()
                    done.traces.append(path)
        session.execute(delete(OrphanReservation).where(or_(OrphanReservation.person == key,
                                                            OrphanReservation.attempt_id.in_(ids))))
        done.attempts = len(ids)
        session.execute(delete(Attempt).where(Attempt.id.in_(ids)))
        person = session.scalars(select(Person).where(Person.key == key)).first()
        if person is not None:
            done.watches = len(session.scalars(select(Watch.id).where(Watch.person_id == person.id)).all())
            session.execute(delete(Watch).where(Watch.person_id == person.id))
            session.delete(person)
    with sessions() as session:
        session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    return done
