"""The terminal as a person meets it: ``mta run`` in an 80×24 pseudo-terminal, tables that fit 80 columns,
help for every option, the replica's outbox."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest
import typer

from agent.attempts import AttemptRecorder
from agent.cli import app
from agent.config import get_settings
from agent.db import open_database
from agent.names import Names, remember_names
from flows.outcomes import Outcome, OutcomeKind
from tests.agent_helpers import agent_env, request_for
from tests.replica_helpers import berlin_slot
from tests.watch_helpers import add, fast_run_env, person

ESCAPES = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\r")
MUNICH_TIME = r"\d\d:\d\d:\d\d"


def mta(tmp_path: Path, *args: str, server=None, **env: str) -> subprocess.CompletedProcess:
    base = agent_env(server, tmp_path) if server is not None else {
        "MTA_DATABASE_URL": f"sqlite:///{tmp_path / 'mta.db'}", "MTA_RECORDINGS_DIR": str(tmp_path / "recordings")}
    return subprocess.run([sys.executable, "-m", "agent.cli", *args], env={**os.environ, **base, **env},
                          capture_output=True, text=True, timeout=60)


def test_every_option_of_every_command_has_help_text() -> None:
    missing = []

    def walk(command, path: list[str]) -> None:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, [*path, name])
            return
        if not (command.help or "").strip():
            missing.append(" ".join(path))
        for param in command.params:
            if not (getattr(param, "help", None) or "").strip():
                missing.append(f"{' '.join(path)} {param.name}")

    walk(typer.main.get_command(app), ["mta"])
    assert missing == []


def test_watch_list_and_attempts_fit_80_columns(replica, tmp_path) -> None:
    """Names from the cached catalogue (not ids), Munich times, every line within 80 columns."""
    sessions = open_database(f"sqlite:///{tmp_path / 'mta.db'}")
    add(sessions, replica, 1, [102522, 102523, 102526], count=2, time_from="07:00", time_to="12:00")
    add(sessions, replica, 2, [], service=10295182, mode="notify")  # the longest service name, any office
    names = Names.from_catalogue(replica.catalog.to_json(15, 60))
    remember_names(get_settings().data_dir, names)
    for n, (kind, office) in enumerate([(OutcomeKind.RESERVED, 102526), (OutcomeKind.NO_MATCH, None),
                                        (OutcomeKind.SITE_CHANGED, 10502)]):
        recorder = AttemptRecorder.begin(sessions, "replica", request_for(replica, contact=person(10 + n),
                                                                          person=f"p-{n}"))
        if office:
            recorder.update(office_id=office, slot_ts=berlin_slot(replica, 3, 9))
        recorder.close(Outcome(kind, "a reason " * 30), str(tmp_path / "t.zip") if kind.succeeded is False else None)

    watches = mta(tmp_path, "watch", "list", COLUMNS="80")
    attempts = mta(tmp_path, "attempts", COLUMNS="80")
    for done in (watches, attempts):
        assert done.returncode == 0, done.stderr
        too_long = [line for line in done.stdout.splitlines() if len(line.rstrip()) > 80]
        assert too_long == [], done.stdout
    assert "Orleansplatz" in watches.stdout and "Forstenrieder" in watches.stdout and "102522" not in watches.stdout
    assert "Reisepass ×2" in watches.stdout and "any" in watches.stdout
    assert "Forstenrieder A…" in attempts.stdout and "site changed" in attempts.stdout and "no match" in attempts.stdout
    wide = mta(tmp_path, "attempts", "--wide", COLUMNS="80")
    assert "Bürgerbüro Forstenrieder Allee (102526)" in wide.stdout and "a reason a reason" in wide.stdout
    assert "Bürgerbüro Ruppertstraße (Pass- und Ausweiskalender) (10502)" in " ".join(wide.stdout.split())


def test_replica_outbox_lists_the_activation_links(server, replica, tmp_path, api) -> None:
    replica.set_captcha_required(False)
    slot = berlin_slot(replica, 2, 9)
    replica.desk.add_slots(102522, [slot])
    process = api.post("reserve-appointment/", json={"timestamp": slot, "serviceCount": [1], "officeId": 102522,
                                                     "serviceId": [1063453]}).json()
    ref = {"processId": process["processId"], "authKey": process["authKey"]}
    api.post("update-appointment/", json={**ref, "familyName": "Erika M", "email": "erika@example.org"})
    api.post("preconfirm-appointment/", json=ref)
    done = mta(tmp_path, "replica", "outbox", server=server)  # the replica found from MTA_BOOKING_URL
    assert done.returncode == 0, done.stderr
    assert f"mta activate '{replica.outbox.latest_for('erika@example.org').link}'" in done.stdout
    assert "to erika@example.org" in done.stdout
    nobody = mta(tmp_path, "replica", "outbox", "--url", "http://127.0.0.1:9")
    assert nobody.returncode == 2 and "no replica answered at http://127.0.0.1:9" in " ".join(nobody.stderr.split())


@pytest.mark.browser
def test_run_in_an_80x24_terminal_shows_time_next_check_and_budget(server, replica, tmp_path) -> None:
    replica.clock.unfreeze()
    replica.desk.add_slots(102522, [berlin_slot(replica, 3, 9), berlin_slot(replica, 3, 10)])
    sessions = open_database(f"sqlite:///{tmp_path / 'mta.db'}")
    add(sessions, replica, 1, [102522], mode="notify", time_from="06:00", time_to="06:30")  # sees slots, wants none
    env = fast_run_env(server, tmp_path, MTA_LOG_LEVEL="WARNING", TERM="xterm-256color")
    env.pop("COLUMNS", None), env.pop("LINES", None)
    child = pexpect.spawn(sys.executable, ["-m", "agent.cli", "run"], env=env, dimensions=(24, 80), encoding="utf-8",
                          timeout=5)
    screen = ""
    row = re.compile(rf"Reisepass @ Orleansplatz\s+watching\s+{MUNICH_TIME}\s+(?:{MUNICH_TIME}|now)\s+2\b")
    budget = re.compile(rf"{MUNICH_TIME} budget \d+/6 in 3 s · site counter \d+/60 · circuit closed")
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not (row.search(screen) and budget.search(screen)):
            try:
                screen += ESCAPES.sub("", child.read_nonblocking(65536, timeout=1))
            except pexpect.TIMEOUT:
                continue
        assert row.search(screen), screen[-2000:]  # state, last check, next check, free slots seen
        assert budget.search(screen), screen[-2000:]
        assert "query" in screen and "last ok" in screen and "next" in screen
        child.kill(signal.SIGTERM)
        child.expect(pexpect.EOF, timeout=60)
        screen += ESCAPES.sub("", child.before)
        child.close()
        assert child.exitstatus == 0, screen[-2000:]
        assert "stopping: no booking in flight" in screen and screen.rstrip().endswith("stopped")
    finally:
        if child.isalive():
            child.kill(signal.SIGKILL)
            child.close(force=True)
