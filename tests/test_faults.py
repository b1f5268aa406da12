"""Fault injection through the scenario API, observed from a plain HTTP client and from the page."""

from __future__ import annotations

import time

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.page_helpers import choose_service_by_search
from tests.replica_helpers import berlin_slot, calendar_params, captcha_token, error_codes

PAGE = "/buergerservice/terminvereinbarung.html"


@pytest.fixture
def scenario(server) -> httpx.Client:
    with httpx.Client(base_url=server.base_url + "/__replica__", timeout=10) as client:
        yield client


def inject(scenario: httpx.Client, **body) -> None:
    answer = scenario.post("/faults", json=body)
    assert answer.status_code == 200, answer.text


def test_latency(scenario, api) -> None:
    inject(scenario, latencyMs=300)
    started = time.perf_counter()
    assert api.get("offices-and-services/").status_code == 200
    assert time.perf_counter() - started >= 0.3


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("error500", 500, "internalError"), ("maintenance", 503, "serviceUnavailable"),
     ("rate_limit", 429, "rateLimitExceeded")],
)
def test_error_answers_for_a_number_of_requests(scenario, api, kind, status, code) -> None:
    inject(scenario, rules=[{"kind": kind, "path": "offices-and-services", "count": 2}])
    for _ in range(2):
        answer = api.get("offices-and-services/")
        assert answer.status_code == status and error_codes(answer) == [code]
    assert api.get("captcha-details/").status_code == 200  # other paths untouched
    assert api.get("offices-and-services/").status_code == 200  # count used up


def test_429_storm_lasts_its_duration_on_the_replica_clock(scenario, api, replica) -> None:
    inject(scenario, rules=[{"kind": "rate_limit", "forS": 120}])
    storm = api.get("captcha-details/")
    assert storm.status_code == 429 and storm.headers["X-RateLimit-Remaining"] == "0"
    replica.clock.advance(119)
    assert api.get("captcha-details/").status_code == 429
    replica.clock.advance(1)
    assert api.get("captcha-details/").status_code == 200


def test_connection_reset(scenario, api) -> None:
    inject(scenario, rules=[{"kind": "reset", "count": 1}])
    with pytest.raises(httpx.TransportError):
        api.get("offices-and-services/")
    assert api.get("offices-and-services/").status_code == 200


def test_timeout(scenario, server, replica) -> None:
    replica.settings.fault_hang_s = 2.0
    inject(scenario, rules=[{"kind": "timeout", "count": 1}])
    with httpx.Client(base_url=server.api_url + "/", timeout=0.5) as impatient:
        with pytest.raises(httpx.ReadTimeout):
            impatient.get("offices-and-services/")


def test_captcha_tokens_expire_early(scenario, api, replica) -> None:
    params = calendar_params(replica, [102522])
    token = captcha_token(api)
    inject(scenario, expireTokens=True)
    assert error_codes(api.get("available-calendar/", params={**params, "captchaToken": token})) == ["captchaExpired"]
    inject(scenario, tokenLifetimeS=10)
    short = captcha_token(api)
    replica.clock.advance(11)
    assert error_codes(api.get("available-calendar/", params={**params, "captchaToken": short})) == ["captchaExpired"]


def test_activation_link_expires(scenario, api, replica) -> None:
    replica.set_captcha_required(False)
    slot = berlin_slot(replica, 2, 9)
    replica.desk.add_slots(102522, [slot])
    process = api.post("reserve-appointment/", json={"timestamp": slot, "serviceCount": [1], "officeId": 102522,
                                                     "serviceId": [1063453]}).json()
    ref = {"processId": process["processId"], "authKey": process["authKey"]}
    api.post("update-appointment/", json={**ref, "familyName": "A B", "email": "a@example.org"})
    api.post("preconfirm-appointment/", json=ref)
    inject(scenario, expireActivations=True)
    assert error_codes(api.post("confirm-appointment/", json=ref)) == ["appointmentNotFound"]


