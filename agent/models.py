"""The agent's records in SQLite (SQLAlchemy 2). Schema changes go through alembic."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class Attempt(Base):
    """One booking attempt, written before the flow acts and closed after.

    ``phase`` is the write-ahead marker: ``started`` → ``reserving`` (a reserve
    is about to be sent, ``reserve_sent_at`` set) → ``reserved`` (processId
    and authKey committed) → ``closed``.
    """

    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pid: Mapped[int | None] = mapped_column(Integer)
    site: Mapped[str] = mapped_column(String(200))
    person: Mapped[str] = mapped_column(String(64), index=True)
    watch_id: Mapped[int | None] = mapped_column(Integer)
    service_id: Mapped[int] = mapped_column(Integer, index=True)
    request: Mapped[dict] = mapped_column(JSON)  # wanted offices, dates, times, count (no contact data)
    phase: Mapped[str] = mapped_column(String(20), default="started")
    office_id: Mapped[int | None] = mapped_column(Integer)
    slot_ts: Mapped[int | None] = mapped_column(Integer)
    reservation_minutes: Mapped[int | None] = mapped_column(Integer)
    reserve_sent_at: Mapped[float | None] = mapped_column(Float)
    process_id: Mapped[int | None] = mapped_column(Integer)
    auth_key: Mapped[str | None] = mapped_column(String(64))
    process_status: Mapped[str | None] = mapped_column(String(20))  # reserved/preconfirmed/confirmed/cancelled/gone
    tries: Mapped[list] = mapped_column(JSON, default=list)  # [{officeId, slot, result}]
    step_seconds: Mapped[dict] = mapped_column(JSON, default=dict)
    outcome: Mapped[str | None] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(Text)
    diff: Mapped[list] = mapped_column(JSON, default=list)
    handoff_link: Mapped[str | None] = mapped_column(Text)
    activation_deadline: Mapped[float | None] = mapped_column(Float)
    trace_path: Mapped[str | None] = mapped_column(Text)
    slot_first_seen: Mapped[float | None] = mapped_column(Float)
    reserved_at: Mapped[float | None] = mapped_column(Float)
    warm: Mapped[bool | None] = mapped_column(Boolean)
    activated_at: Mapped[float | None] = mapped_column(Float)  # the activation answered "confirmed"
    activation_reminded_at: Mapped[float | None] = mapped_column(Float)  # the one "deadline near" notice


class OrphanReservation(Base):
    """A reserve whose answer was never saved: it may hold a slot until ``hold_until``."""

    __tablename__ = "orphan_reservations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"))
    person: Mapped[str] = mapped_column(String(64), index=True)
    service_id: Mapped[int] = mapped_column(Integer)
    office_id: Mapped[int | None] = mapped_column(Integer)
    slot_ts: Mapped[int | None] = mapped_column(Integer)
    sent_at: Mapped[float] = mapped_column(Float)
    hold_until: Mapped[float] = mapped_column(Float)


class PagePattern(Base):
    """The last good structural fingerprint of one step of one site."""

    __tablename__ = "page_patterns"
    __table_args__ = (UniqueConstraint("site", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site: Mapped[str] = mapped_column(String(200))
    step: Mapped[str] = mapped_column(String(40))
    fingerprint: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Person(Base):
    """Someone the agent books for. Contact details stay in this private file, never in logs."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    first_name: Mapped[str] = mapped_column(String(50))
    last_name: Mapped[str] = mapped_column(String(50))
    email: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(20), default="")
    chat_id: Mapped[int | None] = mapped_column(Integer)  # Telegram chat, when known


class Watch(Base):
    """What a person wants; watches with the same service, count and offices share one poll."""

    __tablename__ = "watches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    service_id: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer, default=1)
    office_ids: Mapped[list] = mapped_column(JSON, default=list)  # sorted; empty = every office of the service
    date_from: Mapped[str] = mapped_column(String(10))
    date_to: Mapped[str] = mapped_column(String(10))
    weekdays: Mapped[list] = mapped_column(JSON, default=lambda: list(range(7)))
    time_from: Mapped[str] = mapped_column(String(5), default="00:00")
    time_to: Mapped[str] = mapped_column(String(5), default="23:59")
    mode: Mapped[str] = mapped_column(String(10), default="auto")  # auto | notify
    state: Mapped[str] = mapped_column(String(10), default="active")  # active | paused | booked | expired
    state_reason: Mapped[str | None] = mapped_column(Text)

    @property
    def query_key(self) -> tuple[int, int, tuple[int, ...]]:
        """Identical queries share one poll stream."""
        return (self.service_id, self.count, tuple(sorted(self.office_ids)))


class Observation(Base):
    """A slot as the poller saw it: when it first appeared and when it was gone (site time)."""

    __tablename__ = "observations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(Integer, index=True)
    office_id: Mapped[int] = mapped_column(Integer)
    slot_ts: Mapped[int] = mapped_column(Integer)
    first_seen: Mapped[float] = mapped_column(Float, index=True)
    gone_at: Mapped[float | None] = mapped_column(Float)


class QueryState(Base):
    """The slots a distinct query saw in its last successful poll, so a restart does not count every
    visible slot as a fresh release (the release-pattern analyzer learns from releases only)."""

    __tablename__ = "query_state"

    query: Mapped[str] = mapped_column(String(200), primary_key=True)
    seen: Mapped[list] = mapped_column(JSON, default=list)
    polled_at: Mapped[float] = mapped_column(Float)


class Chat(Base):
    """A Telegram chat the bot knows: let in by the admin (or the allow-list setting), its language, and
    the person it books for once they consented. Strangers are never stored."""

    __tablename__ = "chats"

    chat_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    allowed: Mapped[bool | None] = mapped_column(Boolean)  # /allow: True, /deny: False; None: the setting decides
    language: Mapped[str | None] = mapped_column(String(2))  # de | en; None: the Telegram client's language
    person_key: Mapped[str | None] = mapped_column(String(64))  # set when onboarding finished
    consented_at: Mapped[float | None] = mapped_column(Float)
    blocked_at: Mapped[float | None] = mapped_column(Float)  # the person blocked the bot (403): no sends
    # /quiet: "HH:MM-HH:MM" (Munich time), "" never quiet; None: MTA_QUIET_HOURS decides
    quiet_hours: Mapped[str | None] = mapped_column(String(11))
