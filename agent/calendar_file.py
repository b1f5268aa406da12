"""The appointment as a calendar file for the person: the site's own ``icsContent`` when it sent one,
else one made with ``icalendar`` from what the agent knows (office, time)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from icalendar import Calendar, Event

from flows.outcomes import Outcome
from flows.timezone import BERLIN

from .config import Settings

DEFAULT_MINUTES = 15  # the site's usual slot; the real length is in the city's e-mail


def made_calendar(attempt_id: int, outcome: Outcome, booking_url: str) -> str:
    """A one-event calendar (RFC 5545) for a confirmed appointment the site sent no file for."""
    start = datetime.fromtimestamp(outcome.slot_ts or 0, BERLIN)
    calendar = Calendar()
    calendar.add("prodid", "-//Munich Termin Automator//mta//EN")
    calendar.add("version", "2.0")
    event = Event()
    event.add("uid", f"mta-attempt-{attempt_id}-{outcome.process_id or 0}@mta.local")
    event.add("dtstamp", datetime.now(BERLIN))
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=DEFAULT_MINUTES))
    event.add("summary", f"Termin: {outcome.office_name or 'Bürgerbüro'}")
    if outcome.office_name:
        event.add("location", outcome.office_name)
    event.add("description", f"Booked by the Munich Termin Automator (attempt {attempt_id}). "
              f"Manage or cancel it with the link in the city's e-mail; site: {booking_url}")
    calendar.add_component(event)
    return calendar.to_ical().decode()


def keep_calendar_file(settings: Settings, attempt_id: int, outcome: Outcome) -> Path | None:
    """The appointment's ``.ics`` in the private data directory (owner-only), for the person's notice."""
    ics = outcome.ics or (made_calendar(attempt_id, outcome, settings.booking_url) if outcome.slot_ts else None)
    if not ics:
        return None
    folder = settings.data_dir / "calendar"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"attempt-{attempt_id}.ics"
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(ics, encoding="utf-8")
    return path
