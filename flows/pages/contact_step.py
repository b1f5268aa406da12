"""Step 3 "Kontakt": the person's contact details."""

from __future__ import annotations

from ..network import ApiAnswer
from ..request import Contact
from .base import StepPage


class ContactStep(StepPage):
    async def fill(self, contact: Contact) -> None:
        await (await self.locate.find("first_name")).fill(contact.first_name)
        await (await self.locate.find("last_name")).fill(contact.last_name)
        await (await self.locate.find("email")).fill(contact.email)
        if contact.telephone:
            phone = await self.locate.try_find("telephone")
            if phone is not None:
                await phone.fill(contact.telephone)

    async def submit(self) -> ApiAnswer:
        since = self.capture.mark()
        await (await self.locate.find("next")).click()
        return self.check(await self.capture.next("update-appointment/", since))
