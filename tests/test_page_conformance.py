"""The replica's page sends exactly the requests of spec §4b for each user action.

Each step performs one user action, waits until the page is quiet, and compares
the API calls the replica logged in between with the table.
"""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.page_helpers import api_calls, calendar_query, choose_service_by_search, fill_contact, settle
from tests.replica_helpers import berlin_slot

pytestmark = pytest.mark.browser
GET, POST = "GET", "POST"


class Recorder:
    def __init__(self, page: Page, replica) -> None:
        self.page, self.replica, self.mark = page, replica, 0

    async def calls_after(self, action) -> list[tuple[str, str]]:
        self.mark = len(self.replica.requests.all())
        await action()
        await settle(self.page, self.replica)
        return api_calls(self.replica, self.mark)


async def test_each_user_action_sends_the_spec_requests(page: Page, server, replica) -> None:
    replica.clock.unfreeze()
    today = replica.clock.now_berlin().date()
    first_day, second_day = today.fromordinal(today.toordinal() + 3), today.fromordinal(today.toordinal() + 5)
    slot_a, slot_b = berlin_slot(replica, 3, 9), berlin_slot(replica, 3, 10)
    replica.desk.add_slots(102522, [slot_a, slot_b])
    replica.desk.add_slots(102523, [berlin_slot(replica, 5, 9)])
    rec = Recorder(page, replica)
    url = f"{server.base_url}/buergerservice/terminvereinbarung.html"

    # page load
    assert await rec.calls_after(lambda: page.goto(url)) == [(GET, "offices-and-services/")]

    # the captcha widget appears with the service
    assert await rec.calls_after(lambda: choose_service_by_search(page, "Reisepass")) == [(GET, "captcha-details/")]

    # ticking "Ich bin kein Bot."
    async def tick():
        await page.locator("altcha-widget").get_by_text("Ich bin kein Bot.").click()
        await expect(page.locator("altcha-widget .altcha[data-state=verified]")).to_be_attached(timeout=30_000)
    assert await rec.calls_after(tick) == [(GET, "captcha-challenge/"), (POST, "captcha-verify/")]

    # "Weiter": all selectable offices ascending, slots window today, then a
    # follow-up for the first bookable day (outside today's window)
    weiter = page.get_by_role("button", name="Weiter")
    assert await rec.calls_after(weiter.click) == [(GET, "available-calendar/")] * 2
    first, follow_up = calendar_query(replica, -2), calendar_query(replica, -1)
    assert first["officeIds"] == "10502,54261,102522,102523,102524,102526"
    assert first["slotsStartDate"] == first["slotsEndDate"] == today.isoformat()
    assert first["serviceIds"] == "1063453" and first["serviceCounts"] == "1"
    assert first["startDate"] == today.isoformat() and first["captchaToken"]
    assert follow_up["slotsStartDate"] == follow_up["slotsEndDate"] == first_day.isoformat()

    # a day tile
    day_tile = page.get_by_role("button", name=f"{second_day.day} auswählen")
    if second_day.month != first_day.month:
        await page.get_by_role("button", name="Nächster Monat").click()
        await settle(page, replica)
    assert await rec.calls_after(day_tile.click) == [(GET, "available-calendar/")]
    assert calendar_query(replica)["slotsStartDate"] == calendar_query(replica)["slotsEndDate"] == second_day.isoformat()

    # unticking an office: one request with the checked offices (after ~150 ms)
    assert await rec.calls_after(lambda: page.locator("#checkbox-provider-10502").uncheck()) == [
        (GET, "available-calendar/")
    ]
    assert calendar_query(replica)["officeIds"] == "54261,102522,102523,102524,102526"

    # list view "mehr laden": the next month
    await page.get_by_role("button", name="Listenansicht").click()
    assert await rec.calls_after(page.get_by_role("button", name="mehr laden").click) == [(GET, "available-calendar/")]
    more = calendar_query(replica)
    assert more["slotsStartDate"] > second_day.isoformat() and more["slotsEndDate"] > more["slotsStartDate"]
    await page.get_by_role("button", name="Kalenderansicht").click()

    # slot, then "Weiter": reserve
    await page.get_by_role("button", name=f"{first_day.day} auswählen").click()
    await settle(page, replica)
    await page.locator(f"#provider-102522-timeslot-{slot_a}").click()
    assert await rec.calls_after(weiter.click) == [(POST, "reserve-appointment/")]

    # back, another slot, "Weiter": the new reservation replaces the old one
    await page.get_by_role("button", name="Zurück").click()
    await page.locator(f"#provider-102522-timeslot-{slot_b}").click()
    assert await rec.calls_after(weiter.click) == [(POST, "reserve-appointment/"), (POST, "cancel-appointment/")]

    # contact "Weiter" (after client-side validation: a bad e-mail sends nothing)
    await fill_contact(page, "Erika", "Mustermann", "not-an-email")
    assert await rec.calls_after(weiter.click) == []
    await page.get_by_label("E-Mail-Adresse").fill("erika@example.org")
    assert await rec.calls_after(weiter.click) == [(POST, "update-appointment/")]

    # "Termin reservieren"
    await page.locator("#checkbox-electronic-communication").check()
    reserve = page.get_by_role("button", name="Termin reservieren")
    assert await rec.calls_after(reserve.click) == [(POST, "preconfirm-appointment/")]

    # activation link, then the same link again (already activated)
    link = replica.outbox.latest_for("erika@example.org").link
    assert await rec.calls_after(lambda: page.goto(link)) == [(POST, "confirm-appointment/")]
    await expect(page.get_by_text("Ihr Termin wurde gebucht.")).to_be_visible()
    await page.goto("about:blank")
    assert await rec.calls_after(lambda: page.goto(link)) == [(POST, "confirm-appointment/"), (GET, "appointment/")]

    # manage link, then "Termin absagen"
    manage = link.replace("#/appointment/confirm/", "#/appointment/")
    await page.goto("about:blank")
    assert await rec.calls_after(lambda: page.goto(manage)) == [(GET, "offices-and-services/"), (GET, "appointment/")]
    cancel = page.get_by_role("button", name="Termin absagen")
    assert await rec.calls_after(cancel.click) == [(POST, "cancel-appointment/")]
    await expect(page.get_by_text("Sie haben Ihren Termin erfolgreich abgesagt.")).to_be_visible()
