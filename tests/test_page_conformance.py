"""The replica's page sends exactly the requests of spec §4b for each user action.

Each step performs one user action, waits until the page is quiet, and compares
the API calls the replica logged in between with the table.
"""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from playwright.async_api import Page, expect

from tests.page_helpers import api_calls, calendar_query, choose_service_by_search, fill_contact, settle
from replica.clock import BERLIN
from tests.replica_helpers import berlin_slot

MONTHS_DE = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
             "November", "Dezember"]


def longday(day: date) -> str:
    weekdays = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"]
    return f"{weekdays[day.weekday()]}, {day.day}. {MONTHS_DE[day.month - 1]} {day.year}"

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
    # the only later slot lies in the month after next: the month in between is empty
    month_after_next = date(today.year + (today.month + 1) // 12, (today.month + 1) % 12 + 1, 4)
    far_day = month_after_next
    far_slot = int(datetime.combine(far_day, time(9, 0), BERLIN).timestamp())
    replica.desk.add_slots(102522, [far_slot])
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

    # a day tile (or, across a month boundary, the chevron, which jumps straight to it)
    def same_month(a, b) -> bool:
        return (a.year, a.month) == (b.year, b.month)

    async def show(day, previous_shown) -> None:
        if same_month(day, previous_shown):
            action = page.get_by_role("button", name=f"{day.day} auswählen").click
        else:
            name = "Nächster Monat" if day > previous_shown else "Vorheriger Monat"
            action = page.get_by_role("button", name=name).click
        assert await rec.calls_after(action) == [(GET, "available-calendar/")]
        query = calendar_query(replica)
        assert query["slotsStartDate"] == query["slotsEndDate"] == day.isoformat()

    await show(second_day, first_day)

    # "Nächster Monat" jumps over the empty month to the next bookable day: one request for that day
    assert await rec.calls_after(page.get_by_role("button", name="Nächster Monat").click) == [
        (GET, "available-calendar/")
    ]
    assert calendar_query(replica)["slotsStartDate"] == calendar_query(replica)["slotsEndDate"] == far_day.isoformat()
    await expect(page.locator(".calendar-caption h3")).to_have_text(MONTHS_DE[far_day.month - 1] + f" {far_day.year}")
    await expect(page.locator(f"#provider-102522-timeslot-{far_slot}")).to_be_visible()
    # …and "Vorheriger Monat" back to the last bookable day before it
    assert await rec.calls_after(page.get_by_role("button", name="Vorheriger Monat").click) == [
        (GET, "available-calendar/")
    ]
    assert calendar_query(replica)["slotsStartDate"] == second_day.isoformat()

    # unticking an office: one request with the checked offices (after ~150 ms)
    assert await rec.calls_after(lambda: page.locator("#checkbox-provider-10502").uncheck()) == [
        (GET, "available-calendar/")
    ]
    assert calendar_query(replica)["officeIds"] == "54261,102522,102523,102524,102526"

    # list view "mehr laden": one request for the next bookable day
    await page.get_by_role("button", name="Listenansicht").click()
    assert await rec.calls_after(page.get_by_role("button", name="mehr laden").click) == [(GET, "available-calendar/")]
    more = calendar_query(replica)
    assert more["slotsStartDate"] == more["slotsEndDate"] == far_day.isoformat()
    await expect(page.get_by_role("button", name=longday(far_day))).to_be_visible()
    await page.get_by_role("button", name="Kalenderansicht").click()
    await show(first_day, second_day)

    # slot, then "Weiter": reserve
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
