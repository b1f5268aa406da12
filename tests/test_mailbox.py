"""The activation loop over a real mail path: the replica delivers its activation mail over LMTP into a real Dovecot
(started here on loopback ports, IMAPS with a throwaway self-signed certificate the agent is told to trust); the
agent reads it over IMAP (IDLE, or polling), activates through the page in Chromium, records ``confirmed``."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from loguru import logger
from sqlalchemy import select

from agent.db import open_database
from agent.imap_mailbox import MailboxRefused
from agent.models import Attempt
from agent.notifier import MemoryNotifier
from agent.service import AgentService
from agent.watches import person_key
from flows.links import activation_link
from replica.mail import activation_message
from tests.agent_helpers import agent_env
from tests.dovecot_helpers import Dovecot
from tests.replica_helpers import berlin_slot
from tests.watch_helpers import add, person, wait_for, watcher_settings

pytestmark = pytest.mark.browser

USER = "p1"  # the mailbox of watch_helpers.person(1): p1@example.org
ADDRESS = f"{USER}@example.org"


@pytest.fixture
def dovecot():
    server = Dovecot.create(user=USER)
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def mailing_replica(replica, dovecot):
    """The replica hands its activation mail to Dovecot's LMTP listener."""
    replica.settings.mail_url = f"lmtp://127.0.0.1:{dovecot.lmtp_port}"
    replica.set_captcha_required(False)
    return replica


def mail_settings(server, tmp: Path, dovecot: Dovecot, **overrides):
    values = dict(imap_host="127.0.0.1", imap_port=dovecot.imaps_port, imap_user=dovecot.user,
                  imap_password=dovecot.password, imap_ca_file=dovecot.cert, imap_idle_s=30.0, imap_poll_s=0.5,
                  imap_retry_s=0.5, imap_reconnect_s=0.3, imap_reconnect_max_s=2.0, activation_check_s=0.5,
                  warm_pages=0)
    values.update(overrides)
    return watcher_settings(server, tmp, **values)


def reserve(api, replica, hour: int, email: str = ADDRESS) -> dict:
    """A reservation with contact details, not yet preconfirmed (through the replica's API)."""
    slot = berlin_slot(replica, 3, hour)
    replica.desk.add_slots(102522, [slot])
    process = api.post("reserve-appointment/", json={"timestamp": slot, "serviceCount": [1], "officeId": 102522,
                                                      "serviceId": [1063453]}).json()
    ref = {"processId": process["processId"], "authKey": process["authKey"], "scope": process["scope"]}
    updated = api.post("update-appointment/", json={**ref, "familyName": "Person1 Test", "email": email})
    assert updated.status_code == 200, updated.text
    return process


def preconfirm(api, process: dict) -> None:
    ref = {"processId": process["processId"], "authKey": process["authKey"], "scope": process["scope"]}
    assert api.post("preconfirm-appointment/", json=ref).status_code == 200


def hold(sessions, process: dict, deadline_in_s: float = 3600.0) -> int:
    """Record the reservation as one this agent made and preconfirmed (a closed attempt)."""
    with sessions.begin() as session:
        attempt = Attempt(site="test", person=person_key(ADDRESS), service_id=1063453, request={}, phase="closed",
                          outcome="reserved", office_id=102522, slot_ts=int(process["timestamp"]),
                          process_id=process["processId"], auth_key=process["authKey"],
                          process_status="preconfirmed", activation_deadline=time.time() + deadline_in_s,
                          tries=[], step_seconds={}, diff=[])
        session.add(attempt)
        session.flush()
        return attempt.id


def subject(message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def seen(dovecot: Dovecot) -> dict[str, bool]:
    """Subject → has the \\Seen flag, as the server keeps it on disk."""
    return {subject(m): "S" in m.get_flags() for m in dovecot.messages()}


def confirms(replica) -> list:
    return [r for r in replica.requests.all() if r.path.endswith("/confirm-appointment/")]


@pytest.fixture
def captured_logs(caplog):
    """Everything logged: the agent's loguru lines at DEBUG, and whatever the IMAP library lets through
    (it carries whole messages at DEBUG/INFO, so the agent keeps it at WARNING)."""
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="DEBUG")
    caplog.set_level(logging.DEBUG)  # the root logger: only the library's own level filters
    try:
        yield lambda: "\n".join(lines) + "\n" + caplog.text
    finally:
        logger.remove(sink)


