"""What a person wants booked, validated before any browser starts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time

from .timezone import BERLIN

EMAIL_RE = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
PHONE_RE = re.compile(r"^\+?[0-9]\d{6,14}$")
WEEKDAYS = {"mo": 0, "di": 1, "mi": 2, "do": 3, "fr": 4, "sa": 5, "so": 6,
            "mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


class InvalidRequest(ValueError):
    """A request the agent refuses before it opens a browser."""

    def __init__(self, message: str, problems: list[ContactProblem] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []  # the contact's problems, when those are what it refuses


# field -> (what a person calls it, the command-line flag, the setting)
CONTACT_FIELDS = {
    "first_name": ("first name", "--first-name", "MTA_CONTACT_FIRST_NAME"),
    "last_name": ("last name", "--last-name", "MTA_CONTACT_LAST_NAME"),
    "email": ("e-mail", "--email", "MTA_CONTACT_EMAIL"),
    "telephone": ("phone", "--phone", "MTA_CONTACT_PHONE"),
}


@dataclass(frozen=True)
class ContactProblem:
    """One contact field the site would refuse: missing, or not in the form the site accepts."""

    field: str  # a key of CONTACT_FIELDS
    missing: bool
    why: str = ""  # for a field that is there but not valid

    @property
    def label(self) -> str:
        return CONTACT_FIELDS[self.field][0]

    def hint(self) -> str:
        """Where a person sets it on the command line: "(--email or MTA_CONTACT_EMAIL)"."""
        _, flag, setting = CONTACT_FIELDS[self.field]
        return f"({flag} or {setting})"


def describe_contact_problems(problems: list[ContactProblem], hints: bool = False) -> str:
    """All problems in one line: "missing: first name, e-mail; not valid: phone (digits, …)".

    With ``hints``, each field names its command-line flag and setting."""
    def name(p: ContactProblem) -> str:
        return f"{p.label} {p.hint()}" if hints else p.label

    parts = []
    missing = [name(p) for p in problems if p.missing]
    if missing:
        parts.append("missing: " + ", ".join(missing))
    invalid = [f"{name(p)}: {p.why}" for p in problems if not p.missing]
    if invalid:
        parts.append("not valid: " + "; ".join(invalid))
    return "contact details " + "; ".join(parts)


@dataclass(frozen=True)
class Contact:
    first_name: str
    last_name: str
    email: str
    telephone: str = ""

    def problems(self) -> list[ContactProblem]:
        """Every field the site would refuse, in form order (the city's client-side rules, spec §3: names
        required, e-mail and phone patterns, at most 50 characters)."""
        found = []
        for name in ("first_name", "last_name"):
            value = getattr(self, name) or ""
            if not value.strip():
                found.append(ContactProblem(name, True))
            elif len(value) > 50:
                found.append(ContactProblem(name, False, "longer than 50 characters"))
        email = self.email or ""
        if not email.strip():
            found.append(ContactProblem("email", True))
        elif not EMAIL_RE.match(email) or len(email) > 50:
            found.append(ContactProblem("email", False, "the site accepts name@domain.tld, up to 50 characters"))
        if self.telephone and not PHONE_RE.match(self.telephone):
            found.append(ContactProblem("telephone", False, "digits, optionally starting with +, 7 to 15 long"))
        return found

    def validate(self) -> None:
        """Raise one :class:`InvalidRequest` naming every problem at once (``.problems`` lists them)."""
        problems = self.problems()
        if problems:
            raise InvalidRequest(describe_contact_problems(problems), problems)


@dataclass(frozen=True)
class BookingRequest:
    service_id: int
    office_ids: tuple[int, ...]  # acceptable offices; empty = any office of the service
    date_from: date
    date_to: date
    contact: Contact
    count: int = 1
    weekdays: frozenset[int] = field(default_factory=lambda: frozenset(range(7)))
    time_from: time = time(0, 0)
    time_to: time = time(23, 59)
    person: str = "default"

    def wants_day(self, day: date) -> bool:
        """Whether a calendar day is worth reading (range and weekday; times are judged per slot)."""
        return self.date_from <= day <= self.date_to and day.weekday() in self.weekdays

    def wants_office(self, office_id: int) -> bool:
        return not self.office_ids or office_id in self.office_ids

    def could_match(self, day: date, offices: set[int]) -> bool:
        """Whether a calendar day offered by ``offices`` may hold a wanted slot (its times decide)."""
        return self.wants_day(day) and any(self.wants_office(o) for o in offices)

    def accepts(self, office_id: int, unix_seconds: int) -> bool:
        """Whether a slot (office, start time) is one the person wants."""
        if self.office_ids and office_id not in self.office_ids:
            return False
        moment = datetime.fromtimestamp(unix_seconds, BERLIN)
        return (
            self.date_from <= moment.date() <= self.date_to
            and moment.weekday() in self.weekdays
            and self.time_from <= moment.time() <= self.time_to
        )

    def validate(self, today: date, known_services: dict[int, int] | None = None,
                 known_offices: dict[int, set[int]] | None = None) -> None:
        """Refuse bad input with a clear message. ``known_*`` come from the site's catalogue when available."""
        if self.date_to < self.date_from:
            raise InvalidRequest(f"the date range ends ({self.date_to}) before it starts ({self.date_from})")
        if self.date_to < today:
            raise InvalidRequest(f"the date range {self.date_from}…{self.date_to} lies in the past")
        if not 1 <= self.count <= 10:
            raise InvalidRequest("count must be between 1 and 10")
        if self.time_to <= self.time_from:
            raise InvalidRequest("the time window must end after it starts")
        if not self.weekdays:
            raise InvalidRequest("no weekday allowed")
        if known_services is not None:
            if self.service_id not in known_services:
                raise InvalidRequest(f"unknown service {self.service_id}; known: {sorted(known_services)}")
            if self.count > known_services[self.service_id]:
                raise InvalidRequest(f"service {self.service_id} allows at most {known_services[self.service_id]}")
        if known_offices is not None and self.office_ids:
            offering = known_offices.get(self.service_id, set())
            if bad := [o for o in self.office_ids if o not in offering]:
                raise InvalidRequest(f"office(s) {bad} do not offer service {self.service_id}; "
                                     f"offices that do: {sorted(offering)}")
        self.contact.validate()


def parse_time_window(text: str) -> tuple[time, time]:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})", text.strip())
    if not match:
        raise InvalidRequest(f"time window {text!r} is not HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    try:
        return time(h1, m1), time(h2, m2)
    except ValueError as exc:
        raise InvalidRequest(f"time window {text!r}: {exc}") from exc


def parse_weekdays(text: str) -> frozenset[int]:
    days = set()
    for part in text.lower().replace(" ", "").split(","):
        if part not in WEEKDAYS:
            raise InvalidRequest(f"unknown weekday {part!r}; use mo,di,mi,do,fr,sa,so or mon..sun")
        days.add(WEEKDAYS[part])
    return frozenset(days)
