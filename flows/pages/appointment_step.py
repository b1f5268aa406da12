"""Step 2 "Termin": offices, calendar days and time slots."""

from __future__ import annotations

from datetime import date, datetime

from ..network import ApiAnswer
from ..timezone import BERLIN
from .base import StepPage

MAX_HOUR_PAGES = 12


def days_of(answer: ApiAnswer | None) -> list[str]:
    body = answer.body if answer and isinstance(answer.body, dict) else {}
    return [d["date"] for d in body.get("availableDays", []) if isinstance(d, dict) and "date" in d]


def slots_of(answer: ApiAnswer | None, day: str) -> dict[int, list[int]]:
    body = answer.body if answer and isinstance(answer.body, dict) else {}
    for entry in body.get("availableDays", []):
        if entry.get("date") == day:
            return {int(o["officeId"]): sorted(int(t) for t in o.get("appointments", []))
                    for o in entry.get("offices", [])}
    return {}


class AppointmentStep(StepPage):
    shown_month: tuple[int, int] | None = None

    def latest_calendar(self) -> ApiAnswer | None:
        return self.capture.latest("available-calendar/")

    def available_days(self) -> list[str]:
        """Days the site offers now (from its last calendar answer)."""
        return days_of(self.latest_calendar())

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
        for answer in self.capture.answers[since:]:
            self.check(answer)

    async def open_day(self, day: str) -> dict[int, list[int]]:
        """Show a day's slots (navigating months as needed); returns officeId -> slot times."""
        target = date.fromisoformat(day)
        await self.locate.find("date_heading")
        latest = self.latest_calendar()
        body = latest.body if latest and isinstance(latest.body, dict) else {}
        if body.get("slotsStartDate") == day == body.get("slotsEndDate"):
            return slots_of(latest, day)  # the page already shows this day
        if self.shown_month is None:
            shown = date.fromisoformat(body.get("slotsStartDate") or day)
            self.shown_month = (shown.year, shown.month)
        while (target.year, target.month) != self.shown_month:
            forward = (target.year, target.month) > self.shown_month
            await (await self.locate.find("next_month" if forward else "previous_month")).click()
            y, m = self.shown_month
            m += 1 if forward else -1
            self.shown_month = (y + (m - 1) // 12, (m - 1) % 12 + 1)
        since = self.capture.mark()
        await (await self.locate.find("day_tile", day=target.day)).click()
        answer = self.check(await self.capture.next("available-calendar/", since))
        return slots_of(answer, day)

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