async def test_a_released_slot_is_booked_and_activated_from_the_mailbox(server, mailing_replica, dovecot, tmp_path,
                                                                        captured_logs) -> None:
    """release → watcher → reserve → the city's mail (LMTP) → IMAP IDLE → activation on the page → confirmed."""
    replica = mailing_replica
    replica.clock.unfreeze()
    settings = mail_settings(server, tmp_path, dovecot)
    sessions = open_database(settings.database_url)
    add(sessions, replica, 1, [102522])
    notifier = MemoryNotifier()
    async with AgentService(settings, notifier, sessions=sessions) as agent:
        await wait_for(lambda: any(s.poller.polls >= 1 for s in agent.watcher.queries.values()), 60)
        await wait_for(lambda: agent.mailbox.idling, 30)
        slot = berlin_slot(replica, 3, 10)
        replica.desk.add_slots(102522, [slot])
        await wait_for(lambda: agent.mailbox.stats.activated, 120)
        [activated] = agent.mailbox.stats.activated
    [delivery] = replica.outbox.deliveries
    assert delivery.error == "" and delivery.process_id == activated["processId"]
    [process] = replica.desk.live_processes()
    assert process.status == "confirmed" and process.timestamp == slot
    with sessions() as session:
        attempt = session.scalars(select(Attempt)).one()
    assert (attempt.outcome, attempt.process_status) == ("confirmed", "confirmed") and attempt.activated_at
    assert seen(dovecot) == {"Aktivierungslink für Ihren Termin": True}  # marked seen, not deleted
    kinds = [n.kind for n in notifier.notices]
    assert kinds.count("booked") == 1 and kinds.count("activated") == 1 and "activation_due" not in kinds
    told = next(n for n in notifier.notices if n.kind == "activated")
    assert told.attachment is not None and "BEGIN:VCALENDAR" in told.attachment.read_text()
    assert oct(told.attachment.stat().st_mode & 0o777) == "0o600"
    assert len(confirms(replica)) == 1
    mail_to_confirmed = activated["confirmedAt"] - delivery.at
    print(f"\nmail delivered → confirmed: {mail_to_confirmed:.2f} s "
          f"(delivered → read {activated['mailReadAt'] - delivery.at:.2f} s, "
          f"read → confirmed {activated['confirmedAt'] - activated['mailReadAt']:.2f} s)")
    assert 0 < mail_to_confirmed < 60
    logs = captured_logs()
    assert "mailbox: process" in logs and "activated" in logs  # the agent's lines were captured
    assert dovecot.password not in logs and process.auth_key not in logs and ADDRESS not in logs
    assert logging.getLogger("aioimaplib").getEffectiveLevel() >= logging.WARNING


async def test_only_the_activation_mail_of_a_held_reservation_is_acted_on(server, mailing_replica, dovecot, tmp_path,
                                                                          api) -> None:
    replica = mailing_replica
    settings = mail_settings(server, tmp_path, dovecot)
    sessions = open_database(settings.database_url)
    ours, theirs = reserve(api, replica, 10), reserve(api, replica, 11)
    attempt_id = hold(sessions, ours)
    link = activation_link(settings.booking_url, ours["processId"], ours["authKey"])
    fragment = link.split("#", 1)[1]
    page_path = settings.booking_url.split("//", 1)[1].split("/", 1)[1]

    def look_alike(subject: str, url: str) -> bytes:
        message = activation_message("noreply@replica.invalid", ADDRESS, "Person1 Test", "Bürgerbüro Orleansplatz",
                                     int(ours["timestamp"]), url, 60, time.time())
        message.replace_header("Subject", subject)
        return message.as_bytes()

    notifier = MemoryNotifier()
    async with AgentService(settings, notifier, sessions=sessions) as agent:
        watcher = agent.mailbox
        await wait_for(lambda: watcher.idling, 30)
        dovecot.deliver(look_alike("another host", f"http://evil.example/{page_path}#{fragment}"))
        dovecot.deliver(look_alike("another process", f"http://127.0.0.1:{dovecot.lmtp_port}/{page_path}#{fragment}"))
        preconfirm(api, theirs)  # a real mail from the site, for an appointment the agent does not hold
        await wait_for(lambda: len(dovecot.messages()) == 3, 30)
        preconfirm(api, ours)
        await wait_for(lambda: watcher.stats.activated, 60)
        await wait_for(lambda: watcher.stats.examined >= 4, 30)
    assert [a["processId"] for a in watcher.stats.activated] == [ours["processId"]]
    status = {p.process_id: p.status for p in replica.desk.processes.values()}
    assert status == {ours["processId"]: "confirmed", theirs["processId"]: "preconfirmed"}
    assert len(confirms(replica)) == 1  # nothing else was ever opened
    flags = sorted((subject(m), "S" in m.get_flags()) for m in dovecot.messages())
    assert flags == [("Aktivierungslink für Ihren Termin", False), ("Aktivierungslink für Ihren Termin", True),
                     ("another host", False), ("another process", False)]
    with sessions() as session:
        assert session.get(Attempt, attempt_id).process_status == "confirmed"
    assert [n.kind for n in notifier.notices] == ["activated"]


