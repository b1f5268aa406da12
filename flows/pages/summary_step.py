"""Step 4 "Übersicht": consent and "Termin reservieren"."""

from __future__ import annotations

from ..network import ApiAnswer
from .base import StepPage


class SummaryStep(StepPage):
    async def reserve(self) -> ApiAnswer:
        """Consent, then "Termin reservieren": the site preconfirms and e-mails the activation link."""
        await (await self.locate.find("consent")).check()
        since = self.capture.mark()
        await (await self.locate.find("reserve")).click()
        answer = self.check(await self.capture.next("preconfirm-appointment/", since))
        await self.locate.find("activate_notice")
        return answer
