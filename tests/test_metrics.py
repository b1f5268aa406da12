"""/metrics, /health and /ready of a running agent, scraped over real HTTP during replica runs."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from agent.db import open_database
from agent.notifier import MemoryNotifier
from agent.service import AgentService
from replica.faults import FaultRule
from tests.replica_helpers import berlin_slot
from tests.test_watcher import kill_own_chromium, own_chromium
from tests.watch_helpers import add, wait_for, watcher_settings

pytestmark = pytest.mark.browser


async def scrape(agent: AgentService) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics, parsed by prometheus-client's own parser: (name, labels) → value."""
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.get(agent.ops.url + "/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def total(samples: dict, name: str, **labels: str) -> float:
    """The sum of a series over the labels not given."""
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


def has(samples: dict, name: str) -> bool:
    return any(n == name for n, _ in samples)


async def get_json(url: str) -> tuple[int, dict]:
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.get(url)
    return answer.status_code, answer.json()


async def test_metrics_exist_and_move_during_a_run_with_a_booking(server, replica, tmp_path) -> None:
    replica.clock.unfreeze()
    settings = watcher_settings(server, tmp_path)
    sessions = open_database(settings.database_url)
    add(sessions, replica, 1, [102522])
    add(sessions, replica, 2, [102522], mode="notify")  # keeps the query polled after the booking
    async with AgentService(settings, MemoryNotifier(), sessions=sessions) as agent:
        assert agent.ops.host == "127.0.0.1"  # loopback by default
        watcher = agent.watcher
        await wait_for(lambda: any(s.poller.polls >= 1 for s in watcher.queries.values()) and watcher.warm.pages, 60)
        before = await scrape(agent)
        replica.desk.add_slots(102522, [berlin_slot(replica, 3, 10)])
        await wait_for(lambda: watcher.stats.bookings, 60)
        polls = watcher.stats.polls
        await wait_for(lambda: watcher.stats.polls > polls, 30)
        after = await scrape(agent)
        replica.settings.rate_window_s = 3
        replica.faults.add(FaultRule(kind="rate_limit"))
        await wait_for(lambda: agent.budget.circuit_open, 30)
        limited = await scrape(agent)
        status, ready = await get_json(agent.ops.url + "/ready")
        replica.faults.clear()

    # every family of the issue is there
    for name in ("mta_polls_total", "mta_slots_seen_total", "mta_bookings_total", "mta_booking_duration_seconds_count",
                 "mta_booking_step_duration_seconds_count", "mta_release_to_reserved_seconds_count",
                 "mta_budget_requests_total", "mta_budget_wait_seconds_count", "mta_site_rate_limited_total",
                 "mta_circuit_open", "mta_warm_pages", "mta_browser_contexts_open", "mta_browser_contexts_recycled_total",
                 "mta_captcha_solve_seconds_count", "mta_chromium_restarts_total", "mta_chromium_up",
                 "mta_last_successful_poll_timestamp_seconds", "mta_budget_refused_total", "mta_warm_pages_prepared_total"):
        assert has(after, name), name
    # …and they move
    assert total(after, "mta_polls_total") > total(before, "mta_polls_total") > 0
    assert total(after, "mta_slots_seen_total") >= total(before, "mta_slots_seen_total") + 1
    assert total(before, "mta_bookings_total") == 0
    assert total(after, "mta_bookings_total", outcome="reserved", warm="true") == 1
    assert total(after, "mta_booking_duration_seconds_count") == 1
    assert total(after, "mta_release_to_reserved_seconds_count") == 1
    assert total(after, "mta_booking_step_duration_seconds_count", step="reserve", result="ok") == 1
    assert total(before, "mta_captcha_solve_seconds_count", method="altcha") >= 2  # the poll page and the warm page
    assert total(after, "mta_budget_requests_total", kind="booking") > total(before, "mta_budget_requests_total",
                                                                             kind="booking")
    assert total(after, "mta_budget_wait_seconds_count") > total(before, "mta_budget_wait_seconds_count")
    assert total(after, "mta_browser_contexts_recycled_total") > total(before, "mta_browser_contexts_recycled_total")
    assert total(before, "mta_warm_pages") == 1 and total(before, "mta_chromium_up") == 1
    [(name, labels)] = [k for k in after if k[0] == "mta_last_successful_poll_timestamp_seconds"]
    assert dict(labels) == {"query": "1063453:1:102522"}
    assert after[(name, labels)] > before[(name, labels)]
    # the site's 429: counted, the circuit shows open, and the agent is not ready
    assert total(before, "mta_site_rate_limited_total") == 0 and total(limited, "mta_site_rate_limited_total") >= 1
    assert total(after, "mta_circuit_open") == 0 and total(limited, "mta_circuit_open") == 1
    assert status == 503 and not ready["ready"] and not ready["checks"]["circuit"]["ok"]
    # low cardinality: no person, slot, process or attempt ids among the labels
    label_names = {k for _, labels in after for k, _ in labels}
    assert label_names <= {"result", "outcome", "warm", "step", "kind", "method", "query", "le"}


async def test_ready_turns_unready_when_chromium_is_killed_and_ready_after_the_relaunch(server, replica,
                                                                                        tmp_path) -> None:
    replica.clock.unfreeze()
    # polls a few seconds apart, so the moment between the kill and the relaunch can be seen
    settings = watcher_settings(server, tmp_path, budget_window_s=6.0, site_window_s=12.0)
    sessions = open_database(settings.database_url)
    add(sessions, replica, 1, [102522], mode="auto")  # its warm page keeps Chromium up (polls need none)
    spare = frozenset(own_chromium())  # not the agent's
    async with AgentService(settings, MemoryNotifier(), sessions=sessions) as agent:
        ready_url = agent.ops.url + "/ready"
        status, body = await get_json(agent.ops.url + "/health")
        assert status == 200 and body["status"] == "alive" and body["running"]

        async def ready_is(code: int) -> dict:
            for _ in range(600):
                status, body = await get_json(ready_url)
                if status == code:
                    return body
                await asyncio.sleep(0.1)
            raise AssertionError(f"/ready never answered {code}: {body}")

        await wait_for(lambda: agent.watcher.stats.polls >= 1 and agent.watcher.warm.pages, 60)  # Chromium is up
        body = await ready_is(200)
        assert body["ready"] and all(c["ok"] for c in body["checks"].values())
        assert set(body["checks"]) == {"database", "chromium", "polls", "circuit"}
        launches = agent.pool.launches
        assert kill_own_chromium(spare), "no Chromium of this test process found"
        body = await ready_is(503)
        assert not body["checks"]["chromium"]["ok"] and "gone" in body["checks"]["chromium"]["detail"]
        await wait_for(lambda: agent.pool.launches > launches, 60)
        polls = agent.watcher.stats.polls
        await wait_for(lambda: agent.watcher.stats.polls > polls, 60)
        body = await ready_is(200)
        assert body["checks"]["chromium"]["ok"]
        samples = await scrape(agent)
        assert total(samples, "mta_chromium_restarts_total") == 1
    # stopped: the port is closed
    with pytest.raises(httpx.ConnectError):
        await get_json(ready_url)


async def test_a_busy_metrics_port_is_a_clear_error_and_nothing_is_left_running(server, replica, tmp_path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        settings = watcher_settings(server, tmp_path, metrics_port=taken.getsockname()[1])
        agent = AgentService(settings, MemoryNotifier())
        with pytest.raises(OSError, match="MTA_METRICS_PORT"):
            await agent.start()
        assert agent.pool is None and agent.watcher is None  # everything it had started was stopped
