"""After the reservation: activate from the e-mailed link, or cancel through the manage link."""

from __future__ import annotations

from dataclasses import dataclass

from playwright.async_api import Page

from .locators import Resolver, SelectorBook
from .network import ApiCapture, PageGone
from .outcomes import FlowStop, Outcome, OutcomeKind
from .pages import ActivationPage, ManagePage


# What the city's answers to a link mean (zmscitizenbackend, see docs/replica-contract.md): cancelling changes
# an appointment's key, so its links answer authKeyMismatch while the cancelled process is kept (15 minutes by
# default), then appointmentNotFound — the answer a lapsed activation gets too.
CANCELLED = ("the site no longer accepts this link's key (authKeyMismatch): the city changes an appointment's key "
             "when it is cancelled")
EXPIRED = ("the site no longer knows the appointment (appointmentNotFound): its activation time ran out (a "
           "reservation must be activated within the time the e-mail names, usually 60 minutes), or it was "
           "cancelled a while ago")


def link_ended(codes: list[str]) -> tuple[str, str] | None:
    """(cancelled | expired, why) when the site's error codes say the appointment behind a link has ended."""
    if "authKeyMismatch" in codes:
        return "cancelled", CANCELLED
    if "appointmentNotFound" in codes:
        return "expired", EXPIRED
    return None


async def activate(page: Page, book: SelectorBook, api_url: str, link: str) -> Outcome:
    capture, locate = ApiCapture(page, api_url), Resolver(page, book)
    try:
        answer = await ActivationPage(page, locate, capture).activate(link)
    except FlowStop as stop:
        return stop.outcome
    except PageGone as gone:
        return Outcome(OutcomeKind.SITE_ERROR, f"the browser could not open the link: {gone}")
    body = answer.body if isinstance(answer.body, dict) else {}
    if ended := link_ended(answer.error_codes):
        status, why = ended
        return Outcome(OutcomeKind.SITE_ERROR, f"{why}; nothing to activate", process_status=status)
    if answer.error_codes:
        return Outcome(OutcomeKind.SITE_ERROR, "the site refused the activation: " + ", ".join(answer.error_codes))
    status = body.get("status")
    if status != "confirmed":
        return Outcome(OutcomeKind.SITE_ERROR, f"the site reports the appointment {status!r}, not confirmed")
    again = answer.endpoint == "appointment/"  # confirm answered processNotPreconfirmedAnymore: asked the status
    await locate.find("booked_notice")
    return Outcome(OutcomeKind.CONFIRMED, "the appointment was already activated: it is booked" if again
                   else "the appointment is booked", office_id=body.get("officeId"),
                   office_name=body.get("officeName"), slot_ts=int(body["timestamp"]),
                   process_id=int(body["processId"]), ics=body.get("icsContent") or None)


@dataclass(frozen=True)
class CancelResult:
    cancelled: bool
    message: str
    process_id: int | None = None
    ended: str | None = None  # not cancelled now because it had ended already: cancelled | expired


async def cancel(page: Page, book: SelectorBook, api_url: str, link: str) -> CancelResult:
    capture, locate = ApiCapture(page, api_url), Resolver(page, book)
    manage = ManagePage(page, locate, capture)
    try:
        shown = await manage.open(link)
        if ended := link_ended(shown.error_codes):
            return CancelResult(False, f"{ended[1]}; nothing to cancel", ended=ended[0])
        if shown.error_codes:
            return CancelResult(False, "the site does not know this appointment: " + ", ".join(shown.error_codes))
        answer = await manage.cancel()
    except FlowStop as stop:
        return CancelResult(False, stop.outcome.reason)
    except PageGone as gone:
        return CancelResult(False, f"the browser could not open the link: {gone}")
    if ended := link_ended(answer.error_codes):
        return CancelResult(False, f"{ended[1]}; nothing to cancel", ended=ended[0])
    if answer.error_codes:
        return CancelResult(False, "the site refused the cancellation: " + ", ".join(answer.error_codes))
    body = answer.body if isinstance(answer.body, dict) else {}
    return CancelResult(True, "the site confirmed the cancellation; the slot is free for others again",
                        body.get("processId"))
