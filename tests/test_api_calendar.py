"""Contract: GET available-calendar/ (spec §3)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.replica_helpers import berlin_slot, calendar_params, error_codes

DAY_FIELDS = {"date", "providerIDs", "offices"}


@pytest.fixture(autouse=True)
def _no_captcha(replica) -> None:
    replica.set_captcha_required(False)


def test_days_and_slots_in_the_citys_shape(replica, api) -> None:
    a, b = berlin_slot(replica, 1, 9), berlin_slot(replica, 1, 9, 30)
    c = berlin_slot(replica, 3, 14)
    replica.desk.add_slots(102522, [a, c])
    replica.desk.add_slots(102523, [b])
    tomorrow = replica.clock.now_berlin().date() + timedelta(days=1)
    response = api.get("available-calendar/", params=calendar_params(replica, [102523, 102522], slots_start=tomorrow))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"startDate", "endDate", "slotsStartDate", "slotsEndDate", "prevBookableDate",
                         "nextBookableDate", "availableDays"}
    first, second = body["availableDays"]
    assert set(first) == DAY_FIELDS
    assert first["date"] == tomorrow.isoformat()
    assert first["providerIDs"] == "102522,102523"
    assert first["offices"] == [
        {"officeId": "102522", "appointments": [a]},
        {"officeId": "102523", "appointments": [b]},
    ]
    assert second["providerIDs"] == "102522"
    assert second["offices"] == []  # outside the slots window: days only
    assert body["nextBookableDate"] == second["date"]
    assert body["prevBookableDate"] is None


def test_slot_days_are_berlin_days(replica, api) -> None:
    # 00:30 in Berlin is still the previous day in UTC.
    late = berlin_slot(replica, 2, 0, 30)
    replica.desk.add_slots(102522, [late])
    day = (replica.clock.now_berlin().date() + timedelta(days=2)).isoformat()
    body = api.get("available-calendar/", params=calendar_params(replica, [102522])).json()
    assert [d["date"] for d in body["availableDays"]] == [day]


def test_no_slots_is_an_info_error(replica, api) -> None:
    response = api.get("available-calendar/", params=calendar_params(replica, [102522]))
    assert response.status_code == 404
    error = response.json()["errors"][0]
    assert error["errorCode"] == "noAppointmentForThisScope" and error["errorType"] == "info"
    assert error["statusCode"] == 404


def test_past_slots_and_slots_beyond_the_horizon_are_not_offered(replica, api) -> None:
    replica.desk.add_slots(102522, [int(replica.clock.now()) - 60,
                                     int(replica.clock.now()) + (replica.settings.max_future_days + 2) * 86400])
    assert error_codes(api.get("available-calendar/", params=calendar_params(replica, [102522]))) == [
        "noAppointmentForThisScope"
    ]


def test_validation_errors_are_listed_together(api) -> None:
    response = api.get("available-calendar/", params={"startDate": "2026-13-01", "officeIds": "x",
                                                       "serviceIds": "", "serviceCounts": "a"})
    assert response.status_code == 400
    assert set(error_codes(response)) == {"invalidStartDate", "invalidEndDate", "invalidOfficeId",
                                          "invalidServiceId", "invalidServiceCount"}
    for error in response.json()["errors"]:
        assert set(error) == {"errorCode", "errorMessage", "errorType", "statusCode"}


def test_service_not_offered_at_office(replica, api) -> None:
    params = calendar_params(replica, [10489], service=1063453)  # Ruppertstr. main calendar: no passports
    assert error_codes(api.get("available-calendar/", params=params)) == ["invalidLocationAndServiceCombination"]


def test_taken_slot_disappears_from_the_calendar(replica, api) -> None:
    slot = berlin_slot(replica, 1, 10)
    replica.desk.add_slots(102522, [slot])
    api.post("reserve-appointment/", json={"timestamp": slot, "serviceCount": [1], "officeId": 102522,
                                           "serviceId": [1063453]})
    assert error_codes(api.get("available-calendar/", params=calendar_params(replica, [102522]))) == [
        "noAppointmentForThisScope"
    ]
