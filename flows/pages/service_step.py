"""Step 1 "Leistung": the service (by deep link or search), its count, the captcha, "Weiter"."""

from __future__ import annotations

from ..network import ApiAnswer
from .base import StepPage


class ServiceStep(StepPage):
    async def open(self, booking_url: str, service_id: int, office_id: int | None = None) -> ApiAnswer:
        """Open the deep link of a service (and office) and wait for the catalogue."""
        since = self.capture.mark()
        fragment = f"#/services/{service_id}" + (f"/locations/{office_id}" if office_id else "")
        if self.page.url.split("#", 1)[0] == booking_url.split("#", 1)[0]:
            await self.page.goto("about:blank")  # a fresh load, not just a hash change
        await self.page.goto(booking_url.split("#", 1)[0] + fragment)
        answer = self.check(await self.capture.next("offices-and-services/", since))
        return answer

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

    async def proceed(self) -> list[ApiAnswer]:
        """ "Weiter": the calendar for all selectable offices (and a follow-up for the first bookable day)."""
        since = self.capture.mark()
        await (await self.locate.find("next")).click()
        first = self.check(await self.capture.next("available-calendar/", since))
        await self.capture.settle()
        return [self.check(a) for a in self.capture.answers[since:] if a.endpoint == "available-calendar/"] or [first]