async def test_the_imap_server_restarting_mid_idle_loses_nothing(server, mailing_replica, dovecot, tmp_path,
                                                                 api) -> None:
    replica = mailing_replica
    replica.settings.mail_url = ""  # the mail arrives while the IMAP server is down (another MTA wrote it)
    settings = mail_settings(server, tmp_path, dovecot)
    sessions = open_database(settings.database_url)
    ours = reserve(api, replica, 10)
    hold(sessions, ours)
    preconfirm(api, ours)
    mail = replica.outbox.latest_for(ADDRESS)
    async with AgentService(settings, MemoryNotifier(), sessions=sessions) as agent:
        watcher = agent.mailbox
        await wait_for(lambda: watcher.idling, 30)
        dovecot.stop()
        await wait_for(lambda: watcher.state == "reconnecting", 30)
        dovecot.drop_into_maildir(activation_message(
            "noreply@replica.invalid", ADDRESS, "Person1 Test", "Bürgerbüro Orleansplatz", int(ours["timestamp"]),
            mail.link, 60, time.time()).as_bytes())
        dovecot.start()
        await wait_for(lambda: watcher.stats.activated, 60)
        assert watcher.stats.connections == 2
    assert replica.desk.processes[ours["processId"]].status == "confirmed"
    assert seen(dovecot) == {"Aktivierungslink für Ihren Termin": True}


async def test_a_server_without_idle_is_polled(server, mailing_replica, tmp_path, api) -> None:
    with Dovecot.create(user=USER, idle=False) as dovecot:
        replica = mailing_replica
        replica.settings.mail_url = f"lmtp://127.0.0.1:{dovecot.lmtp_port}"
        settings = mail_settings(server, tmp_path, dovecot)
        sessions = open_database(settings.database_url)
        ours = reserve(api, replica, 10)
        hold(sessions, ours)
        async with AgentService(settings, MemoryNotifier(), sessions=sessions) as agent:
            await wait_for(lambda: agent.mailbox.state == "watching", 30)
            assert not agent.mailbox.connection.idle_supported and not agent.mailbox.idling
            preconfirm(api, ours)
            await wait_for(lambda: agent.mailbox.stats.activated, 60)
        assert replica.desk.processes[ours["processId"]].status == "confirmed"


