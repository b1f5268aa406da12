"""The activation link's page: the appointment becomes booked."""

from __future__ import annotations

from ..network import ApiAnswer
from .base import StepPage


class ActivationPage(StepPage):
    async def activate(self, link: str) -> ApiAnswer:
        since = self.capture.mark()
        await self.page.goto(link)
        answer = self.check(await self.capture.next("confirm-appointment/", since))
        if answer.error_codes == ["processNotPreconfirmedAnymore"]:
            answer = self.check(await self.capture.next("appointment/", since))
        return answer
