"""The agent service: one lifecycle for every component, the watch commands, restarts and SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from apscheduler.events import EVENT_JOB_ERROR
from sqlalchemy import func, select

from agent.db import open_database
from agent.models import Attempt, Observation
from agent.notifier import MemoryNotifier
from agent.service import AgentService, UnknownWatch
from tests.agent_helpers import agent_env
from tests.replica_helpers import berlin_slot
from tests.watch_helpers import add, fast_run_env, person, wait_for, watcher_settings

pytestmark = pytest.mark.browser


async def test_watch_commands_while_the_agent_runs(server, replica, tmp_path) -> None:
    """Add, pause, resume, delete while running: no job errors, no context left open."""
    replica.clock.unfreeze()
    settings = watcher_settings(server, tmp_path)
    agent = AgentService(settings, MemoryNotifier())
    await agent.start()
    errors: list = []
    agent.scheduler.add_listener(lambda event: errors.append(event), EVENT_JOB_ERROR)
    try:
        today = replica.clock.now_berlin().date()
        watch_id = await agent.add_watch(person(1), 1063453, [102522], today, today.fromordinal(today.toordinal() + 30),
                                         mode="auto")
        watcher = agent.watcher
        assert len(watcher.queries) == 1
        await wait_for(lambda: all(s.poller.polls >= 1 for s in watcher.queries.values()) and watcher.warm.pages, 60)
        assert agent.pool.open_contexts == 1  # the query's warm page (polls go over HTTP, no page of their own)

        paused = await agent.pause(watch_id)
        assert paused.state == "paused" and watcher.queries == {}
        await wait_for(lambda: agent.pool.open_contexts == 0, 30)  # the warm page retired

        await agent.resume(watch_id)
        await wait_for(lambda: any(s.poller.polls >= 1 for s in watcher.queries.values()), 60)
        second = await agent.add_watch(person(2), 1063453, [102523], today, today.fromordinal(today.toordinal() + 30),
                                       mode="notify")
        assert len(watcher.queries) == 2
        await agent.delete(second)
        await agent.delete(watch_id)
        assert watcher.queries == {} and agent.list_watches() == []
        await wait_for(lambda: agent.pool.open_contexts == 0, 30)
        with pytest.raises(UnknownWatch):
            await agent.pause(watch_id)
        with pytest.raises(ValueError):
            await agent.resume(await agent.add_watch(person(3), 1063453, [102522], today, today, mode="notify"))
    finally:
        await agent.stop()
    assert errors == []
    assert agent.pool is None  # stopped


async def test_the_cli_pauses_a_watch_of_a_running_agent(server, replica, tmp_path) -> None:
    replica.clock.unfreeze()
    settings = watcher_settings(server, tmp_path)
    sessions = open_database(settings.database_url)
    watch_id = add(sessions, replica, 1, [102522], mode="notify")
    async with AgentService(settings, MemoryNotifier(), sessions=sessions) as agent:
        await wait_for(lambda: agent.watcher.queries, 10)
        env = {**os.environ, **agent_env(server, tmp_path)}
        done = subprocess.run([sys.executable, "-m", "agent.cli", "watch", "pause", str(watch_id)], env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        await wait_for(lambda: not agent.watcher.queries, 3 * settings.refresh_s + 5)
        refused = subprocess.run([sys.executable, "-m", "agent.cli", "watch", "pause", "999"], env=env,
                                 capture_output=True, text=True, timeout=60)
        assert refused.returncode == 2 and "no watch 999" in refused.stderr


async def test_restarts_with_the_same_slots_record_no_new_releases(server, replica, tmp_path) -> None:
    replica.clock.unfreeze()
    replica.set_captcha_required(False)
    settings = watcher_settings(server, tmp_path)
    sessions = open_database(settings.database_url)
    add(sessions, replica, 1, [102522], mode="notify")
    replica.desk.add_slots(102522, [berlin_slot(replica, 2, 9), berlin_slot(replica, 2, 10)])

    async def one_run() -> None:
        async with AgentService(settings, MemoryNotifier(), sessions=sessions) as agent:
            await wait_for(lambda: all(s.poller.polls >= 2 for s in agent.watcher.queries.values()), 60)

    def observations() -> int:
        with sessions() as session:
            return session.scalar(select(func.count()).select_from(Observation))

    await one_run()
    assert observations() == 0  # the first poll ever is a baseline: slots of unknown age
    for _ in range(2):
        await one_run()
    assert observations() == 0
    replica.desk.add_slots(102522, [berlin_slot(replica, 3, 9)])  # a real release
    await one_run()
    assert observations() == 1


def test_sigterm_at_the_reserve_step_closes_the_attempt_and_tells_the_person(server, replica, tmp_path) -> None:
    from replica.faults import FaultRule

    replica.clock.unfreeze()
    replica.settings.fault_hang_s = 4.0
    sessions = open_database(f"sqlite:///{tmp_path / 'mta.db'}")
    add(sessions, replica, 1, [102522], mode="auto")
    replica.faults.add(FaultRule(kind="hold_answer", path="reserve-appointment", count=1))
    env = fast_run_env(server, tmp_path, MTA_LOG_LEVEL="WARNING")
    process = subprocess.Popen([sys.executable, "-m", "agent.cli", "run", "--status-every", "1"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not [r for r in replica.requests.all() if "available-calendar" in r.path]:
            time.sleep(0.2)
        replica.desk.add_slots(102522, [berlin_slot(replica, 3, 10)])
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not replica.desk.live_processes():
            time.sleep(0.05)
        assert replica.desk.live_processes(), "no reservation reached the site"
        process.send_signal(signal.SIGTERM)  # the reserve answer is still held by the site
        out, _ = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, out
    assert "letting the booking in flight finish" in out and out.rstrip().endswith("stopped")
    assert "[booked]" in out  # the person is told
    with sessions() as session:
        [attempt] = session.scalars(select(Attempt)).all()
    assert attempt.phase == "closed" and attempt.outcome == "reserved"
    [process_] = replica.desk.live_processes()
    assert process_.status == "preconfirmed"
