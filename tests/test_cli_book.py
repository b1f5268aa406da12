"""``mta book`` as a person or a script runs it: a separate process, real SQLite file, the replica over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.agent_helpers import agent_env
from tests.replica_helpers import berlin_slot

CONTACT = ["--first-name", "Erika", "--last-name", "Mustermann", "--email", "erika@example.org"]


def mta(server, tmp_path: Path, *args: str, timeout: float = 120,
        extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **agent_env(server, tmp_path), **(extra_env or {})}
    return subprocess.run([sys.executable, "-m", "agent.cli", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--service", "999", *CONTACT], "unknown service 999"),
        (["--service", "1063453", "--from", "2020-01-01", "--to", "2020-02-01", *CONTACT], "lies in the past"),
        (["--service", "1063453", "--first-name", "E", "--last-name", "M", "--email", "not-an-email"],
         "not valid: e-mail (--email or MTA_CONTACT_EMAIL)"),
        (["--service", "1063453", "--office", "10489", *CONTACT], "do not offer service 1063453"),
        (["--service", "1063453", "--time", "9-12", *CONTACT], "not HH:MM-HH:MM"),
    ],
)
def test_invalid_requests_are_refused_before_any_browser_starts(server, replica, tmp_path, args, message) -> None:
    done = mta(server, tmp_path, "book", *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert not (tmp_path / "mta.db").exists()  # no attempt was even recorded
    assert {r.path.rsplit("/", 2)[-2] for r in replica.requests.all()} <= {"offices-and-services"}


NO_CONTACT = {"MTA_CONTACT_FIRST_NAME": "", "MTA_CONTACT_LAST_NAME": "", "MTA_CONTACT_EMAIL": "",
              "MTA_CONTACT_PHONE": ""}


@pytest.mark.parametrize("command", [["book"], ["watch", "add"]])
def test_every_missing_contact_detail_in_one_message_naming_flags_and_settings(server, replica, tmp_path,
                                                                               command) -> None:
    done = mta(server, tmp_path, *command, "--service", "1063453", "--phone", "12ab", extra_env=NO_CONTACT)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    message = " ".join(done.stderr.split())  # rich wraps long lines
    assert ("missing: first name (--first-name or MTA_CONTACT_FIRST_NAME), last name (--last-name or "
            "MTA_CONTACT_LAST_NAME), e-mail (--email or MTA_CONTACT_EMAIL)") in message
    assert "not valid: phone (--phone or MTA_CONTACT_PHONE)" in message
    assert "e-mail (--email or MTA_CONTACT_EMAIL):" not in message  # a missing e-mail is missing, not "not valid"
    assert not (tmp_path / "mta.db").exists() and replica.requests.all() == []


def test_contact_validate_names_every_problem_in_one_invalid_request() -> None:
    from flows.request import Contact, InvalidRequest

    with pytest.raises(InvalidRequest) as refused:
        Contact("", "x" * 51, "").validate()
    assert str(refused.value) == ("contact details missing: first name, e-mail; "
                                  "not valid: last name: longer than 50 characters")
    assert [(p.field, p.missing) for p in refused.value.problems] == [("first_name", True), ("last_name", False),
                                                                      ("email", True)]
    Contact("Erika", "Mustermann", "erika@example.org", "+4989123456").validate()


@pytest.mark.parametrize(("fault", "outcome", "words"), [
    ("maintenance", "site_error", "maintenance"),
    ("rate_limit", "rate_limited", "pause"),
    ("error500", "site_error", "500"),
])
def test_a_site_failing_before_the_flow_is_an_outcome_with_an_attempt(server, replica, tmp_path, fault, outcome,
                                                                       words) -> None:
    """Never "unknown service; known: []": the catalogue read failed, and the attempt says why."""
    from agent.db import open_database
    from agent.models import Attempt
    from replica.faults import FaultRule

    replica.faults.add(FaultRule(kind=fault, path="offices-and-services"))
    done = mta(server, tmp_path, "book", "--service", "1063453", "--json", *CONTACT)
    assert done.returncode == 1, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["outcome"] == outcome and words in result["reason"]
    assert "unknown service" not in done.stdout + done.stderr
    with open_database(f"sqlite:///{tmp_path / 'mta.db'}")() as session:
        [attempt] = session.query(Attempt).all()
    assert attempt.outcome == outcome and attempt.phase == "closed"


@pytest.mark.browser
def test_json_output_for_scripts(server, replica, tmp_path) -> None:
    replica.clock.unfreeze()
    slot = berlin_slot(replica, 2, 10)
    replica.desk.add_slots(102522, [slot])
    done = mta(server, tmp_path, "book", "--service", "1063453", "--office", "102522", "--time", "08:00-12:00",
               "--json", *CONTACT)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert {"outcome", "reason", "office", "slotTime", "processId", "attemptId", "tracePath"} <= set(result)
    assert result["outcome"] == "reserved" and result["office"] == "Bürgerbüro Orleansplatz"
    assert result["processId"] == replica.desk.live_processes()[0].process_id
    assert "erika" not in done.stderr.lower()  # no personal data in the logs


# The agent waits up to MTA_STEP_TIMEOUT_S + MTA_BUDGET_WINDOW_S for an answer the budget may hold back; with
# the window at 10 minutes, only a flow that stops early finishes within the process timeout below.
SLOW_ANSWERS = {"MTA_STEP_TIMEOUT_S": "2", "MTA_BUDGET_WINDOW_S": "600"}


@pytest.mark.browser
def test_an_api_url_that_does_not_match_the_page_is_named_at_once(server, replica, tmp_path) -> None:
    """The page talks to its own API; the agent listens to another (a second replica): the outcome names
    both, and says which setting to change, instead of an empty timeout after a minute and a half."""
    from replica.server import ReplicaServer
    from replica.settings import ReplicaSettings
    from replica.site import Replica

    replica.clock.unfreeze()
    with ReplicaServer(Replica(ReplicaSettings(altcha_cost=10))) as elsewhere:
        done = mta(server, tmp_path, "book", "--service", "1063453", "--json", *CONTACT, timeout=90,
                   extra_env={**SLOW_ANSWERS, "MTA_API_URL": elsewhere.api_url})
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert result["outcome"] == "site_error"
    assert f"talks to the API at {server.api_url}/" in result["reason"]
    assert f"the agent listens at {elsewhere.api_url}/ (MTA_API_URL)" in result["reason"]
    assert f"set MTA_API_URL={server.api_url} to match the page" in result["reason"]


@pytest.mark.browser
def test_a_page_that_sends_nothing_to_the_api_stops_within_the_step_timeout(server, replica, tmp_path) -> None:
    replica.clock.unfreeze()
    done = mta(server, tmp_path, "book", "--service", "1063453", "--json", *CONTACT, timeout=90,
               extra_env={**SLOW_ANSWERS, "MTA_BOOKING_URL": server.base_url + "/__replica__/state"})
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert result["outcome"] == "site_error" and result["reason"]
    assert (f"sent no request to {server.api_url}/offices-and-services/ within 2 s (MTA_STEP_TIMEOUT_S): "
            "MTA_API_URL may not match the page's API, or MTA_BOOKING_URL is not the booking page") in result["reason"]
