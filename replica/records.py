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
        self._lock = threading.Lock()

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


def activation_mail(to: str, process_id: int, office_name: str, when: str, link: str, now: float) -> Mail:
    """The e-mail the city sends after preconfirmation (German, with the activation link)."""
    body = (
        "Guten Tag,\n\n"
        f"Sie haben einen Termin am {when} im {office_name} reserviert.\n"
        "Bitte aktivieren Sie Ihren Termin über den folgenden Link:\n\n"
        f"{link}\n\n"
        "Ohne Aktivierung verfällt die Reservierung.\n"
    )
    return Mail(time=now, to=to, subject="Bitte aktivieren Sie Ihren Termin", body=body, link=link,
                process_id=process_id)
