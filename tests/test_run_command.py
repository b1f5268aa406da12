"""``mta run`` as a long-running process: it watches, and stops cleanly on SIGTERM."""

from __future__ import annotations

import re
import select as io_select
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import select

from agent.db import open_database
from agent.models import Attempt
from tests.watch_helpers import add, fast_run_env

pytestmark = pytest.mark.browser


def test_run_watches_and_stops_cleanly_on_sigterm(server, replica, tmp_path) -> None:
    replica.clock.unfreeze()
    sessions = open_database(f"sqlite:///{tmp_path / 'mta.db'}")
    add(sessions, replica, 1, [102522], mode="notify")
    env = fast_run_env(server, tmp_path, MTA_LOG_LEVEL="WARNING")
    process = subprocess.Popen([sys.executable, "-m", "agent.cli", "run", "--status-every", "1"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # not a terminal: every second a block of timestamped lines; wait for one after an answered poll
    answered = re.compile(r"^  Reisepass @ Orleansplatz: watching; last check \d\d:\d\d:\d\d, next ")
    seen, deadline = [], time.monotonic() + 60
    while time.monotonic() < deadline and not any(answered.search(line) for line in seen):
        ready, _, _ = io_select.select([process.stdout], [], [], 1)
        if ready:
            line = process.stdout.readline()
            if not line:
                break
            seen.append(line)
    assert [r for r in replica.requests.all() if "available-calendar" in r.path], "no poll reached the site"
    process.send_signal(signal.SIGTERM)
    rest, _ = process.communicate(timeout=60)
    out = "".join(seen) + rest
    assert process.returncode == 0, out
    assert "watching 1 watch(es) in 1 query(ies)" in out and out.rstrip().endswith("stopped")
    assert out.count("notices: this console (no MTA_TELEGRAM_TOKEN") == 1  # said once
    assert re.search(r"^\d\d:\d\d:\d\d budget \d+/6 in 3 s · site counter \d+/60", out, re.M), out
    assert any(answered.search(line) for line in out.splitlines()), out
    assert "stopping: no booking in flight" in out
    with sessions() as session:
        assert all(a.outcome is not None for a in session.scalars(select(Attempt)))
