"""Watches and the people they belong to: creating, listing, turning into booking requests."""

from __future__ import annotations

import hashlib
from datetime import date, time

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from flows.request import BookingRequest, Contact

from .models import Person, Watch


def person_key(email: str) -> str:
    return "p-" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:12]


def upsert_person(session: Session, contact: Contact, chat_id: int | None = None, key: str | None = None) -> Person:
    """The person's row, with the contact details given now (the latest ones win)."""
    key = key or person_key(contact.email)
    person = session.scalars(select(Person).where(Person.key == key)).first()
    if person is None:
        person = Person(key=key, first_name=contact.first_name, last_name=contact.last_name, email=contact.email,
                        phone=contact.telephone, chat_id=chat_id)
        session.add(person)
        session.flush()
    elif contact.email:
        person.first_name, person.last_name = contact.first_name, contact.last_name
        person.email, person.phone = contact.email, contact.telephone
        person.chat_id = chat_id if chat_id is not None else person.chat_id
    return person


def contact_of(session: Session, key: str) -> Contact | None:
    """The stored contact details of a person (to finish a booking whose page was lost)."""
    person = session.scalars(select(Person).where(Person.key == key)).first()
    if person is None or not person.email:
        return None
    return Contact(person.first_name, person.last_name, person.email, person.phone or "")


def add_watch(sessions: sessionmaker[Session], contact: Contact, service_id: int, office_ids: list[int],
              date_from: date, date_to: date, *, count: int = 1, weekdays: list[int] | None = None,
              time_from: str = "00:00", time_to: str = "23:59", mode: str = "auto",
              chat_id: int | None = None, key: str | None = None) -> int:
    if mode not in ("auto", "notify"):
        raise ValueError("mode must be 'auto' or 'notify'")
    with sessions.begin() as session:
        person = upsert_person(session, contact, chat_id, key)
        watch = Watch(person_id=person.id, service_id=service_id, count=count, office_ids=sorted(office_ids),
                      date_from=date_from.isoformat(), date_to=date_to.isoformat(),
                      weekdays=sorted(weekdays if weekdays is not None else range(7)), time_from=time_from,
                      time_to=time_to, mode=mode, state="active")
        session.add(watch)
        session.flush()
        return watch.id


def active_watches(sessions: sessionmaker[Session]) -> list[tuple[Watch, Person]]:
    with sessions() as session:
        rows = session.execute(select(Watch, Person).join(Person, Watch.person_id == Person.id)
                               .where(Watch.state == "active")).all()
        return [(w, p) for w, p in rows]


def to_request(watch: Watch, person: Person) -> BookingRequest:
    return BookingRequest(
        service_id=watch.service_id, office_ids=tuple(watch.office_ids), count=watch.count,
        date_from=date.fromisoformat(watch.date_from), date_to=date.fromisoformat(watch.date_to),
        weekdays=frozenset(watch.weekdays), time_from=time.fromisoformat(watch.time_from),
        time_to=time.fromisoformat(watch.time_to),
        contact=Contact(person.first_name, person.last_name, person.email, person.phone), person=person.key,
    )


def mark_booked(sessions: sessionmaker[Session], watch_id: int, reason: str) -> list[int]:
    """The watch booked: it is done, and the person's other watches for that service pause."""
    with sessions.begin() as session:
        watch = session.get(Watch, watch_id)
        assert watch is not None
        watch.state, watch.state_reason = "booked", reason
        siblings = session.scalars(select(Watch).where(Watch.person_id == watch.person_id,
                                                       Watch.service_id == watch.service_id,
                                                       Watch.id != watch_id, Watch.state == "active")).all()
        for sibling in siblings:
            sibling.state, sibling.state_reason = "paused", f"watch {watch_id} booked this service"
        return [s.id for s in siblings]


def expire_past(sessions: sessionmaker[Session], today: date) -> list[int]:
    with sessions.begin() as session:
        old = session.scalars(select(Watch).where(Watch.state == "active", Watch.date_to < today.isoformat())).all()
        for watch in old:
            watch.state, watch.state_reason = "expired", "its date range has passed"
        return [w.id for w in old]


def remember_people(sessions: sessionmaker[Session]) -> None:
    """Register every person's contact details with the log redaction (names have no shape to match)."""
    from .logs import remember_contact

    with sessions() as session:
        for person in session.scalars(select(Person)):
            remember_contact(person)
