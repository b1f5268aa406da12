"""Processes the agent starts are stopped with it: the trace viewer on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from playwright.async_api import Browser

from agent.db import open_database
from agent.models import Attempt
from tests.proc_helpers import descendants, wait_gone

pytestmark = pytest.mark.browser


async def test_mta_trace_stops_its_viewer_and_children_on_sigterm(browser: Browser, tmp_path) -> None:
    context = await browser.new_context()
    await context.tracing.start(snapshots=True)
    page = await context.new_page()
    await page.set_content("<button>Weiter</button>")
    await page.get_by_role("button", name="Weiter").click()
    trace = tmp_path / "attempt-1.zip"
    await context.tracing.stop(path=str(trace))
    await context.close()
    db = f"sqlite:///{tmp_path / 'mta.db'}"
    with open_database(db).begin() as session:
        session.add(Attempt(site="test", person="p", service_id=1, request={}, phase="closed", outcome="site_error",
                            tries=[], step_seconds={}, diff=[], trace_path=str(trace)))
    env = {**os.environ, "MTA_DATABASE_URL": db, "MTA_DATA_DIR": str(tmp_path)}
    mta = subprocess.Popen([sys.executable, "-m", "agent.cli", "trace", "1", "--port", "0"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert mta.stdout is not None
        line = mta.stdout.readline()
        deadline = time.monotonic() + 30
        while "http://" not in line and time.monotonic() < deadline:
            line = mta.stdout.readline()
        assert "http://127.0.0.1:" in line, line
        children = descendants(mta.pid)
        assert children, "the viewer runs as a child of mta trace"
        mta.send_signal(signal.SIGTERM)
        assert mta.wait(timeout=15) == 0
        assert wait_gone(children, timeout=10) == [], f"left behind: {children}"
    finally:
        if mta.poll() is None:
            mta.kill()
            mta.wait()
