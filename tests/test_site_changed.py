"""A redesigned page ends as "site changed" with a diff, books nothing, and leaves a trace
that Playwright's trace viewer shows with the failing step."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from agent.db import open_database
from agent.runner import run_booking
from agent.trace_viewer import start_viewer, stop_viewer
from flows.outcomes import OutcomeKind
from tests.agent_helpers import agent_settings, request_for
from tests.replica_helpers import berlin_slot

pytestmark = pytest.mark.browser


async def test_redesign_is_reported_as_site_changed_and_the_trace_shows_the_step(
    server, replica, tmp_path, browser: Browser
) -> None:
    replica.clock.unfreeze()
    settings = agent_settings(server, tmp_path)
    sessions = open_database(settings.database_url)
    replica.desk.add_slots(102522, [berlin_slot(replica, 2, 9), berlin_slot(replica, 3, 9)])
    first = await run_booking(settings, sessions, request_for(replica))
    assert first.outcome.kind is OutcomeKind.RESERVED  # learns the page patterns
    replica.desk.cancel(first.outcome.process_id, replica.desk.live_processes()[0].auth_key)

    from replica.variant import build_variant

    replica.switches.redesign = build_variant(["next"])
    result = await run_booking(settings, sessions, request_for(replica, person="p-second"))

    assert result.outcome.kind is OutcomeKind.SITE_CHANGED
    assert any("'next'" in line and "Weiter" in line for line in result.outcome.diff), result.outcome.diff
    assert replica.desk.live_processes() == []
    reserves = [r for r in replica.requests.all() if r.path.endswith("/reserve-appointment/")]
    assert len(reserves) == 1  # only the first, learning attempt reserved anything
    assert result.trace_path is not None and result.trace_path.exists()

    process, url = start_viewer(result.trace_path, "127.0.0.1", 0)
    try:
        context = await browser.new_context()
        page = await context.new_page()
        await page.goto(url)
        await expect(page.get_by_text("step: calendar").first).to_be_visible(timeout=20_000)
        await expect(page.get_by_text("step: service").first).to_be_visible()
        await context.close()
    finally:
        stop_viewer(process)


async def test_changed_api_shape_is_reported_with_the_field(server, replica, tmp_path) -> None:
    from agent.attempts import SqlPatternStore
    from flows.fingerprint import StepPrint

    replica.clock.unfreeze()
    settings = agent_settings(server, tmp_path)
    sessions = open_database(settings.database_url)
    replica.desk.add_slots(102522, [berlin_slot(replica, 2, 9)])
    store = SqlPatternStore(sessions)
    site = server.base_url.removeprefix("http://")
    # A pattern as if the site used to send a field it no longer sends.
    store.save(site, "open", StepPrint(step="open", api={"offices-and-services/": {"offices": [], "services": [],
                                                                                  "relations": [], "holidays": []}}))
    result = await run_booking(settings, sessions, request_for(replica))
    assert result.outcome.kind is OutcomeKind.SITE_CHANGED
    assert result.outcome.diff == ["open: API offices-and-services/.holidays: field removed"]
    assert replica.desk.live_processes() == []
