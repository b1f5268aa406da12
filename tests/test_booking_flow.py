"""The booking flow end to end against the replica: real Chromium, real SQLite file."""

from __future__ import annotations

import os
import stat

import pytest
from playwright.async_api import Browser, expect

from agent.db import open_database
from agent.models import Attempt
from agent.runner import run_booking, selector_book
from flows.follow_up import activate, cancel
from flows.links import manage_link
from flows.outcomes import OutcomeKind
from tests.agent_helpers import agent_settings, request_for
from tests.replica_helpers import berlin_slot

pytestmark = pytest.mark.browser


@pytest.fixture
def setup(server, replica, tmp_path):
    replica.clock.unfreeze()
    settings = agent_settings(server, tmp_path)
    return settings, open_database(settings.database_url)


def attempt_row(sessions, attempt_id: int) -> Attempt:
    with sessions() as session:
        return session.get(Attempt, attempt_id)


async def test_happy_path_with_altcha_then_activation(setup, replica, browser: Browser) -> None:
    settings, sessions = setup
    early, late = berlin_slot(replica, 2, 9), berlin_slot(replica, 2, 11)
    replica.desk.add_slots(102522, [late, early])
    replica.desk.add_slots(102523, [berlin_slot(replica, 1, 8)])  # earlier, but not a wanted office

    result = await run_booking(settings, sessions, request_for(replica, offices=(102522, 54261)))

    assert result.outcome.kind is OutcomeKind.RESERVED, result.outcome.reason
    assert result.outcome.slot_ts == early and result.outcome.office_id == 102522
    [process] = replica.desk.live_processes()
    assert process.status == "preconfirmed" and process.process_id == result.outcome.process_id
    row = attempt_row(sessions, result.attempt_id)
    assert row.phase == "closed" and row.outcome == "reserved" and row.process_status == "preconfirmed"
    assert row.process_id == process.process_id and row.auth_key == process.auth_key
    assert set(row.step_seconds) == {"open", "service", "calendar", "reserve", "contact", "preconfirm"}
    assert row.tries == [{"officeId": 102522, "slot": early, "result": "reserved"}]
    assert "contact" not in row.request and "Erika" not in str(row.request)
    assert row.trace_path is None and result.trace_path is None  # successes keep no trace by default

    # The person hands the e-mailed link to the agent.
    link = replica.outbox.latest_for("erika@example.org").link
    context = await browser.new_context(locale="de-DE", timezone_id="Europe/Berlin")
    outcome = await activate(await context.new_page(), selector_book(settings), settings.api_url, link)
    assert outcome.kind is OutcomeKind.CONFIRMED and outcome.process_id == process.process_id
    assert replica.desk.live_processes()[0].status == "confirmed"
    cancelled = await cancel(await context.new_page(), selector_book(settings), settings.api_url, manage_link(link))
    assert cancelled.cancelled and replica.desk.live_processes() == []
    await context.close()