async def test_wrong_credentials_stop_the_start_with_a_clear_error(server, replica, dovecot, tmp_path,
                                                                   captured_logs) -> None:
    settings = mail_settings(server, tmp_path, dovecot, imap_password="not-the-app-password-4711")
    agent = AgentService(settings, MemoryNotifier())
    with pytest.raises(MailboxRefused, match="refused the login") as refused:
        await agent.start()
    assert "not-the-app-password-4711" not in str(refused.value)
    assert agent.pool is None and agent.watcher is None  # nothing was started
    assert "not-the-app-password-4711" not in captured_logs()

    env = {**os.environ, **agent_env(server, tmp_path), "MTA_IMAP_HOST": "127.0.0.1",
           "MTA_IMAP_PORT": str(dovecot.imaps_port), "MTA_IMAP_USER": dovecot.user,
           "MTA_IMAP_PASSWORD": "not-the-app-password-4711", "MTA_IMAP_CA_FILE": str(dovecot.cert),
           "MTA_LOG_LEVEL": "DEBUG"}
    run = subprocess.run([sys.executable, "-m", "agent.cli", "run"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 2 and "refused the login" in run.stderr, run.stderr
    assert "not-the-app-password-4711" not in run.stdout + run.stderr

    untrusted = mail_settings(server, tmp_path, dovecot, imap_ca_file=None)
    with pytest.raises(MailboxRefused, match="certificate is not trusted"):
        await AgentService(untrusted, MemoryNotifier()).start()


async def test_mailbox_check_lists_and_changes_nothing(server, mailing_replica, dovecot, tmp_path, api) -> None:
    replica = mailing_replica
    sessions = open_database(f"sqlite:///{tmp_path / 'mta.db'}")
    ours, theirs = reserve(api, replica, 10), reserve(api, replica, 11)
    hold(sessions, ours)
    preconfirm(api, ours)
    preconfirm(api, theirs)
    dovecot.deliver(b"From: friend@example.org\r\nSubject: Hallo\r\n\r\nnur so\r\n")
    await wait_for(lambda: len(dovecot.messages()) == 3, 30)
    env = {**os.environ, **agent_env(server, tmp_path), "MTA_IMAP_HOST": "127.0.0.1",
           "MTA_IMAP_PORT": str(dovecot.imaps_port), "MTA_IMAP_USER": dovecot.user,
           "MTA_IMAP_PASSWORD": dovecot.password, "MTA_IMAP_CA_FILE": str(dovecot.cert), "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "agent.cli", "mailbox", "check"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "IDLE: yes" in out and "3 unseen" in out
    assert f"activate process {ours['processId']}" in out
    assert "not a reservation this agent holds" in out and "1 other unseen message" in out
    assert dovecot.password not in out + done.stderr
    assert not any("S" in m.get_flags() for m in dovecot.messages())  # still unseen
    assert {p.status for p in replica.desk.processes.values()} == {"preconfirmed"} and not confirms(replica)


async def test_one_reminder_when_the_deadline_is_near_and_no_mail_came(server, replica, tmp_path) -> None:
    from agent.mailbox_watcher import MailboxWatcher
    from tests.watch_helpers import budget

    settings = watcher_settings(server, tmp_path, imap_host="127.0.0.1", activation_remind_before_s=600)
    sessions = open_database(settings.database_url)
    near = hold(sessions, {"processId": 1, "authKey": "k1", "timestamp": "1"}, deadline_in_s=300)
    hold(sessions, {"processId": 2, "authKey": "k2", "timestamp": "1"}, deadline_in_s=3000)  # not near yet
    lapsed = hold(sessions, {"processId": 3, "authKey": "k3", "timestamp": "1"}, deadline_in_s=-10)
    notifier = MemoryNotifier()
    watcher = MailboxWatcher(settings, sessions, notifier, budget(settings))
    assert await watcher.remind_due() == [near]
    assert await watcher.remind_due() == []  # once
    [notice] = notifier.notices
    assert notice.kind == "activation_due" and "activate by" in notice.text
    assert notice.link == activation_link(settings.booking_url, 1, "k1")
    with sessions() as session:
        assert session.get(Attempt, near).activation_reminded_at is not None
        assert session.get(Attempt, lapsed).activation_reminded_at is None
    assert person(1).email == ADDRESS


async def test_mail_arriving_while_another_is_activated_is_not_left_for_the_next_idle(server, mailing_replica, dovecot,
                                                                                    tmp_path, api) -> None:
    """The second mail arrives while the first one's activation runs: the server announces it in the answer
    to that work's commands, so the agent searches again before it idles (else it waits a whole IDLE)."""
    from replica.faults import FaultRule

    replica = mailing_replica
    settings = mail_settings(server, tmp_path, dovecot)  # an IDLE lasts 30 s
    sessions = open_database(settings.database_url)
    first, second = reserve(api, replica, 10), reserve(api, replica, 11)
    hold(sessions, first)
    hold(sessions, second)
    replica.settings.fault_hang_s = 3.0
    replica.faults.add(FaultRule(kind="hold_answer", path="confirm-appointment", count=1))
    async with AgentService(settings, MemoryNotifier(), sessions=sessions) as agent:
        watcher = agent.mailbox
        await wait_for(lambda: watcher.idling, 30)
        preconfirm(api, first)
        await wait_for(lambda: confirms(replica), 30)  # the first activation is running (its answer held)
        preconfirm(api, second)
        await wait_for(lambda: len(watcher.stats.activated) == 2, settings.imap_idle_s / 2)
    assert {a["processId"] for a in watcher.stats.activated} == {first["processId"], second["processId"]}
