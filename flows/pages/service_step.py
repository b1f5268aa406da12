"""Step 1 "Leistung": the service (by deep link or search), its count, the captcha, "Weiter"."""

from __future__ import annotations

from ..network import ApiAnswer
from .base import StepPage


class ServiceStep(StepPage):
    async def open(self, booking_url: str, service_id: int, office_id: int | None = None,
                   send_timeout: float | None = None) -> ApiAnswer:
        """Open the deep link of a service (and office) and wait for the catalogue (the page asks for it
        within ``send_timeout``, or the flow stops saying which API it expected)."""
        fragment = f"#/services/{service_id}" + (f"/locations/{office_id}" if office_id else "")
        if self.page.url.split("#", 1)[0] == booking_url.split("#", 1)[0]:
            await self.page.goto("about:blank")  # a fresh load, not just a hash change
        return self.check(await self.load(booking_url.split("#", 1)[0] + fragment, "offices-and-services/",
                                          send_timeout))

    async def choose_service_by_search(self, service_name: str) -> None:
        """The search path a person takes without a deep link."""
        await (await self.locate.find("service_search")).click()
        await (await self.locate.find("service_search_input")).fill(service_name)
        await (await self.locate.find("service_option", service_name=service_name)).click()

    async def set_count(self, service_id: int, service_name: str, count: int) -> None:
        for target in range(2, count + 1):
            button = await self.locate.find("count_increase", service_id=service_id, service_name=service_name,
                                            count=target)
            await button.click()

    async def proceed(self, follow_up_timeout: float = 5.0) -> list[ApiAnswer]:
        """ "Weiter": the calendar for all selectable offices, and — when the site answered with a day
        outside the window the page asked for (a miss, or the lead time) — the page's follow-up for that day.

        The follow-up is waited for by what it asks (not by a quiet period): it is on the hot path."""
        since = self.capture.mark()
        await (await self.locate.find("next")).click()
        first = self.check(await self.capture.next("available-calendar/", since))
        body = first.body if isinstance(first.body, dict) else {}
        shown, asked_from, asked_to = body.get("slotsStartDate"), first.query("slotsStartDate"), first.query("slotsEndDate")
        outside = shown and shown == body.get("slotsEndDate") and asked_from and asked_to and \
            not (asked_from <= shown <= asked_to)
        if not outside:
            return [first]
        try:
            follow = await self.capture.next("available-calendar/", since, timeout=follow_up_timeout,
                                             where=lambda a: a is not first and a.query("slotsStartDate") == shown)
        except TimeoutError:
            return [first]  # this page does not ask again: the first answer already carries the day
        return [first, self.check(follow)]
