"""``mta activate`` and ``mta cancel`` tell a cancelled appointment from an expired one, as the city's answers do:
cancelling changes an appointment's key (authKeyMismatch while the site keeps it), a lapsed activation is gone
(appointmentNotFound); once the site has purged a cancellation too, this data directory's record says which."""

from __future__ import annotations

import json

import pytest

from tests.replica_helpers import berlin_slot
from tests.test_cli_book import CONTACT


from tests.test_cli_book import mta as mta_command
from tests.watch_helpers import FAST_BUDGET

pytestmark = pytest.mark.browser
FAST = {f"MTA_{k.upper()}": str(v) for k, v in FAST_BUDGET.items()}  # two bookings need not wait a minute


def mta(server, tmp_path, *args: str):
    return mta_command(server, tmp_path, *args, extra_env=FAST)


def said(done) -> str:
    return " ".join(done.stdout.split())  # rich wraps at 80 columns off a terminal


def book(server, replica, tmp_path) -> str:
    done = mta(server, tmp_path, "book", "--service", "1063453", "--office", "102522", "--json", *CONTACT)
    assert json.loads(done.stdout)["outcome"] == "reserved", done.stdout + done.stderr
    return replica.outbox.latest_for("erika@example.org").link


def test_activate_and_cancel_tell_cancelled_from_expired(server, replica, tmp_path) -> None:
    replica.clock.unfreeze()
    replica.desk.add_slots(102522, [berlin_slot(replica, 2, 9), berlin_slot(replica, 2, 10)])

    # not activated in time: expired
    lapsed = book(server, replica, tmp_path)
    replica.desk.expire_activations()
    done = mta(server, tmp_path, "activate", lapsed)
    assert done.returncode == 1 and said(done).startswith("expired: the site no longer knows the appointment")
    assert "activation time ran out" in said(done) and "to book again: mta book" in said(done)

    # cancelled: the site answers the old key with authKeyMismatch while it keeps the cancellation
    link = book(server, replica, tmp_path)
    done = mta(server, tmp_path, "cancel", link)
    assert done.returncode == 0 and said(done).startswith("cancelled: the site confirmed the cancellation"), said(done)
    done = mta(server, tmp_path, "activate", link)
    assert done.returncode == 1 and said(done).startswith("cancelled: the site no longer accepts this link's key "
                                                          "(authKeyMismatch)"), said(done)
    assert "expired" not in said(done)
    done = mta(server, tmp_path, "cancel", link)
    assert done.returncode == 0 and said(done).startswith("already cancelled: the site no longer accepts"), said(done)

    # after the site purged the cancellation it answers as for a lapse; the record here knows better
    replica.clock.advance(replica.settings.cancelled_kept_min * 60 + 1)
    done = mta(server, tmp_path, "activate", link)
    assert said(done).startswith("cancelled: the appointment was cancelled earlier (recorded here by mta cancel)")
