"""``mta run`` as a long-running process: it watches, and stops cleanly on SIGTERM."""

from __future__ import annotations

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
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not [r for r in replica.requests.all() if "available-calendar" in r.path]:
        time.sleep(0.2)
    assert [r for r in replica.requests.all() if "available-calendar" in r.path], "no poll reached the site"
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out
    assert "watching 1 watch(es) in 1 query(ies)" in out and out.rstrip().endswith("stopped")
    with sessions() as session:
        assert all(a.outcome is not None for a in session.scalars(select(Attempt)))