def test_clearing_faults_clears_every_one_including_the_redesign_variant(scenario, api, server, replica) -> None:
    inject(scenario, latencyMs=50, rules=[{"kind": "error500", "path": "captcha-details"}], maintenance=True,
           blacklist=["10.9.8.7"], tokenLifetimeS=5, redesign="all")
    state = scenario.get("/state").json()
    assert state["redesign"] and state["maintenance"] and state["faults"]["rules"]
    cleared = scenario.post("/faults/clear").json()
    assert cleared["redesign"] is None and cleared["maintenance"] is False and cleared["blacklist"] == []
    assert cleared["faults"] == {"latencyS": 0.0, "rules": []}
    assert cleared["tokenLifetimeS"] == replica.settings.token_lifetime_s
    assert api.get("captcha-details/").status_code == 200
    assert "window.__ZMS_REPLICA_VARIANT__ =" not in httpx.get(server.base_url + PAGE).text  # the original page


def test_redesign_needs_known_controls(scenario) -> None:
    assert scenario.post("/faults", json={"redesign": ["no-such-control"]}).status_code == 400


# --- the same faults, seen on the page -------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize(
    ("rule", "text"),
    [({"kind": "maintenance"}, "Wir aktualisieren unser System für Sie."),
     ({"kind": "error500"}, "Es ist ein Systemfehler aufgetreten."),
     ({"kind": "reset"}, "Es ist ein Systemfehler aufgetreten.")],
    ids=["maintenance", "error500", "reset"],
)
async def test_page_shows_error_pages(page: Page, server, scenario, rule, text) -> None:
    inject(scenario, rules=[rule])
    await page.goto(server.base_url + PAGE)
    await expect(page.get_by_text(text)).to_be_visible()


@pytest.mark.browser
async def test_page_shows_rate_limit_callout_in_a_429_storm(page: Page, server, scenario, replica) -> None:
    replica.set_captcha_required(False)
    replica.desk.add_slots(102522, [berlin_slot(replica, 2, 9)])
    await page.goto(server.base_url + PAGE)
    await choose_service_by_search(page, "Reisepass")
    inject(scenario, rules=[{"kind": "rate_limit", "path": "available-calendar"}])
    await page.get_by_role("button", name="Weiter").click()
    await expect(page.get_by_role("heading", name="Zu viele Anfragen")).to_be_visible()


@pytest.mark.browser
async def test_page_shows_expired_activation(page: Page, server, scenario, replica, api) -> None:
    test_activation_link_expires(scenario, api, replica)
    link = replica.outbox.all()[-1].link
    await page.goto(link)
    await expect(page.get_by_text("Ihr Termin konnte nicht aktiviert werden.")).to_be_visible()


@pytest.mark.browser
async def test_redesign_renames_chosen_controls(page: Page, server, scenario, replica) -> None:
    replica.clock.unfreeze()
    replica.set_captcha_required(False)
    slot = berlin_slot(replica, 2, 9)
    replica.desk.add_slots(102522, [slot])
    inject(scenario, redesign=["next", "slots", "serviceSearch"])
    await page.goto(server.base_url + PAGE)
    await expect(page.get_by_text("Leistung suchen", exact=True)).to_be_visible()
    await expect(page.get_by_text("Bürgerservice-Suche", exact=True)).to_have_count(0)
    group = page.locator(".m-form-group").filter(has=page.get_by_text("Leistung suchen", exact=True))
    await group.get_by_role("combobox").locator(".choices__inner").click()
    await page.get_by_role("option", name="Reisepass", exact=True).click()
    await expect(page.get_by_role("button", name="Weiter")).to_have_count(0)
    await page.get_by_role("button", name="Fortfahren").click()
    await expect(page.locator(f"#slot-office-102522-timeslot-{slot}")).to_be_visible()
    await expect(page.locator(f"#provider-102522-timeslot-{slot}")).to_have_count(0)
