"""Availability and the process state machine of the city's booking backend.

States: reserved → preconfirmed → confirmed; any live state → cancelled.
A reservation lapses ``reservationDuration`` minutes after it was made, a
preconfirmation ``activationDuration`` minutes after it was sent; lapsed
processes are gone (``appointmentNotFound``) and free their slot. Lapses are
judged lazily against the replica clock, so driving the clock drives them.

Cancelling changes the process's key, as the city's backend does (its cancel
query writes a new ``absagecode``; zmscitizenbackend ``AppointmentCancelQueries``):
the old links then answer ``authKeyMismatch`` while the cancelled process is
kept (``loeschdauer``, default 15 minutes), ``appointmentNotFound`` after.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from .calendar import available_calendar
from .catalog import Catalog
from .clock import BERLIN, ReplicaClock
from .errors import ApiError
from .settings import ReplicaSettings

LIVE = ("reserved", "preconfirmed", "confirmed")


@dataclass
class Process:
    process_id: int
    auth_key: str
    office_id: int
    timestamp: int
    service_ids: list[int]
    service_counts: list[int]
    created: float
    captcha_token: str = ""
    status: str = "reserved"
    status_since: float = 0.0
    family_name: str = ""
    email: str = ""
    telephone: str = ""
    custom_textfield: str = ""
    custom_textfield2: str = ""
    ics: str = ""


def encode_link_payload(process_id: int, auth_key: str) -> str:
    """``<b64>`` of activation/manage links: base64 of ``{"id","authKey"}``."""
    raw = json.dumps({"id": process_id, "authKey": auth_key}, separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode()


def decode_link_payload(b64: str) -> tuple[int, str]:
    padded = b64 + "=" * (-len(b64) % 4)
    data = json.loads(base64.b64decode(padded))
    return int(data["id"]), str(data["authKey"])


@dataclass
class Release:
    """Slots that appear at replica time ``at`` and, optionally, vanish at ``vanish_at``."""

    at: float
    office_id: int
    timestamps: list[int]
    vanish_at: float | None = None
    applied: bool = False
    vanished: bool = False

    def to_json(self) -> dict:
        return {"at": self.at, "officeId": self.office_id, "timestamps": self.timestamps,
                "vanishAt": self.vanish_at, "applied": self.applied, "vanished": self.vanished}


@dataclass
class BookingDesk:
    settings: ReplicaSettings
    clock: ReplicaClock
    catalog: Catalog
    slots: dict[int, set[int]] = field(default_factory=dict)  # officeId -> unix seconds
    processes: dict[int, Process] = field(default_factory=dict)
    releases: list[Release] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _next_id: int = 100_001
    # Scenario hook: runs just before a reservation is checked, e.g. to let
    # "someone else" take the slot between the agent's calendar read and its reserve.
    before_reserve: Callable[[int, int], None] | None = None

    # -- availability ------------------------------------------------------
    def add_slots(self, office_id: int, timestamps: list[int]) -> None:
        with self.lock:
            self.slots.setdefault(office_id, set()).update(int(t) for t in timestamps)

    def remove_slots(self, office_id: int, timestamps: list[int] | None = None) -> None:
        """Take slots away (someone else booked them); all of the office's when None."""
        with self.lock:
            if timestamps is None:
                self.slots.pop(office_id, None)
            else:
                self.slots.get(office_id, set()).difference_update(int(t) for t in timestamps)

    def schedule_release(self, release: Release) -> Release:
        with self.lock:
            self.releases.append(release)
            self.releases.sort(key=lambda r: r.at)
        return release

    def _apply_releases(self) -> None:
        now = self.clock.now()
        for release in self.releases:
            if not release.applied and release.at <= now:
                self.slots.setdefault(release.office_id, set()).update(release.timestamps)
                release.applied = True
            if release.applied and not release.vanished and release.vanish_at is not None and release.vanish_at <= now:
                self.slots.get(release.office_id, set()).difference_update(release.timestamps)
                release.vanished = True

    def free_slots(self, office_id: int) -> list[int]:
        """Bookable slots of an office: released, in the future, not held by a live process."""
        with self.lock:
            self._apply_releases()
            self._expire_lapsed()
            now = self.clock.now()
            horizon = now + self.settings.max_future_days * 86400
            taken = {p.timestamp for p in self.processes.values() if p.office_id == office_id and p.status in LIVE}
            return sorted(t for t in self.slots.get(office_id, ()) if now < t <= horizon and t not in taken)

    def calendar(
        self,
        office_ids: list[int],
        start: date,
        end: date,
        slots_start: date,
        slots_end: date,
    ) -> dict:
        """The ``available-calendar/`` answer (``replica/calendar.py``); ``noAppointmentForThisScope`` when
        no requested office has a bookable day in ``[start, end]``."""
        by_day: dict[date, dict[int, list[int]]] = {}
        for office_id in sorted(office_ids):
            for ts in self.free_slots(office_id):
                day = datetime.fromtimestamp(ts, BERLIN).date()
                if start <= day <= end:
                    by_day.setdefault(day, {}).setdefault(office_id, []).append(ts)
        if not by_day:
            raise ApiError("noAppointmentForThisScope")
        return available_calendar(by_day, start, end, slots_start, slots_end)

    # -- process lifecycle -------------------------------------------------
    def _expire_lapsed(self) -> None:
        now = self.clock.now()
        for p in self.processes.values():
            if p.status == "reserved" and now >= p.status_since + self.settings.reservation_duration_min * 60:
                p.status = "lapsed"
            elif p.status == "preconfirmed" and now >= p.status_since + self.settings.activation_duration_min * 60:
                p.status = "lapsed"

    def _find(self, process_id: int, auth_key: str) -> Process:
        self._expire_lapsed()
        process = self.processes.get(process_id)
        kept = process is not None and process.status == "cancelled" and \
            self.clock.now() < process.status_since + self.settings.cancelled_kept_min * 60
        if process is None or (process.status not in LIVE and not kept):
            raise ApiError("appointmentNotFound")
        if not secrets.compare_digest(process.auth_key, auth_key):
            raise ApiError("authKeyMismatch")  # a wrong key, or the old key of a cancelled appointment
        if process.status not in LIVE:
            raise ApiError("appointmentNotFound")
        return process

    def expire_activations(self, process_ids: list[int] | None = None) -> int:
        """Fault: let activation links lapse now (all preconfirmed processes, or the given ones)."""
        with self.lock:
            count = 0
            for p in self.processes.values():
                if p.status == "preconfirmed" and (process_ids is None or p.process_id in process_ids):
                    p.status = "lapsed"
                    count += 1
            return count

    def reserve(
        self, office_id: int, timestamp: int, service_ids: list[int], counts: list[int], captcha_token: str
    ) -> Process:
        with self.lock:
            if self.before_reserve is not None:
                self.before_reserve(office_id, timestamp)
            if timestamp not in self.free_slots(office_id):
                raise ApiError("appointmentNotAvailable")
            now = self.clock.now()
            process = Process(
                process_id=self._next_id,
                auth_key=secrets.token_hex(4),
                office_id=office_id,
                timestamp=timestamp,
                service_ids=service_ids,
                service_counts=counts,
                created=now,
                status_since=now,
                captcha_token=captcha_token,
            )
            self._next_id += 1
            self.processes[process.process_id] = process
            return process

    def update(self, process_id: int, auth_key: str, contact: dict[str, str]) -> Process:
        with self.lock:
            process = self._find(process_id, auth_key)
            if process.status != "reserved":
                raise ApiError("processNotReservedAnymore")
            office = self.catalog.offices[process.office_id]
            if office.telephone_required and not contact.get("telephone"):
                raise ApiError("telephoneIsRequired")
            email = contact.get("email", "")
            if email:
                same_mail = [
                    p
                    for p in self.processes.values()
                    if p.status in LIVE and p.email.lower() == email.lower() and p.process_id != process_id
                ]
                if len(same_mail) >= self.settings.mails_per_address:
                    raise ApiError("tooManyAppointmentsWithSameMail")
            process.family_name = contact.get("familyName", "")
            process.email = email
            process.telephone = contact.get("telephone", "") if office.telephone_activated else ""
            process.custom_textfield = contact.get("customTextfield", "")
            process.custom_textfield2 = contact.get("customTextfield2", "")
            return process

    def preconfirm(self, process_id: int, auth_key: str) -> Process:
        with self.lock:
            process = self._find(process_id, auth_key)
            if process.status != "reserved":
                raise ApiError("processNotReservedAnymore")
            if self.catalog.offices[process.office_id].email_required and not process.email:
                raise ApiError("emailIsRequired")
            process.status = "preconfirmed"
            process.status_since = self.clock.now()
            return process

    def confirm(self, process_id: int, auth_key: str) -> Process:
        with self.lock:
            process = self._find(process_id, auth_key)
            if process.status != "preconfirmed":
                raise ApiError("processNotPreconfirmedAnymore")
            process.status = "confirmed"
            process.status_since = self.clock.now()
            process.ics = self._ics(process)
            return process

    def get(self, process_id: int, auth_key: str) -> Process:
        with self.lock:
            return self._find(process_id, auth_key)

    def cancel(self, process_id: int, auth_key: str) -> Process:
        """Cancel a live process; the answer carries the old key, the process a new one (as the city's)."""
        with self.lock:
            process = self._find(process_id, auth_key)
            process.status = "cancelled"
            process.status_since = self.clock.now()
            answer = replace(process)
            process.auth_key = secrets.token_hex(32)
            return answer

    def live_processes(self) -> list[Process]:
        with self.lock:
            self._expire_lapsed()
            return [p for p in self.processes.values() if p.status in LIVE]

    # -- rendering ---------------------------------------------------------
    def _ics(self, process: Process) -> str:
        start = datetime.fromtimestamp(process.timestamp, BERLIN)
        end = start + timedelta(minutes=self.catalog.offices[process.office_id].slot_minutes)
        fmt = "%Y%m%dT%H%M%S"
        return "\r\n".join(
            [
                "BEGIN:VCALENDAR",
                "VERSION:2.0",
                "PRODID:-//replica//zmscitizenapi//DE",
                "BEGIN:VEVENT",
                f"UID:{process.process_id}@replica",
                f"DTSTART;TZID=Europe/Berlin:{start.strftime(fmt)}",
                f"DTEND;TZID=Europe/Berlin:{end.strftime(fmt)}",
                f"SUMMARY:Termin {self.catalog.offices[process.office_id].name}",
                "END:VEVENT",
                "END:VCALENDAR",
            ]
        )

    def to_json(self, process: Process) -> dict:
        office = self.catalog.offices[process.office_id]
        main = self.catalog.services[process.service_ids[0]]
        subs = [
            {"id": sid, "name": self.catalog.services[sid].name if sid in self.catalog.services else "", "count": cnt}
            for sid, cnt in zip(process.service_ids[1:], process.service_counts[1:])
        ]
        return {
            "processId": process.process_id,
            "timestamp": str(process.timestamp),
            "authKey": process.auth_key,
            "familyName": process.family_name,
            "customTextfield": process.custom_textfield,
            "customTextfield2": process.custom_textfield2,
            "email": process.email,
            "telephone": process.telephone,
            "officeName": office.name,
            "officeId": office.id,
            "scope": office.scope(self.settings.reservation_duration_min, self.settings.activation_duration_min),
            "subRequestCounts": subs,
            "serviceId": main.id,
            "serviceName": main.name,
            "serviceCount": process.service_counts[0],
            "status": process.status,
            "captchaToken": process.captcha_token,
            "slotCount": sum(process.service_counts),
            "displayNumber": None,
            "icsContent": process.ics or None,
        }