async def test_successful_trace_kept_when_configured(server, replica, tmp_path) -> None:
    replica.clock.unfreeze()
    settings = agent_settings(server, tmp_path, keep_traces_on_success=True)
    replica.desk.add_slots(102522, [berlin_slot(replica, 2, 9)])
    result = await run_booking(settings, open_database(settings.database_url), request_for(replica))
    assert result.outcome.kind is OutcomeKind.RESERVED
    assert result.trace_path == settings.recordings_dir / f"attempt-{result.attempt_id}.zip"
    assert stat.S_IMODE(os.stat(result.trace_path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(settings.recordings_dir).st_mode) == 0o700


async def test_slot_taken_between_listing_and_reserve_books_the_next(setup, replica) -> None:
    settings, sessions = setup
    first, second = berlin_slot(replica, 2, 9), berlin_slot(replica, 2, 9, 30)
    replica.desk.add_slots(102522, [first, second])
    replica.take_slot_before_next_reserve(102522)

    result = await run_booking(settings, sessions, request_for(replica))

    assert result.outcome.kind is OutcomeKind.RESERVED and result.outcome.slot_ts == second
    assert [t["result"] for t in result.tries] == ["taken", "reserved"]
    assert [t["slot"] for t in result.tries] == [first, second]
    assert len(replica.desk.live_processes()) == 1


async def test_captcha_token_expired_mid_flow_is_solved_again(setup, replica) -> None:
    settings, sessions = setup
    replica.desk.add_slots(102522, [berlin_slot(replica, 2, 9)])
    from replica.faults import FaultRule

    replica.faults.add(FaultRule(kind="expire_tokens", path="reserve-appointment", count=1))
    result = await run_booking(settings, sessions, request_for(replica))

    assert result.outcome.kind is OutcomeKind.RESERVED, result.outcome.reason
    verifies = [r for r in replica.requests.all() if r.path.endswith("/captcha-verify/")]
    reserves = [r.status for r in replica.requests.all() if r.path.endswith("/reserve-appointment/")]
    assert len(verifies) == 2 and reserves == [400, 200]


async def test_friendlycaptcha_hands_off_with_a_working_deep_link(setup, replica, browser: Browser) -> None:
    settings, sessions = setup
    replica.set_captcha_mode("friendly")
    replica.desk.add_slots(102522, [berlin_slot(replica, 2, 9)])

    result = await run_booking(settings, sessions, request_for(replica))

    assert result.outcome.kind is OutcomeKind.CAPTCHA_HANDOFF
    assert "browser check" in result.outcome.reason and ".HEADLESS_ERROR" in result.outcome.reason
    link = result.outcome.handoff_link
    assert link == f"{settings.booking_url}#/services/1063453/locations/102522"
    assert replica.desk.live_processes() == []
    row = attempt_row(sessions, result.attempt_id)
    assert row.outcome == "captcha_handoff" and row.handoff_link == link and row.trace_path
    # The link opens the service step with the captcha for the person to solve.
    context = await browser.new_context(locale="de-DE", timezone_id="Europe/Berlin")
    page = await context.new_page()
    await page.goto(link)
    await expect(page.locator(".frc-captcha")).to_be_visible()
    await expect(page.locator("#service-1063453")).to_be_visible()
    await context.close()


async def test_friendlycaptcha_solve_path_with_the_site_owner_option(setup, replica) -> None:
    settings, sessions = setup
    replica.set_captcha_mode("friendly", allow_automated_browsers=True)
    replica.desk.add_slots(102522, [berlin_slot(replica, 2, 9)])

    result = await run_booking(settings, sessions, request_for(replica))

    assert result.outcome.kind is OutcomeKind.RESERVED, result.outcome.reason
    verify = [r for r in replica.requests.all() if r.path.endswith("/captcha-verify/")]
    assert [r.status for r in verify] == [200]
    assert replica.desk.live_processes()[0].captcha_token  # the reserve carried the replica-issued token


def test_the_agent_never_touches_browser_identity() -> None:
    """No spoofing anywhere in the agent: the site owner's option lives in the replica only."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    suspicious = ("navigator.webdriver", "defineProperty(navigator", "userAgent", "user_agent", "stealth",
                  "add_init_script", "--user-agent", "proxy")
    for folder in ("agent", "flows", "selectors"):
        for path in (root / folder).rglob("*"):
            if path.suffix in (".py", ".toml") and path.is_file():
                text = path.read_text()
                assert not [s for s in suspicious if s in text], f"{path} mentions {suspicious}"


async def test_a_captcha_details_answer_held_long_is_waited_for(server, replica, tmp_path) -> None:
    """The site says a captcha is needed: the flow waits for the page's captcha-details/ answer however
    long it takes (here longer than any widget wait) and never walks on without a token."""
    from replica.faults import FaultRule

    replica.clock.unfreeze()
    settings = agent_settings(server, tmp_path, control_timeout_s=2.0)
    replica.settings.fault_hang_s = 3 * settings.control_timeout_s  # well past the widget wait
    replica.desk.add_slots(102522, [berlin_slot(replica, 2, 9)])
    replica.faults.add(FaultRule(kind="hold_answer", path="captcha-details", count=1))
    result = await run_booking(settings, open_database(settings.database_url), request_for(replica))
    assert result.outcome.kind is OutcomeKind.RESERVED, result.outcome.reason
    calendars = [r.status for r in replica.requests.all() if r.path.endswith("/available-calendar/")]
    assert 400 not in calendars  # never captchaMissing
    assert len([r for r in replica.requests.all() if r.path.endswith("/captcha-details/")]) == 1


async def test_a_failed_captcha_details_answer_is_a_site_error_not_no_captcha(setup, replica) -> None:
    from replica.faults import FaultRule

    settings, sessions = setup
    replica.desk.add_slots(102522, [berlin_slot(replica, 2, 9)])
    replica.faults.add(FaultRule(kind="error500", path="captcha-details"))
    result = await run_booking(settings, sessions, request_for(replica))
    assert result.outcome.kind is OutcomeKind.SITE_ERROR, result.outcome.reason
    assert "captcha-details/" in result.outcome.reason
    assert not [r for r in replica.requests.all() if r.path.endswith("/available-calendar/")]
