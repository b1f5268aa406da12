"""Shared fixtures: a fresh replica on a real socket per test, with a frozen clock."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from replica.server import ReplicaServer
from replica.settings import ReplicaSettings
from replica.site import Replica

@pytest.fixture(scope="session", autouse=True)
def no_process_left_behind():
    """The suite stops everything it started: after the last test, no process of ours remains
    (Chromium, Playwright drivers, trace viewers, ``mta`` subprocesses)."""
    yield
    from tests.proc_helpers import descendants, wait_gone

    # (autouse: set up before, so torn down after, pytest-playwright's own browser and driver)
    left = wait_gone(descendants(), timeout=15)
    assert not left, f"processes left behind by the tests: {descendants()}"


@pytest.fixture(autouse=True)
def own_data_directory(tmp_path_factory, monkeypatch):
    """Each test has its own data directory: the shared rate-budget books (and anything else kept there)
    never carry from one test to the next, nor from a person's own ``~/.local/share/mta``."""
    monkeypatch.setenv("MTA_DATA_DIR", str(tmp_path_factory.mktemp("data")))


# Tests lower the proof-of-work cost only through this named setting.
TEST_ALTCHA_COST = 10


@pytest.fixture
def replica() -> Replica:
    site = Replica(ReplicaSettings(altcha_cost=TEST_ALTCHA_COST))
    site.clock.freeze()
    return site


@pytest.fixture
def server(replica: Replica) -> Iterator[ReplicaServer]:
    with ReplicaServer(replica) as running:
        yield running


@pytest.fixture
def api(server: ReplicaServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.api_url + "/", timeout=10) as client:
        yield client


# --- browser (pytest-playwright-asyncio fixtures, pointed at Debian's Chromium) ---
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--disable-background-networking", "--disable-component-update", "--no-sandbox"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "locale": "de-DE", "timezone_id": "Europe/Berlin"}


# --- Telegram: the Bot API stand-in (tests/botapi_standin.py) the real client talks to ---
@pytest.fixture
def standin():
    from tests.botapi_standin import BotApiStandIn

    api = BotApiStandIn().start()
    try:
        yield api
    finally:
        api.stop()
    assert not [t for t in threading.enumerate() if t.name == "botapi-standin"], "the server thread is still alive"
