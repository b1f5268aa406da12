"""A person's walk through the replica's booking page, with plain Playwright
locators from the spec (they pierce the open shadow roots)."""

from __future__ import annotations

from playwright.async_api import Page, expect

from replica.site import Replica


async def choose_service_by_search(page: Page, name: str) -> None:
    # The design system labels the hidden <select>, not choices.js' combobox,
    # so the combobox is found inside the form group of that label.
    group = page.locator(".m-form-group").filter(has=page.get_by_text("Bürgerservice-Suche", exact=True))
    await group.get_by_role("combobox").locator(".choices__inner").click()
    await page.get_by_role("searchbox", name="Leistung auswählen").fill(name)
    await page.get_by_role("option", name=name, exact=True).click()


async def solve_altcha(page: Page) -> None:
    await page.locator("altcha-widget").get_by_text("Ich bin kein Bot.").click()
    await expect(page.locator("altcha-widget .altcha[data-state=verified]")).to_be_attached(timeout=30_000)


async def keep_only_office(page: Page, office_id: int, all_ids: list[int]) -> None:
    for other in all_ids:
        if other != office_id:
            await page.locator(f"#checkbox-provider-{other}").uncheck()


async def pick_first_enabled_day(page: Page) -> str:
    await expect(page.get_by_role("heading", name="Datum und Uhrzeit")).to_be_visible()
    tile = page.locator("div.muc-calendar-item[role=button]:not([aria-disabled=true])").first
    name = await tile.get_attribute("aria-label") or ""
    await tile.click()
    return name


async def fill_contact(page: Page, first: str, last: str, email: str, phone: str | None = None) -> None:
    await page.get_by_label("Vorname").fill(first)
    await page.get_by_label("Nachname").fill(last)
    await page.get_by_label("E-Mail-Adresse").fill(email)
    if phone is not None:
        await page.get_by_label("Telefonnummer").fill(phone)


def api_calls(replica: Replica, since: int = 0) -> list[tuple[str, str]]:
    """(method, endpoint) of every API request the replica saw after index ``since``."""
    prefix = replica.settings.api_prefix + "/"
    return [(r.method, r.path.removeprefix(prefix)) for r in replica.requests.all()[since:]]


async def settle(page: Page, replica: Replica, quiet_ms: int = 400, timeout_ms: int = 10_000) -> None:
    """Wait until the page has sent no API request for ``quiet_ms``."""
    waited, last, quiet = 0, len(replica.requests.all()), 0
    while quiet < quiet_ms and waited < timeout_ms:
        await page.wait_for_timeout(50)
        waited += 50
        now = len(replica.requests.all())
        quiet = 0 if now != last else quiet + 50
        last = now


def calendar_query(replica: Replica, index: int = -1) -> dict[str, str]:
    """Parameters of an ``available-calendar/`` request from the request log."""
    from urllib.parse import parse_qsl

    calls = [r for r in replica.requests.all() if r.path.endswith("/available-calendar/")]
    return dict(parse_qsl(calls[index].query))
