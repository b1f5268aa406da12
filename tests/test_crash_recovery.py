"""SIGKILL a separate ``mta book`` process at several points, restart: nothing lost, nothing doubled."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
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


def start_mta(server, tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    # The runs of one test share the budget's books (one data directory, as on one machine): a window
    # compressed tenfold keeps the restart's wait for the crashed run's places short.
    env = {**os.environ, **agent_env(server, tmp_path), "MTA_LOG_LEVEL": "WARNING", "MTA_BUDGET_REQUESTS": "3",
           "MTA_BUDGET_WINDOW_S": "6", **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "agent.cli", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def run_mta(server, tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    process = start_mta(server, tmp_path, *args, env=env)
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
    refusal = json.loads(again.stdout)  # --json: the refusal, too, is one JSON object
    assert refusal["outcome"] == "refused" and "may still hold a slot" in refusal["reason"]
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


def slots_and_a_hanging_contact_step(replica) -> tuple[int, FaultRule]:
    """Two slots, the earlier one (returned) to be held; the contact step's answer hangs once, so the
    attempt sits in phase ``reserved`` long enough to be interrupted there."""
    slot_a = berlin_slot(replica, 2, 9)
    replica.desk.add_slots(102522, [slot_a, berlin_slot(replica, 2, 10)])
    hang = FaultRule(kind="timeout", path="update-appointment", count=1)
    replica.faults.add(hang)
    return slot_a, hang


def test_killed_after_reserve_was_saved_keeps_the_same_slot(site, tmp_path) -> None:
    """The held slot is finished with the page's own requests on restart, not given back for another."""
    server, replica = site
    slot_a, hang = slots_and_a_hanging_contact_step(replica)
    process = start_mta(server, tmp_path, *BOOK)
    killed = kill_when(process, tmp_path, lambda a: a.phase == "reserved" and hang.count == 0, replica)
    assert killed.process_id is not None and killed.auth_key

    again = run_mta(server, tmp_path, *BOOK)
    assert again.returncode == 2, again.stdout + again.stderr  # the person now holds it: no second booking
    assert "slot was kept" in again.stderr and "already holds process" in json.loads(again.stdout)["reason"]
    [first] = attempts_of(tmp_path)
    assert first.outcome == "reserved" and first.process_status == "preconfirmed" and first.phase == "closed"
    assert first.activation_deadline
    [live] = live_for(replica)
    assert (live.process_id, live.timestamp, live.status) == (first.process_id, slot_a, "preconfirmed")
    assert live.email == "erika@example.org"
    assert [m for m in replica.outbox.all() if m.to == "erika@example.org"]  # the activation mail went out


def test_chromium_killed_between_reserve_and_preconfirm_keeps_the_slot(site, tmp_path) -> None:
    """The browser dies while the attempt holds a slot: the same run finishes it without a page."""
    from tests.proc_helpers import descendants

    server, replica = site
    slot_a, hang = slots_and_a_hanging_contact_step(replica)
    process = start_mta(server, tmp_path, *BOOK)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        attempt = first_attempt(tmp_path)
        if attempt is not None and attempt.phase == "reserved" and hang.count == 0:
            break
        time.sleep(0.05)
    else:
        process.kill()
        raise AssertionError("the attempt never held a slot")
    browsers = [pid for pid, name in descendants(process.pid).items() if "chrom" in name]
    assert browsers
    for pid in browsers:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, out + err
    result = json.loads(out)
    assert result["outcome"] == "reserved" and "page's own requests" in result["reason"]
    assert "page was closed" in result["reason"]  # the wait ended with the browser, not by its timeout
    [first] = attempts_of(tmp_path)
    assert first.process_status == "preconfirmed" and first.phase == "closed"
    [live] = live_for(replica)
    assert (live.process_id, live.timestamp, live.status) == (first.process_id, slot_a, "preconfirmed")


def test_an_unanswered_reserve_blocks_a_second_booking(site, tmp_path) -> None:
    """No crash at all: the site holds the reserve answer until the flow gives up. The attempt records an
    orphan, and a second booking for the person is refused while the site may still hold the slot."""
    server, replica = site
    replica.desk.add_slots(102522, [berlin_slot(replica, 2, 9), berlin_slot(replica, 2, 10)])
    replica.faults.add(FaultRule(kind="hold_answer", path="reserve-appointment", count=1))
    replica.settings.fault_hang_s = 30  # the answer comes after the flow gave up waiting
    first = run_mta(server, tmp_path, *BOOK, env={"MTA_STEP_TIMEOUT_S": "4", "MTA_BUDGET_REQUESTS": "3",
                                                  "MTA_BUDGET_WINDOW_S": "6"})  # gives up after ~10 s
    assert first.returncode == 1, first.stdout + first.stderr
    assert json.loads(first.stdout)["outcome"] == "timeout"
    [attempt] = attempts_of(tmp_path)
    assert "orphan reservation" in attempt.reason and attempt.phase == "closed"
    second = run_mta(server, tmp_path, *BOOK)
    assert second.returncode == 2 and "may still hold a slot" in json.loads(second.stdout)["reason"]
    assert len(live_for(replica)) == 1  # never two live processes for the person


def test_playwright_work_files_stay_private_and_a_crash_leaves_none(site, tmp_path, request) -> None:
    """Trace parts hold the form's entries: they live in the recordings (0700), not the system temp folder,
    and what a killed process left is removed by the next start."""
    server, replica = site
    replica.desk.add_slots(102522, [berlin_slot(replica, 2, 9)])
    hang = FaultRule(kind="timeout", path="preconfirm-appointment", count=1)
    replica.faults.add(hang)
    system_tmp = Path(tempfile.mkdtemp(prefix="mta-tmp-"))  # short: Chromium's socket path has a length limit
    request.addfinalizer(lambda: shutil.rmtree(system_tmp, ignore_errors=True))
    process = start_mta(server, tmp_path, *BOOK, env={"TMPDIR": str(system_tmp)})
    kill_when(process, tmp_path, lambda a: hang.count == 0 and a.phase == "reserved", replica)
    work = tmp_path / "recordings" / ".playwright"
    [left] = list(work.iterdir())
    assert oct(work.stat().st_mode & 0o777) == "0o700" and oct(left.stat().st_mode & 0o777) == "0o700"
    assert any(left.rglob("*")), "the trace's parts were written to the private folder"
    for path in system_tmp.rglob("*"):
        assert not path.is_file() or b"erika@example.org" not in path.read_bytes(), path

    run_mta(server, tmp_path, *BOOK, env={"TMPDIR": str(system_tmp)})
    assert not left.exists()  # the dead process's parts are gone
