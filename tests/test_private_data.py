"""Private data with a lifetime: owner-only modes, retention by age and size, forgetting a person,
and a data directory the user cannot write told in one line."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from agent.db import open_database
from agent.forget import StillBooking, UnknownPerson, forget
from agent.models import Attempt, OrphanReservation, Person, Watch
from agent.recordings import list_recordings, megabytes, prune
from agent.tracing import prepare_recordings
from agent.watches import add_watch, person_key
from flows.request import Contact

ALICE = Contact("Alicia", "Vantongeren", "alicia.v@example.org", "+49 171 2223334")
BOB = Contact("Bertram", "Oyelaran", "bertram.o@example.org", "+49 172 9998887")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def mta(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MTA_DATA_DIR": str(tmp_path / "data"), "MTA_LOG_LEVEL": "WARNING"}
    for name in ("MTA_DATABASE_URL", "MTA_RECORDINGS_DIR"):
        env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "agent.cli", *args], env=env, capture_output=True, text=True,
                          timeout=60)


def test_database_and_traces_are_owner_only(tmp_path) -> None:
    data = tmp_path / "data"
    sessions = open_database(f"sqlite:///{data / 'mta.db'}")
    add_watch(sessions, ALICE, 1063453, [102522], date.today(), date.today() + timedelta(days=5))
    assert mode(data) == 0o700 and mode(data / "mta.db") == 0o600
    assert mode(data / "mta.db-wal") == 0o600  # SQLite gives its log the database's mode
    prepare_recordings(data / "recordings", 14)
    assert mode(data / "recordings") == 0o700


def fake_traces(folder: Path, count: int, size: int, start_age_days: float, step_s: float) -> list[Path]:
    """``count`` trace files, the first ``start_age_days`` old, each next one ``step_s`` younger."""
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    paths = []
    for n in range(1, count + 1):
        path = folder / f"attempt-{n}.zip"
        path.write_bytes(os.urandom(size))
        when = now - start_age_days * 86400 + n * step_s
        os.utime(path, (when, when))
        paths.append(path)
    return paths


def test_many_traces_are_pruned_by_age_then_oldest_first_to_the_size_limit(tmp_path) -> None:
    folder = tmp_path / "recordings"
    old = fake_traces(folder, 10, 1000, start_age_days=30, step_s=60)  # a month old
    recent = fake_traces(folder / "x", 0, 0, 0, 0)  # nothing
    assert recent == []
    now = time.time()
    for n in range(11, 61):  # 50 recent traces of 100 kB, one a minute
        path = folder / f"attempt-{n}.zip"
        path.write_bytes(os.urandom(100_000))
        os.utime(path, (now - 3600 + n * 60, now - 3600 + n * 60))
    removed = prune(folder, max_age_days=14, max_bytes=megabytes(2))
    left = list_recordings(folder)
    assert {r.path for r in removed} >= set(old)  # past the age, whatever the size
    assert sum(r.size for r in left) <= megabytes(2)
    assert len(left) == megabytes(2) // 100_000  # as many as fit…
    assert [r.attempt_id for r in left] == list(range(61 - len(left), 61))  # …and the newest are kept
    assert not any(r.path.exists() for r in removed)


def test_mta_recordings_list_and_prune(tmp_path) -> None:
    fake_traces(tmp_path / "data" / "recordings", 30, 200_000, start_age_days=1, step_s=60)
    listed = mta(tmp_path, "recordings", "list")
    assert listed.returncode == 0, listed.stderr
    assert "30 trace(s)" in listed.stdout and "attempt" in listed.stdout
    pruned = mta(tmp_path, "recordings", "prune", "--max-mb", "1")
    assert pruned.returncode == 0, pruned.stderr
    assert "deleted attempt-1.zip" in pruned.stdout and "25 trace(s) deleted" in pruned.stdout
    assert len(list_recordings(tmp_path / "data" / "recordings")) == 5


def _attempt(session, key: str, recordings: Path, phase: str = "closed") -> Attempt:
    attempt = Attempt(site="replica", person=key, service_id=1063453, request={}, phase=phase, tries=[],
                      step_seconds={}, diff=[], outcome="site_error" if phase == "closed" else None)
    session.add(attempt)
    session.flush()
    trace = recordings / f"attempt-{attempt.id}.zip"
    trace.write_bytes(b"PK trace with " + key.encode())
    attempt.trace_path = str(trace)
    return attempt


def test_forget_removes_the_person_their_rows_and_their_traces_only(tmp_path) -> None:
    data = tmp_path / "data"
    recordings = data / "recordings"
    sessions = open_database(f"sqlite:///{data / 'mta.db'}")
    prepare_recordings(recordings, 14)
    today = date.today()
    for contact in (ALICE, BOB):
        add_watch(sessions, contact, 1063453, [102522], today, today + timedelta(days=5))
        add_watch(sessions, contact, 1063453, [102523], today, today + timedelta(days=5), mode="notify")
    alice, bob = person_key(ALICE.email), person_key(BOB.email)
    with sessions.begin() as session:
        a1 = _attempt(session, alice, recordings)
        _attempt(session, alice, recordings)
        b1 = _attempt(session, bob, recordings)
        session.add(OrphanReservation(attempt_id=a1.id, person=alice, service_id=1063453, sent_at=1.0, hold_until=2.0))
    done = forget(sessions, ALICE.email, recordings)  # by e-mail
    assert (done.person, done.watches, done.attempts, len(done.traces)) == (alice, 2, 2, 2)
    with sessions() as session:
        assert session.scalars(select(Person.key)).all() == [bob]
        assert {a.person for a in session.scalars(select(Attempt))} == {bob}
        assert session.scalar(select(func.count()).select_from(Watch)) == 2
        assert session.scalar(select(func.count()).select_from(OrphanReservation)) == 0
    assert [p.name for p in recordings.iterdir()] == [f"attempt-{b1.id}.zip"]
    raw = b"".join(p.read_bytes() for p in data.glob("mta.db*") if p.is_file())
    for value in (ALICE.first_name, ALICE.last_name, ALICE.email, ALICE.telephone):
        assert value.encode() not in raw, value  # overwritten, not left in free pages
    assert BOB.email.encode() in raw
    with pytest.raises(UnknownPerson):
        forget(sessions, ALICE.email, recordings)


def test_forget_refuses_while_an_attempt_of_the_person_is_open(tmp_path) -> None:
    data = tmp_path / "data"
    sessions = open_database(f"sqlite:///{data / 'mta.db'}")
    prepare_recordings(data / "recordings", 14)
    add_watch(sessions, ALICE, 1063453, [102522], date.today(), date.today() + timedelta(days=5))
    with sessions.begin() as session:
        _attempt(session, person_key(ALICE.email), data / "recordings", phase="reserving")
    with pytest.raises(StillBooking):
        forget(sessions, "1", data / "recordings")  # by number
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 1


def test_mta_forget_by_key(tmp_path) -> None:
    sessions = open_database(f"sqlite:///{tmp_path / 'data' / 'mta.db'}")
    add_watch(sessions, ALICE, 1063453, [102522], date.today(), date.today() + timedelta(days=5))
    key = person_key(ALICE.email)
    done = mta(tmp_path, "forget", key, "--yes")
    assert done.returncode == 0, done.stderr
    assert f"forgot {key}: 1 watch(es), 0 attempt(s), 0 trace(s)" in done.stdout
    again = mta(tmp_path, "forget", key, "--yes")
    assert again.returncode == 2 and "no person" in again.stderr and "Traceback" not in again.stderr


def test_a_data_directory_the_user_cannot_write_is_one_clear_line(tmp_path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    if subprocess.run(["chattr", "+i", str(data)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not supported here")
    try:
        assert not os.access(data, os.W_OK)  # even for root
        done = mta(tmp_path, "watch", "list")
    finally:
        subprocess.run(["chattr", "-i", str(data)], check=True)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "is not writable by this user" in done.stderr
    assert "chown" in done.stderr and "10001" in done.stderr
