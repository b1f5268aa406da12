"""FriendlyCaptcha v1 mode: the replica's own puzzles and verification, and the real widget."""

from __future__ import annotations

import base64

import httpx
import pytest
from playwright.async_api import Page, expect

from replica.settings import ReplicaSettings
from replica.site import Replica
from tests.frc_solver import solve_puzzle
from tests.page_helpers import api_calls, fill_contact
from tests.replica_helpers import berlin_slot, calendar_params, error_codes

FAST_FRC = {"altcha_cost": 10, "captcha_mode": "friendly", "frc_solutions": 4, "frc_difficulty": 80}


@pytest.fixture
def replica() -> Replica:
    site = Replica(ReplicaSettings(**FAST_FRC))
    site.clock.freeze()
    return site


def fetch_puzzle(api: httpx.Client) -> str:
    details = api.get("captcha-details/").json()
    answer = httpx.get(details["puzzle"], params={"sitekey": details["siteKey"]},
                       headers={"x-frc-client": "js-0.9.20"})
    assert answer.status_code == 200
    return answer.json()["data"]["puzzle"]


def verify(api: httpx.Client, solution: str) -> dict:
    return api.post("captcha-verify/", json={"payload": solution}).json()


def test_details_answer_in_the_2025_shape(api, server) -> None:
    details = api.get("captcha-details/").json()
    assert set(details) == {"siteKey", "captchaEndpoint", "puzzle", "captchaEnabled"}
    assert details["puzzle"].startswith(server.base_url) and details["captchaEnabled"] is True


def test_puzzle_buffer_layout(api, replica) -> None:
    signature, body = fetch_puzzle(api).split(".")
    buffer = base64.b64decode(body)
    assert len(signature) == 64 and len(buffer) == 32
    assert int.from_bytes(buffer[0:4], "big") == int(replica.clock.now())
    assert buffer[12] == 1 and buffer[13] >= 1
    assert buffer[14] == 4 and buffer[15] == 80 and buffer[16:24] == bytes(8)


def test_independently_solved_puzzle_verifies_and_earns_a_token(replica, api) -> None:
    answer = verify(api, solve_puzzle(fetch_puzzle(api)))
    assert answer["meta"] == {"success": True} and answer["token"]
    replica.set_captcha_required(True)
    calendar = api.get("available-calendar/", params=calendar_params(replica, [102522], token=answer["token"]))
    assert error_codes(calendar) == ["noAppointmentForThisScope"]  # token accepted, just no slots


def test_wrong_solution_fails(api) -> None:
    signature, body, solutions, diagnostics = solve_puzzle(fetch_puzzle(api)).split(".")
    raw = bytearray(base64.b64decode(solutions))
    raw[5] ^= 0xFF  # change the counter of the first sub-solution
    wrong = ".".join([signature, body, base64.b64encode(bytes(raw)).decode(), diagnostics])
    assert verify(api, wrong)["meta"]["success"] is False


def test_forged_puzzle_fails(api) -> None:
    signature, body, solutions, diagnostics = solve_puzzle(fetch_puzzle(api)).split(".")
    buffer = bytearray(base64.b64decode(body))
    buffer[15] = 0  # the easiest difficulty, under the old signature
    forged = solve_puzzle(f"{signature}.{base64.b64encode(bytes(buffer)).decode()}")
    assert verify(api, forged)["meta"]["success"] is False


def test_replayed_solution_fails(api) -> None:
    solution = solve_puzzle(fetch_puzzle(api))
    assert verify(api, solution)["meta"]["success"] is True
    assert verify(api, solution)["meta"]["success"] is False


def test_expired_solution_fails(replica, api) -> None:
    solution = solve_puzzle(fetch_puzzle(api))
    replica.clock.advance(replica.settings.frc_expiry_units * 300 + 1)
    answer = verify(api, solution)
    assert answer["meta"] == {"success": False, "error": "solution_timeout_or_duplicate"}


@pytest.mark.browser
async def test_real_widget_refuses_headless_chromium(page: Page, server, replica) -> None:
    replica.clock.unfreeze()
    await page.goto(f"{server.base_url}/buergerservice/terminvereinbarung.html#/services/1063453")
    widget = page.locator(".frc-captcha")
    await expect(widget).to_be_visible()
    await widget.get_by_role("button").click()
    await expect(page.locator("input.frc-captcha-solution")).to_have_value(".HEADLESS_ERROR")
    await expect(widget).to_contain_text("Browser check failed")
    await expect(page.get_by_role("button", name="Weiter")).to_have_attribute("aria-disabled", "true")
    # The widget checks the browser before it asks for a puzzle (friendly-challenge 0.9.20, start()).
    assert ("POST", "captcha-verify/") not in api_calls(replica)


@pytest.mark.browser
async def test_with_the_site_owner_option_the_real_widget_solves_and_the_walk_books(
    page: Page, server, replica
) -> None:
    replica.clock.unfreeze()
    replica.set_captcha_mode("friendly", allow_automated_browsers=True)
    slot = berlin_slot(replica, 2, 10)
    replica.desk.add_slots(102522, [slot])
    await page.goto(
        f"{server.base_url}/buergerservice/terminvereinbarung.html#/services/1063453/locations/102522?exclusiveLocation=1"
    )
    await page.locator(".frc-captcha").get_by_role("button").click()
    await expect(page.locator(".frc-captcha.frc-success, .frc-success")).to_be_visible(timeout=30_000)
    weiter = page.get_by_role("button", name="Weiter")
    await expect(weiter).to_have_attribute("aria-disabled", "false")
    await weiter.click()
    await page.locator(f"#provider-102522-timeslot-{slot}").click()
    await weiter.click()
    await fill_contact(page, "Max", "Muster", "max@example.org")
    await weiter.click()
    await page.locator("#checkbox-electronic-communication").check()
    await page.get_by_role("button", name="Termin reservieren").click()
    await expect(page.get_by_text("Aktivieren Sie Ihren Termin.")).to_be_visible()
    assert [p.status for p in replica.desk.live_processes()] == ["preconfirmed"]
    calls = api_calls(replica)
    assert ("POST", "captcha-verify/") in calls and ("POST", "reserve-appointment/") in calls
