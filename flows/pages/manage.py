"""The manage link's page: show the appointment, cancel it."""

from __future__ import annotations

from ..network import ApiAnswer
from .base import StepPage


class ManagePage(StepPage):
    async def open(self, link: str) -> ApiAnswer:
        return self.check(await self.load(link, "appointment/"))

    async def cancel(self) -> ApiAnswer:
        since = self.capture.mark()
        await (await self.locate.find("cancel")).click()
        answer = self.check(await self.capture.next("cancel-appointment/", since))
        if not answer.error_codes:
            await self.locate.find("cancelled_notice")
        return answer
