"""Real time (slow tier): 30 minutes of ``mta run`` with the default settings against the replica's city-like
limiter (60 requests per IP, the counter's TTL refreshed by every request), with ``mta book`` runs from a second
process now and then. Not one 429, and the quiet gaps show in the status lines."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.agent_helpers import agent_env
from tests.replica_helpers import berlin_slot
from tests.watch_helpers import add

MINUTES = float(os.environ.get("MTA_SLOW_LIMITER_MINUTES", "30"))
pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(MINUTES * 60 + 900)]


def test_thirty_minutes_of_run_and_book_never_meet_the_sites_limit(server, replica, tmp_path) -> None:
    from agent.db import open_database

    replica.clock.unfreeze()
    assert (replica.limiter.limit, replica.limiter.window_s) == (60, 60)  # the city's defaults
    sessions = open_database(f"sqlite:///{tmp_path / 'mta.db'}")
    add(sessions, replica, 1, [102522], mode="notify")
    add(sessions, replica, 2, [102523], mode="notify")
    env = {**os.environ, **agent_env(server, tmp_path), "MTA_LOG_LEVEL": "WARNING", "MTA_METRICS_PORT": "-1"}
    env.pop("MTA_CONTROL_TIMEOUT_S", None)  # the defaults, all of them
    run = subprocess.Popen([sys.executable, "-m", "agent.cli", "run", "--status-every", "20"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    bookings = []
    try:
        end = time.monotonic() + MINUTES * 60
        n = 0
        while time.monotonic() < end:
            time.sleep(min(300, max(0, end - time.monotonic())))
            if time.monotonic() >= end:
                break
            n += 1
            replica.desk.add_slots(102524, [berlin_slot(replica, 3 + n, 9)])
            book = subprocess.run([sys.executable, "-m", "agent.cli", "book", "--service", "1063453", "--office",
                                   "102524", "--json", "--first-name", "Bea", "--last-name", f"Book{n}",
                                   "--email", f"bea{n}@example.org"], env=env, capture_output=True, text=True,
                                  timeout=600)
            bookings.append(book.stdout.strip())
    finally:
        run.send_signal(signal.SIGTERM)
        out, _ = run.communicate(timeout=120)
    refused = [r for r in replica.requests.all() if r.status == 429]
    print(f"{len(replica.requests.all())} requests, {len(refused)} refused; bookings: {bookings}")
    print("\n".join(line for line in out.splitlines() if "quiet until" in line)[:2000])
    assert refused == []
    assert "quiet until" in out  # the gaps are shown, with their reason
    assert all('"outcome": "reserved"' in b for b in bookings), bookings
    assert run.returncode == 0
