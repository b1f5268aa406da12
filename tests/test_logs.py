"""Logs: JSON lines on request, and no personal data in any line — unit checks and a full `mta run`."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from loguru import logger

from agent import logs
from agent.db import open_database
from agent.watches import add_watch
from flows.request import Contact
from tests.replica_helpers import berlin_slot
from tests.watch_helpers import fast_run_env

ZENOBIA = Contact("Zenobia", "Quillfeather", "zenobia.q@example.org", "+491705550123")  # valid for the form
BOT_TOKEN = "7712345678:AAHq3kZ_9vXw-LmNoPqRsTuVwXyZaBcDeFg"


def capture(fmt: str, emit) -> list[str]:
    """Lines the configured sink writes to stderr while ``emit()`` logs."""
    import io

    buffer = io.StringIO()
    real = sys.stderr
    sys.stderr = buffer
    try:
        logs.setup_logging("DEBUG", fmt)
        emit()
    finally:
        sys.stderr = real
        logs.setup_logging("INFO")
    return buffer.getvalue().splitlines()


def test_every_shape_and_every_known_person_is_masked_in_message_extra_and_traceback() -> None:
    logs.remember_contact(ZENOBIA)
    secret = "ab12cd34ef"
    link = "http://x/#/appointment/confirm/eyJpZCI6MTAwMDAxLCJhdXRoS2V5IjoiYWIxMmNkMzRlZiJ9"

    def emit() -> None:
        logger.bind(person="Zenobia Quillfeather").info("booked for ZENOBIA quillfeather <zenobia.q@example.org>, "
                                                        "tel +491705550123, authKey={} {}", secret, link)
        logger.warning("bot https://api.telegram.org/bot{}/getMe failed", BOT_TOKEN)
        try:
            raise ValueError(f"form rejected zenobia.q@example.org authKey: {secret}")
        except ValueError:
            logger.exception("attempt failed for Zenobia")

    for fmt in ("human", "json"):
        text = "\n".join(capture(fmt, emit))
        for value in ("Zenobia", "ZENOBIA", "Quillfeather", "quillfeather", "zenobia.q@", "5550123", secret,
                      BOT_TOKEN, "eyJpZCI6"):
            assert value not in text, (fmt, value, text)
        assert "<person>" in text and "<bot-token>" in text and "<code>" in text
        assert "ValueError" in text  # the traceback is kept, scrubbed


def test_json_format_is_one_object_per_line() -> None:
    def emit() -> None:
        logger.bind(query="1063453:1:102522").info("polled {} days", 3)
        try:
            1 / 0
        except ZeroDivisionError:
            logger.exception("a poll failed")

    lines = capture("json", emit)
    records = [json.loads(line) for line in lines]
    assert [r["level"] for r in records] == ["INFO", "ERROR"]
    assert records[0]["message"] == "polled 3 days" and records[0]["extra"] == {"query": "1063453:1:102522"}
    assert records[0]["time"].endswith("+00:00") and records[0]["logger"] == __name__
    assert "ZeroDivisionError" in records[1]["exception"] and "Traceback" in records[1]["exception"]
    human = capture("human", lambda: logger.info("polled {} days", 3))
    assert len(human) == 1 and human[0].endswith("INFO    tests.test_logs: polled 3 days")


def test_a_skipped_periodic_job_is_no_warning_for_a_person() -> None:
    """APScheduler says so when the warm pages' upkeep is still busy: routine, so below what a person sees."""
    import logging

    def emit() -> None:
        logging.getLogger("apscheduler.schedulers.base").warning(
            'Execution of job "Watcher.maintain_warm_pages" skipped: maximum number of running instances reached (1)')
        logging.getLogger("apscheduler.schedulers.base").warning("something else went wrong")

    shown = capture("human", emit)
    assert [line for line in shown if "WARNING" in line] == [shown[-1]] and "something else" in shown[-1]
    assert "DEBUG" in shown[0]  # kept, at debug


@pytest.mark.browser
def test_a_full_run_with_a_booking_prints_no_personal_data(server, replica, tmp_path) -> None:
    """`mta run` at DEBUG in JSON, booking for a seeded person with a bot token set: grep every line."""
    replica.clock.unfreeze()
    sessions = open_database(f"sqlite:///{tmp_path / 'mta.db'}")
    today = replica.clock.now_berlin().date()
    add_watch(sessions, ZENOBIA, 1063453, [102522], today, today + timedelta(days=60), mode="auto")
    env = fast_run_env(server, tmp_path, MTA_LOG_LEVEL="DEBUG", MTA_LOG_FORMAT="json", MTA_TELEGRAM_TOKEN=BOT_TOKEN,
                       MTA_CONTACT_FIRST_NAME="Zenobia")
    out_file, err_file = open(tmp_path / "out.txt", "w+"), open(tmp_path / "err.txt", "w+")  # files: DEBUG fills pipes
    process = subprocess.Popen([sys.executable, "-m", "agent.cli", "run", "--status-every", "1"], env=env,
                               stdout=out_file, stderr=err_file, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not [r for r in replica.requests.all() if "available-calendar" in r.path]:
            time.sleep(0.2)
        replica.desk.add_slots(102522, [berlin_slot(replica, 3, 10)])
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not [p for p in replica.desk.live_processes() if p.status == "preconfirmed"]:
            time.sleep(0.2)
        [booked] = replica.desk.live_processes()
        assert booked.email == ZENOBIA.email  # the site got the data; the logs must not
        time.sleep(1.5)  # a status line after the booking
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        out_file.close()
        err_file.close()
    out, errors = (tmp_path / "out.txt").read_text(), (tmp_path / "err.txt").read_text()
    assert process.returncode == 0, errors
    records = [json.loads(line) for line in errors.splitlines() if line.strip()]  # every log line is JSON
    assert any("slot held" in r["message"] for r in records), "the run did not log its booking"
    secrets = (ZENOBIA.last_name, ZENOBIA.email, ZENOBIA.telephone, "5550123", BOT_TOKEN, booked.auth_key)
    for value in (ZENOBIA.first_name, *secrets):  # the log: nothing of the person at all
        assert value.lower() not in errors.lower(), value
    for value in secrets:  # the console the person reads: addressed by first name, nothing more
        assert value.lower() not in out.lower(), value
    assert f"→ {ZENOBIA.first_name} [booked]" in out
