"""Step 2 "Termin": offices, calendar days and time slots.

How the site's calendar works (spec §3b): every answer lists the bookable days
of the *painted* month(s) with the offices of each day, and the free times of
one day only (its ``slotsStartDate``). A person sees the month, clicks a day
(one request for that day) or a month chevron, which jumps to the next / previous
bookable day (one request, and that day is selected). This page object offers
exactly those moves and reads everything from the page's own answers.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import date, datetime

from ..network import ApiAnswer
from ..timezone import BERLIN
from .base import StepPage

MAX_HOUR_PAGES = 12
MONTHS_DE = ("januar", "februar", "märz", "april", "mai", "juni", "juli", "august", "september", "oktober",
             "november", "dezember")


def slots_of(body: dict, day: str) -> dict[int, list[int]]:
    """officeId → free times of ``day`` in a calendar body (empty unless the body carries that day's times)."""
    for entry in body.get("availableDays", []):
        if entry.get("date") == day:
            return {int(o["officeId"]): sorted(int(t) for t in o.get("appointments", []))
                    for o in entry.get("offices", [])}
    return {}


def parse_month(caption: str) -> tuple[int, int] | None:
    """ "März 2027" → (2027, 3)."""
    match = re.search(r"([A-Za-zÄÖÜäöü]+)\s+(\d{4})", caption)
    if not match or match.group(1).lower() not in MONTHS_DE:
        return None
    return int(match.group(2)), MONTHS_DE.index(match.group(1).lower()) + 1


@dataclass(frozen=True)
class CalendarView:
    """What one calendar answer tells: painted days with their offices, one day's times, the neighbours."""

    offices_by_day: dict[str, set[int]]
    slot_day: str | None  # the day whose times the answer carries
    slots: dict[int, list[int]]
    prev_bookable: str | None
    next_bookable: str | None

    @classmethod
    def of(cls, answer: ApiAnswer | None) -> CalendarView:
        return cls.of_body(answer.body if answer else None)

    @classmethod
    def of_body(cls, body: object) -> CalendarView:
        """From a parsed ``available-calendar/`` body (the poller reads its own requests' bodies)."""
        body = body if isinstance(body, dict) else {}
        offices_by_day: dict[str, set[int]] = {}
        for entry in body.get("availableDays", []):
            if isinstance(entry, dict) and "date" in entry:
                ids = str(entry.get("providerIDs") or "")
                offices_by_day[entry["date"]] = {int(x) for x in ids.split(",") if x.strip().isdigit()}
        start, end = body.get("slotsStartDate"), body.get("slotsEndDate")
        slot_day = start if start and start == end else None
        slots = slots_of(body, slot_day) if slot_day else {}
        return cls(offices_by_day, slot_day if slots else None, slots, body.get("prevBookableDate"),
                   body.get("nextBookableDate"))


def _asks_for(day: str):
    """An answer to a request whose slots window holds ``day`` (the page asks for the day, or its month)."""

    def asks(answer: ApiAnswer) -> bool:
        start, end = answer.query("slotsStartDate"), answer.query("slotsEndDate") or answer.query("slotsStartDate")
        return bool(start and end and start <= day <= end)

    return asks


class AppointmentStep(StepPage):
    def latest_calendar(self) -> ApiAnswer | None:
        """The calendar the page shows: it paints each answer as it arrives, so the last to arrive."""
        return self.capture.last_arrived("available-calendar/")

    def view(self) -> CalendarView:
        return CalendarView.of(self.latest_calendar())

    async def shown_month(self) -> tuple[int, int] | None:
        """The month the calendar shows, read from its caption."""
        caption = await self.locate.try_find("calendar_month")
        return parse_month(await caption.inner_text()) if caption is not None else None

    async def restrict_offices(self, keep: set[int], names: dict[int, str], selectable: list[int]) -> None:
        """Untick the offices the person does not want (one calendar request follows)."""
        to_untick = [o for o in selectable if o not in keep]
        if not to_untick or len(selectable) < 2:
            return
        since = self.capture.mark()
        for office_id in to_untick:
            box = await self.locate.find("office_checkbox", office_id=office_id, office_name=names.get(office_id, ""))
            await box.uncheck()
        self.check(await self.capture.next("available-calendar/", since))
        await self.capture.settle()
        for answer in self.capture.since(since):
            self.check(answer)

    async def open_day(self, day: str) -> dict[int, list[int]] | None:
        """Click a day tile of the shown month: one request; returns that day's officeId -> slot times
        ({} when the site has none left that day, None when its answer carried another day's times)."""
        view = self.view()
        if view.slot_day == day:
            return view.slots  # the page already shows this day
        await self.capture.idle("available-calendar/")  # a held earlier request must not pass for this one
        since = self.capture.mark()
        await (await self.locate.find("day_tile", day=date.fromisoformat(day).day)).click()
        answer = self.check(await self.capture.next("available-calendar/", since, where=_asks_for(day)))
        view = CalendarView.of(answer)
        if view.slot_day == day:
            return view.slots
        return {} if view.slot_day is None else None

    async def jump(self, forward: bool = True) -> str | None:
        """A month chevron: the page jumps to the next (previous) bookable day and shows its times.

        Returns that day, or None when the site named none (the page then sends nothing)."""
        await self.capture.idle("available-calendar/")  # the page ignores chevrons while it loads
        view = self.view()
        target = view.next_bookable if forward else view.prev_bookable
        if not target:
            return None
        since = self.capture.mark()
        await (await self.locate.find("next_month" if forward else "previous_month")).click()
        answer = self.check(await self.capture.next("available-calendar/", since, where=_asks_for(target)))
        return CalendarView.of(answer).slot_day or target

    async def month_of(self, view: CalendarView, timeout: float = 5.0) -> tuple[int, int] | None:
        """The month the calendar shows once it has redrawn for ``view`` (its caption, read from the page).

        None when the caption never shows the answer's month (or cannot be read): the caller decides."""
        anchor = view.slot_day or min(view.offices_by_day, default=None)
        expected = (int(anchor[:4]), int(anchor[5:7])) if anchor else None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            shown = await self.shown_month()
            if expected is None or shown == expected:
                return shown
            if loop.time() >= deadline:
                return None
            await asyncio.sleep(0.05)

    async def pick_slot(self, office_id: int, office_name: str, timestamp: int) -> None:
        """Click a slot button, paging through hours ("Später") when it is not shown yet."""
        label = datetime.fromtimestamp(timestamp, BERLIN).strftime("%H:%M")
        params = {"office_id": office_id, "office_name": office_name, "timestamp": timestamp, "time": label}
        for _ in range(MAX_HOUR_PAGES):
            button = await self.locate.try_find("slot_button", **params)
            if button is not None and await button.is_visible():
                await button.click()
                return
            later = await self.locate.try_find("hour_later")
            if later is None or await later.get_attribute("aria-disabled") == "true":
                break
            await later.click()
        await self.locate.find("slot_button", timeout=2.0, **params)  # raises ControlNotFound with the strategies

    async def reserve(self) -> ApiAnswer:
        """ "Weiter" with a slot chosen: the site reserves it (the answer carries processId and authKey)."""
        since = self.capture.mark()
        await (await self.locate.find("next")).click()
        return self.check(await self.capture.next("reserve-appointment/", since))
