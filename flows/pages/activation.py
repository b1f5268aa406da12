"""The activation link's page: the appointment becomes booked."""

from __future__ import annotations

from ..network import ApiAnswer
from .base import StepPage


class ActivationPage(StepPage):
    async def activate(self, link: str) -> ApiAnswer:
        since = self.capture.mark()
        answer = self.check(await self.load(link, "confirm-appointment/"))
        if answer.error_codes == ["processNotPreconfirmedAnymore"]:
            answer = self.check(await self.capture.next("appointment/", since))
        return answer
