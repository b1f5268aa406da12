"""Contract: reserve → update → preconfirm → confirm, get and cancel; lapses on the replica clock."""

from __future__ import annotations

import base64
import json

import pytest

from tests.replica_helpers import berlin_slot, error_codes

PROCESS_FIELDS = {
    "processId": int, "timestamp": str, "authKey": str, "familyName": str, "customTextfield": str,
    "customTextfield2": str, "email": str, "telephone": str, "officeName": str, "officeId": int,
    "scope": dict, "subRequestCounts": list, "serviceId": int, "serviceName": str, "serviceCount": int,
    "status": str, "captchaToken": str, "slotCount": int,
}
CONTACT = {"familyName": "Erika Mustermann", "email": "erika@example.org", "telephone": "+4989123456"}


@pytest.fixture(autouse=True)
def _no_captcha(replica) -> None:
    replica.set_captcha_required(False)


@pytest.fixture
def slot(replica) -> int:
    stamp = berlin_slot(replica, 2, 9, 30)
    replica.desk.add_slots(102522, [stamp])
    return stamp


def reserve(api, slot: int, office: int = 102522):
    return api.post("reserve-appointment/", json={"timestamp": slot, "serviceCount": [1], "officeId": office,
                                                  "serviceId": [1063453]})


def ref(process: dict) -> dict:
    return {"processId": process["processId"], "authKey": process["authKey"], "scope": process["scope"]}


def reserved_and_preconfirmed(api, slot: int) -> dict:
    process = reserve(api, slot).json()
    assert api.post("update-appointment/", json={**ref(process), **CONTACT}).status_code == 200
    answer = api.post("preconfirm-appointment/", json=ref(process))
    assert answer.status_code == 200
    return answer.json()


def test_full_lifecycle_with_activation_link_from_the_outbox(replica, server, api, slot) -> None:
    reserved = reserve(api, slot)
    assert reserved.status_code == 200
    process = reserved.json()
    for name, kind in PROCESS_FIELDS.items():
        assert isinstance(process[name], kind), name
    assert process["status"] == "reserved" and process["timestamp"] == str(slot)
    assert process["officeName"] == "Bürgerbüro Orleansplatz"

    updated = api.post("update-appointment/", json={**ref(process), **CONTACT}).json()
    assert updated["familyName"] == "Erika Mustermann" and updated["email"] == "erika@example.org"
    assert updated["status"] == "reserved"

    pre = api.post("preconfirm-appointment/", json=ref(process)).json()
    assert pre["status"] == "preconfirmed"
    mail = replica.outbox.latest_for("erika@example.org")
    assert mail is not None and mail.process_id == process["processId"]
    page, fragment = mail.link.split("#", 1)
    assert page == f"{server.base_url}/buergerservice/terminvereinbarung.html"
    assert fragment.startswith("/appointment/confirm/")
    b64 = fragment.rsplit("/", 1)[1]
    decoded = json.loads(base64.b64decode(b64 + "=" * (-len(b64) % 4)))
    assert decoded == {"id": process["processId"], "authKey": process["authKey"]}

    confirmed = api.post("confirm-appointment/", json={"processId": decoded["id"], "authKey": decoded["authKey"]})
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    assert "BEGIN:VCALENDAR" in confirmed.json()["icsContent"]
    again = api.post("confirm-appointment/", json={"processId": decoded["id"], "authKey": decoded["authKey"]})
    assert again.status_code == 409 and error_codes(again) == ["processNotPreconfirmedAnymore"]

    got = api.get("appointment/", params={"processId": process["processId"], "authKey": process["authKey"]})
    assert got.json()["status"] == "confirmed"
    cancelled = api.post("cancel-appointment/", json=ref(process))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    # as the city's backend: cancelling changes the key, so the old links answer authKeyMismatch while the
    # cancelled process is kept (loeschdauer), and appointmentNotFound once it is purged
    kept = api.get("appointment/", params={"processId": process["processId"], "authKey": process["authKey"]})
    assert kept.status_code == 406 and error_codes(kept) == ["authKeyMismatch"]
    # the slot is free again
    assert reserve(api, slot).status_code == 200
    replica.clock.advance(replica.settings.cancelled_kept_min * 60)
    gone = api.get("appointment/", params={"processId": process["processId"], "authKey": process["authKey"]})
    assert gone.status_code == 404 and error_codes(gone) == ["appointmentNotFound"]


def test_slot_taken_twice_is_not_available(api, slot) -> None:
    assert reserve(api, slot).status_code == 200
    second = reserve(api, slot)
    assert second.status_code == 404 and error_codes(second) == ["appointmentNotAvailable"]


def test_slot_removed_by_someone_else_is_not_available(replica, api, slot) -> None:
    replica.desk.remove_slots(102522, [slot])
    assert error_codes(reserve(api, slot)) == ["appointmentNotAvailable"]


