"""After the reservation: activate from the e-mailed link, or cancel through the manage link."""

from __future__ import annotations

from dataclasses import dataclass

from playwright.async_api import Page

from .locators import Resolver, SelectorBook
from .network import ApiCapture
from .outcomes import FlowStop, Outcome, OutcomeKind
from .pages import ActivationPage, ManagePage


async def activate(page: Page, book: SelectorBook, api_url: str, link: str) -> Outcome:
    capture, locate = ApiCapture(page, api_url), Resolver(page, book)
    try:
        answer = await ActivationPage(page, locate, capture).activate(link)
    except FlowStop as stop:
        return stop.outcome
    body = answer.body if isinstance(answer.body, dict) else {}
    if answer.error_codes:
        return Outcome(OutcomeKind.SITE_ERROR, "the site refused the activation: " + ", ".join(answer.error_codes)
                       + (" (the activation link has expired)" if "appointmentNotFound" in answer.error_codes else ""))
    if body.get("status") != "confirmed":
        return Outcome(OutcomeKind.SITE_ERROR, f"the appointment is {body.get('status')!r}, not confirmed")
    await locate.find("booked_notice")
    return Outcome(OutcomeKind.CONFIRMED, "the appointment is booked", office_id=body.get("officeId"),
                   office_name=body.get("officeName"), slot_ts=int(body["timestamp"]),
                   process_id=int(body["processId"]), ics=body.get("icsContent") or None)


@dataclass(frozen=True)
class CancelResult:
    cancelled: bool
    message: str
    process_id: int | None = None


async def cancel(page: Page, book: SelectorBook, api_url: str, link: str) -> CancelResult:
    capture, locate = ApiCapture(page, api_url), Resolver(page, book)
    manage = ManagePage(page, locate, capture)
    try:
        shown = await manage.open(link)
        if shown.error_codes:
            return CancelResult(False, "the site does not know this appointment: " + ", ".join(shown.error_codes))
        answer = await manage.cancel()
    except FlowStop as stop:
        return CancelResult(False, stop.outcome.reason)
    if answer.error_codes:
        return CancelResult(False, "the site refused the cancellation: " + ", ".join(answer.error_codes))
    body = answer.body if isinstance(answer.body, dict) else {}
    return CancelResult(True, "the appointment is cancelled", body.get("processId"))
