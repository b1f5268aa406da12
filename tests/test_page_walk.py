"""The replica's booking page walked as a person would, in real headless Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.page_helpers import (
    choose_service_by_search,
    fill_contact,
    keep_only_office,
    pick_first_enabled_day,
    solve_altcha,
)
from tests.replica_helpers import berlin_slot

pytestmark = pytest.mark.browser
REISEPASS_OFFICES = [10502, 54261, 102522, 102523, 102524, 102526]


async def walk_to_reserved(page: Page, server, replica, captcha: bool) -> None:
    slot = berlin_slot(replica, 3, 9, 30)
    replica.desk.add_slots(102522, [slot, berlin_slot(replica, 3, 11)])
    replica.desk.add_slots(102523, [berlin_slot(replica, 4, 10)])

    await page.goto(f"{server.base_url}/buergerservice/terminvereinbarung.html")
    await choose_service_by_search(page, "Reisepass")
    await page.get_by_role("button", name="Anzahl Reisepass erhöhen auf 2").click()
    weiter = page.get_by_role("button", name="Weiter")
    if captcha:
        await expect(page.locator("altcha-widget")).to_be_visible()
        await solve_altcha(page)
    else:
        await expect(page.locator("altcha-widget")).to_have_count(0)
    await expect(weiter).to_be_enabled()
    await weiter.click()

    await keep_only_office(page, 102522, REISEPASS_OFFICES)
    await expect(page.locator("#timeslot-grid-provider-102522")).to_be_visible()
    await pick_first_enabled_day(page)
    slot_button = page.locator(f"#provider-102522-timeslot-{slot}")
    await expect(slot_button).to_have_accessible_name("09:30 Uhr, Bürgerbüro Orleansplatz")
    await slot_button.click()
    await page.get_by_role("button", name="Weiter").click()

    await fill_contact(page, "Erika", "Mustermann", "erika@example.org", "+4989123456")
    await page.get_by_role("button", name="Weiter").click()
    await page.locator("#checkbox-electronic-communication").check()
    await page.get_by_role("button", name="Termin reservieren").click()
    await expect(page.get_by_text("Aktivieren Sie Ihren Termin.")).to_be_visible()


@pytest.mark.parametrize("captcha", [True, False], ids=["altcha", "no-captcha"])
async def test_person_books_activates_and_cancels(page: Page, server, replica, captcha: bool) -> None:
    replica.clock.unfreeze()
    if not captcha:
        replica.set_captcha_required(False)
    await walk_to_reserved(page, server, replica, captcha)

    process = replica.desk.live_processes()[0]
    assert process.status == "preconfirmed" and process.service_counts == [2]
    assert process.family_name == "Erika Mustermann"
    mail = replica.outbox.latest_for("erika@example.org")
    assert mail is not None
    await page.goto(mail.link)
    await expect(page.get_by_text("Ihr Termin wurde gebucht.")).to_be_visible()
    assert replica.desk.live_processes()[0].status == "confirmed"

    manage = mail.link.replace("#/appointment/confirm/", "#/appointment/")
    await page.goto(manage)
    await page.get_by_role("button", name="Termin absagen").click()
    await expect(page.get_by_text("Sie haben Ihren Termin erfolgreich abgesagt.")).to_be_visible()
    assert replica.desk.live_processes() == []


@pytest.mark.parametrize("timezone", ["America/New_York", "Asia/Tokyo"])
async def test_slot_labels_are_berlin_time_whatever_the_browser_timezone(browser, server, replica, timezone) -> None:
    replica.set_captcha_required(False)
    slot = berlin_slot(replica, 2, 8, 15)
    replica.desk.add_slots(102522, [slot])
    context = await browser.new_context(locale="de-DE", timezone_id=timezone)
    page = await context.new_page()
    await page.goto(f"{server.base_url}/buergerservice/terminvereinbarung.html#/services/1063453/locations/102522?exclusiveLocation=1")
    await page.get_by_role("button", name="Weiter").click()
    button = page.locator(f"#provider-102522-timeslot-{slot}")
    await expect(button).to_have_accessible_name(re.compile(r"^08:15 Uhr, Bürgerbüro Orleansplatz$"))
    await context.close()