def test_reservation_lapses_after_reservation_duration(replica, api, slot) -> None:
    process = reserve(api, slot).json()
    replica.clock.advance(replica.settings.reservation_duration_min * 60 - 1)
    assert api.get("appointment/", params={"processId": process["processId"],
                                           "authKey": process["authKey"]}).status_code == 200
    replica.clock.advance(1)
    late = api.post("update-appointment/", json={**ref(process), **CONTACT})
    assert error_codes(late) == ["appointmentNotFound"]
    assert reserve(api, slot).status_code == 200  # slot released


def test_activation_lapses_after_activation_duration(replica, api, slot) -> None:
    process = reserved_and_preconfirmed(api, slot)
    replica.clock.advance(replica.settings.activation_duration_min * 60 + 1)
    late = api.post("confirm-appointment/", json={"processId": process["processId"], "authKey": process["authKey"]})
    assert late.status_code == 404 and error_codes(late) == ["appointmentNotFound"]


def test_preconfirmation_survives_the_reservation_duration(replica, api, slot) -> None:
    process = reserved_and_preconfirmed(api, slot)
    replica.clock.advance(replica.settings.reservation_duration_min * 60 + 5)
    ok = api.post("confirm-appointment/", json={"processId": process["processId"], "authKey": process["authKey"]})
    assert ok.status_code == 200


def test_confirming_a_merely_reserved_process_is_refused(api, slot) -> None:
    process = reserve(api, slot).json()
    answer = api.post("confirm-appointment/", json={"processId": process["processId"], "authKey": process["authKey"]})
    assert error_codes(answer) == ["processNotPreconfirmedAnymore"]


def test_wrong_auth_key(api, slot) -> None:
    process = reserve(api, slot).json()
    answer = api.get("appointment/", params={"processId": process["processId"], "authKey": "nope"})
    assert answer.status_code == 406 and error_codes(answer) == ["authKeyMismatch"]


def test_update_validation_errors(api, slot) -> None:
    process = reserve(api, slot).json()
    bad = api.post("update-appointment/", json={**ref(process), "familyName": " ", "email": "no-at-sign",
                                                "telephone": "12ab"})
    assert bad.status_code == 400
    assert set(error_codes(bad)) == {"invalidFamilyName", "invalidEmail", "invalidTelephone"}
    no_ref = api.post("update-appointment/", json={"processId": "x", **CONTACT})
    assert set(error_codes(no_ref)) == {"invalidProcessId", "invalidAuthKey"}


def test_reserve_validation_errors(api) -> None:
    bad = api.post("reserve-appointment/", json={"timestamp": -5, "officeId": "abc", "serviceId": [],
                                                 "serviceCount": "x"})
    assert set(error_codes(bad)) == {"invalidTimestamp", "invalidOfficeId", "invalidServiceId", "invalidServiceCount"}
    not_json = api.post("reserve-appointment/", content=b"{", headers={"content-type": "application/json"})
    assert error_codes(not_json) == ["invalidRequest"]


def test_too_many_appointments_with_the_same_mail(replica, api) -> None:
    stamps = [berlin_slot(replica, 2, 8, 10 * i) for i in range(replica.settings.mails_per_address + 1)]
    replica.desk.add_slots(102522, stamps)
    for i, stamp in enumerate(stamps):
        process = reserve(api, stamp).json()
        answer = api.post("update-appointment/", json={**ref(process), **CONTACT})
        if i < replica.settings.mails_per_address:
            assert answer.status_code == 200
        else:
            assert answer.status_code == 406 and error_codes(answer) == ["tooManyAppointmentsWithSameMail"]


def test_cancel_during_reservation_frees_the_slot(api, slot) -> None:
    process = reserve(api, slot).json()
    assert api.post("cancel-appointment/", json=ref(process)).json()["status"] == "cancelled"
    assert error_codes(api.post("cancel-appointment/", json=ref(process))) == ["authKeyMismatch"]
    assert reserve(api, slot).status_code == 200


def test_maintenance_blacklist_and_body_size(replica, api) -> None:
    replica.switches.maintenance = True
    down = api.get("offices-and-services/")
    assert down.status_code == 503 and error_codes(down) == ["serviceUnavailable"]
    replica.switches.maintenance = False
    replica.switches.blacklisted_ips.add("127.0.0.1")
    banned = api.get("offices-and-services/")
    assert banned.status_code == 403 and error_codes(banned) == ["IP_BLACKLISTED"]
    replica.switches.blacklisted_ips.clear()
    big = api.post("update-appointment/", content=b"x" * (replica.switches.max_body_bytes + 1))
    assert big.status_code == 413 and error_codes(big) == ["requestEntityTooLarge"]
