"""SIGKILL a separate ``mta book`` process at several points, restart: nothing lost, nothing doubled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from agent.db import open_database
from agent.models import Attempt, OrphanReservation
from agent.runner import held_by_orphans
from replica.faults import FaultRule
from tests.agent_helpers import agent_env, live_for
from tests.replica_helpers import berlin_slot

pytestmark = pytest.mark.browser
BOOK = ["book", "--service", "1063453", "--office", "102522", "--json",
        "--first-name", "Erika", "--last-name", "Mustermann", "--email", "erika@example.org"]


def start_mta(server, tmp_path: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, **agent_env(server, tmp_path), "MTA_LOG_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, "-m", "agent.cli", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def run_mta(server, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    process = start_mta(server, tmp_path, *args)
    out, err = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def first_attempt(tmp_path: Path) -> Attempt | None:
    """Read the agent's database without migrating it (the agent process owns that)."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    db = tmp_path / "mta.db"
    if not db.exists():
        return None
    engine = create_engine(f"sqlite:///{db}")
    try:
        with Session(engine) as session:
            return session.scalars(select(Attempt).order_by(Attempt.id)).first()
    except OperationalError:
        return None  # not migrated yet
    finally:
        engine.dispose()


def kill_when(process: subprocess.Popen, tmp_path: Path, ready, replica, timeout: float = 60) -> Attempt:
    """SIGKILL the agent (only its own process, like a crash) once ``ready(attempt)`` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        attempt = first_attempt(tmp_path)
        if attempt is not None and ready(attempt):
            assert len(live_for(replica)) <= 1
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
            try:
                os.killpg(process.pid, signal.SIGKILL)  # its browser, which a crash would orphan
            except ProcessLookupError:
                pass
            return attempt
        if process.poll() is not None:
            raise AssertionError(f"mta ended before the kill point: {process.communicate()}")
        time.sleep(0.05)
    process.kill()
    raise AssertionError("kill point not reached")


@pytest.fixture
def site(server, replica):
    replica.clock.unfreeze()
    replica.settings.fault_hang_s = 8
    return server, replica


def attempts_of(tmp_path: Path) -> list[Attempt]:
    with open_database(f"sqlite:///{tmp_path / 'mta.db'}")() as session:
        return list(session.scalars(select(Attempt).order_by(Attempt.id)))


def test_killed_before_reserve(site, tmp_path) -> None:
    server, replica = site
    replica.desk.add_slots(102522, [berlin_slot(replica, 2, 9)])
    hang = FaultRule(kind="timeout", path="available-calendar", count=1)
    replica.faults.add(hang)
    process = start_mta(server, tmp_path, *BOOK)
    kill_when(process, tmp_path, lambda a: "service" in a.step_seconds and hang.count == 0, replica)
    assert live_for(replica) == []

    again = run_mta(server, tmp_path, *BOOK)
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads(again.stdout)["outcome"] == "reserved"
    first, second = attempts_of(tmp_path)
    assert first.outcome == "timeout" and "nothing is held" in first.reason and first.phase == "closed"
    assert second.outcome == "reserved"
    assert len(live_for(replica)) == 1


def test_killed_between_reserve_and_saving_its_answer(site, tmp_path) -> None:
    server, replica = site
    slot_a, slot_b = berlin_slot(replica, 2, 9), berlin_slot(replica, 2, 10)
    replica.desk.add_slots(102522, [slot_a, slot_b])
    replica.faults.add(FaultRule(kind="hold_answer", path="reserve-appointment", count=1))
    process = start_mta(server, tmp_path, *BOOK)
    killed = kill_when(process, tmp_path, lambda a: a.phase == "reserving" and live_for(replica), replica)
    assert killed.process_id is None  # the answer was never saved
    [orphan_process] = live_for(replica)  # the site did reserve it
    assert orphan_process.timestamp == slot_a

    again = run_mta(server, tmp_path, *BOOK)
    assert again.returncode == 2
    assert "may still hold a slot" in again.stderr
    assert len(live_for(replica)) == 1  # never two for the person
    [first] = attempts_of(tmp_path)
    assert first.outcome == "timeout" and "orphan reservation" in first.reason
    sessions = open_database(f"sqlite:///{tmp_path / 'mta.db'}")
    with sessions() as session:
        [orphan] = session.scalars(select(OrphanReservation))
    assert orphan.hold_until == pytest.approx(first.reserve_sent_at + 15 * 60)
    assert (102522, slot_a) in held_by_orphans(sessions)

    # The site lets the orphan lapse (its clock moves on); the agent still never takes that slot before
    # its own hold ends — another person's booking gets the later slot.
    replica.clock.advance(replica.settings.reservation_duration_min * 60 + 1)
    assert live_for(replica) == []
    other = run_mta(server, tmp_path, *BOOK[:-6], "--first-name", "Max", "--last-name", "Muster",
                    "--email", "max@example.org")
    assert other.returncode == 0, other.stdout + other.stderr
    assert [p.timestamp for p in replica.desk.live_processes()] == [slot_b]


def test_killed_after_reserve_was_saved(site, tmp_path) -> None:
    server, replica = site
    replica.desk.add_slots(102522, [berlin_slot(replica, 2, 9), berlin_slot(replica, 2, 10)])
    hang = FaultRule(kind="timeout", path="update-appointment", count=1)
    replica.faults.add(hang)
    process = start_mta(server, tmp_path, *BOOK)
    killed = kill_when(process, tmp_path, lambda a: a.phase == "reserved" and hang.count == 0, replica)
    assert killed.process_id is not None and killed.auth_key

    again = run_mta(server, tmp_path, *BOOK)
    assert again.returncode == 0, again.stdout + again.stderr
    first, second = attempts_of(tmp_path)
    assert first.outcome == "timeout" and "given back" in first.reason and first.process_status == "cancelled"
    assert second.outcome == "reserved"
    [live] = live_for(replica)
    assert live.process_id == second.process_id != first.process_id
    assert replica.desk.processes[first.process_id].status == "cancelled"
