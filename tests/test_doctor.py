"""`mta doctor`: a readable pass/fail report; non-zero when something the agent needs is missing."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from tests.agent_helpers import agent_env

pytestmark = pytest.mark.browser


def doctor(server, tmp_path, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("MTA_TELEGRAM_")}
    full.update({**agent_env(server, tmp_path), "MTA_DATA_DIR": str(tmp_path / "data"),
                 "MTA_DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'mta.db'}", "COLUMNS": "200", **env})
    return subprocess.run([sys.executable, "-m", "agent.cli", "doctor"], env=full, capture_output=True, text=True,
                          timeout=120)


def test_a_fresh_setup_passes_every_check(server, tmp_path) -> None:
    done = doctor(server, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    for name in ("configuration", "data directory", "database", "playwright driver", "chromium", "telegram",
                 "target site"):
        assert any(line.startswith(f"✓ {name}:") for line in lines), (name, done.stdout)
    assert "created at first use" in done.stdout and lines[-1] == "ready to run"
    assert not (tmp_path / "data").exists()  # the doctor changes nothing


def test_a_wrong_chromium_path_fails_with_a_reason_and_a_non_zero_exit(server, tmp_path) -> None:
    done = doctor(server, tmp_path, MTA_CHROMIUM_PATH=str(tmp_path / "no-chromium"))
    assert done.returncode == 1
    assert f"✗ chromium: {tmp_path / 'no-chromium'} does not exist" in done.stdout
    assert "✓ playwright driver: starts" in done.stdout
    assert done.stdout.splitlines()[-1] == "1 problem(s): chromium" and "Traceback" not in done.stderr


def test_a_database_from_a_newer_version_an_unreachable_site_and_a_refused_token_fail(server, tmp_path) -> None:
    (tmp_path / "data").mkdir()
    with sqlite3.connect(tmp_path / "data" / "mta.db") as db:
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        db.execute("INSERT INTO alembic_version VALUES ('9999')")
    done = doctor(server, tmp_path, MTA_API_URL="http://127.0.0.1:9/api", MTA_TELEGRAM_TOKEN="123456789:" + "x" * 35,
                  MTA_TELEGRAM_BASE_URL=server.base_url)
    assert done.returncode == 1
    assert "✗ database:" in done.stdout and "unknown to this version" in done.stdout
    assert "✗ target site:" in done.stdout and "✗ telegram:" in done.stdout
    assert "x" * 35 not in done.stdout  # the token is not printed


def test_the_sandbox_setting_reaches_chromium(server, tmp_path) -> None:
    """As root the sandbox cannot work: auto leaves it off (and says so); on insists, and Chromium refuses."""
    if os.geteuid() != 0:
        pytest.skip("shows the root case")
    auto = doctor(server, tmp_path)
    assert "sandbox off" in auto.stdout and "--no-sandbox" in auto.stdout
    forced = doctor(server, tmp_path, MTA_CHROMIUM_SANDBOX="on")
    assert forced.returncode == 1 and "✗ chromium:" in forced.stdout and "does not start" in forced.stdout
