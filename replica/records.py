"""What the replica remembers for tests: every API request and every e-mail.

The request log is the source of truth for rate-budget assertions: tests count
what reached the site, never what the agent believes it sent.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class LoggedRequest:
    time: float  # replica clock when the request arrived
    ip: str
    method: str
    path: str
    query: str
    status: int

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Mail:
    time: float
    to: str
    subject: str
    body: str
    link: str
    process_id: int

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Delivery:
    """An activation mail handed to the configured mail server (wall time, for end-to-end figures)."""

    process_id: int
    at: float
    error: str = ""

    def to_json(self) -> dict:
        return asdict(self)


class RequestLog:
    def __init__(self) -> None:
        self._items: list[LoggedRequest] = []
        self._lock = threading.Lock()

    def add(self, item: LoggedRequest) -> None:
        with self._lock:
            self._items.append(item)

    def all(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class Outbox:
    def __init__(self) -> None:
        self._mails: list[Mail] = []
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()

    def delivered(self, delivery: Delivery) -> None:
        with self._lock:
            self.deliveries.append(delivery)

    def send(self, mail: Mail) -> None:
        with self._lock:
            self._mails.append(mail)

    def all(self) -> list[Mail]:
        with self._lock:
            return list(self._mails)

    def latest_for(self, address: str) -> Mail | None:
        with self._lock:
            for mail in reversed(self._mails):
                if mail.to == address:
                    return mail
        return None

    def clear(self) -> None:
        with self._lock:
            self._mails.clear()
            self.deliveries.clear()


def activation_mail(to: str, process_id: int, office_name: str, when: str, link: str, now: float) -> Mail:
    """The e-mail the city sends after preconfirmation, as the outbox keeps it (the real message, with its
    HTML part, is built by ``replica/mail.py`` when a mail server is configured)."""
    body = (
        "Guten Tag,\n\n"
        f"Ihr Termin am {when} im {office_name} ist erst verbindlich reserviert, wenn Sie ihn bestätigen:\n\n"
        f"{link}\n\n"
        "Ohne Bestätigung wird die Terminanfrage gelöscht.\n"
    )
    return Mail(time=now, to=to, subject="Aktivierungslink für Ihren Termin", body=body, link=link,
                process_id=process_id)
