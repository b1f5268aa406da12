"""The scenario API over HTTP: clock, slots, releases and schedules, outbox, log, reset."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import httpx
import pytest

from replica.clock import BERLIN
from tests.replica_helpers import berlin_slot, calendar_params, error_codes


@pytest.fixture
def scenario(server) -> httpx.Client:
    with httpx.Client(base_url=server.base_url + "/__replica__", timeout=10) as client:
        yield client


@pytest.fixture(autouse=True)
def _no_captcha(replica) -> None:
    replica.set_captcha_required(False)


def days_offered(api, replica, office: int = 10489, service: int = 1063475) -> list[str]:
    answer = api.get("available-calendar/", params=calendar_params(replica, [office], service=service))
    return [d["date"] for d in answer.json().get("availableDays", [])]


def test_clock_moves_by_the_api(scenario, replica) -> None:
    before = scenario.get("/state").json()["now"]
    after = scenario.post("/clock", json={"advance": 3600}).json()["now"]
    assert after == pytest.approx(before + 3600)
    target = "2030-01-07T07:29:00"
    assert scenario.post("/clock", json={"set": target}).json()["now"] == datetime(2030, 1, 7, 7, 29,
                                                                                  tzinfo=BERLIN).timestamp()
    assert scenario.post("/clock", json={"set": "yesterday"}).status_code == 400


def test_slots_added_and_taken_away(scenario, api, replica) -> None:
    day = replica.clock.now_berlin().date() + timedelta(days=2)
    scenario.post("/slots", json={"officeId": 10489, "berlin": [f"{day}T09:00", f"{day}T09:10"]})
    assert days_offered(api, replica) == [day.isoformat()]
    scenario.post("/slots/take", json={"officeId": 10489, "berlin": [f"{day}T09:00", f"{day}T09:10"]})
    assert days_offered(api, replica) == []
    assert scenario.post("/slots", json={"officeId": 1, "timestamps": [1]}).status_code == 400


def test_weekday_schedule_releases_and_vanishes_exactly_on_time(scenario, api, replica) -> None:
    # Monday 2030-01-07, 07:00 Berlin; releases on weekdays at 07:30, 3 slots a week later, gone after 10 min.
    scenario.post("/clock", json={"set": "2030-01-07T07:00:00"})
    body = {"weekdays": [0, 1, 2, 3, 4], "time": "07:30", "officeId": 10489, "count": 3, "weeks": 2,
            "slotDaysAhead": 7, "firstSlot": "08:00", "vanishAfterS": 600}
    releases = scenario.post("/schedules", json=body).json()["releases"]
    assert len(releases) == 10 and all(datetime.fromtimestamp(r["at"], BERLIN).time() == time(7, 30) for r in releases)
    assert releases[0]["timestamps"][1] - releases[0]["timestamps"][0] == 600  # consecutive 10-minute slots

    scenario.post("/clock", json={"set": "2030-01-07T07:29:59"})
    assert days_offered(api, replica) == []
    scenario.post("/clock", json={"set": "2030-01-07T07:30:00"})
    assert days_offered(api, replica) == ["2030-01-14"]
    answer = api.get("available-calendar/", params=calendar_params(replica, [10489], service=1063475,
                                                                    slots_start=datetime(2030, 1, 14).date()))
    assert len(answer.json()["availableDays"][0]["offices"][0]["appointments"]) == 3
    scenario.post("/clock", json={"set": "2030-01-07T07:39:59"})
    assert days_offered(api, replica) == ["2030-01-14"]
    scenario.post("/clock", json={"set": "2030-01-07T07:40:00"})
    assert days_offered(api, replica) == []
    # Saturday brings nothing, Monday the next release.
    scenario.post("/clock", json={"set": "2030-01-12T07:35:00"})
    assert days_offered(api, replica) == []
    scenario.post("/clock", json={"set": "2030-01-14T07:31:00"})
    assert days_offered(api, replica) == ["2030-01-21"]


def test_one_off_release(scenario, api, replica) -> None:
    at = replica.clock.now() + 120
    stamp = int(at) + 86400
    scenario.post("/releases", json={"at": at, "officeId": 10489, "timestamps": [stamp]})
    assert days_offered(api, replica) == []
    scenario.post("/clock", json={"advance": 120})
    assert len(days_offered(api, replica)) == 1


def test_someone_else_takes_the_slot_between_calendar_and_reserve(scenario, api, replica) -> None:
    stamp = berlin_slot(replica, 1, 9)  # both slots on one day, whatever time the test runs at
    scenario.post("/slots", json={"officeId": 10489, "timestamps": [stamp, stamp + 600]})
    assert len(days_offered(api, replica)) == 1  # the agent read the calendar
    scenario.post("/slots/take-next-reserved", json={"officeId": 10489})
    body = {"timestamp": stamp, "serviceCount": [1], "officeId": 10489, "serviceId": [1063475]}
    assert error_codes(api.post("reserve-appointment/", json=body)) == ["appointmentNotAvailable"]
    assert api.post("reserve-appointment/", json={**body, "timestamp": stamp + 600}).status_code == 200


def test_outbox_requests_and_reset(scenario, api, replica) -> None:
    api.get("offices-and-services/")
    log = scenario.get("/requests").json()
    assert [(r["method"], r["status"]) for r in log] == [("GET", 200)]
    assert scenario.get("/requests", params={"since": 1}).json() == []
    assert scenario.get("/outbox").json() == []
    state = scenario.post("/reset").json()
    assert state["requests"] == 0 and state["releases"] == []


def test_catalogue_can_be_seeded(scenario, api) -> None:
    body = {
        "offices": [{"id": 1, "name": "Testbüro", "captchaRequired": False}],
        "services": [{"id": 7, "name": "Testleistung"}],
        "relations": [{"officeId": 1, "serviceId": 7}],
    }
    assert scenario.post("/catalog", json=body).status_code == 200
    catalogue = api.get("offices-and-services/").json()
    assert [o["name"] for o in catalogue["offices"]] == ["Testbüro"]
    assert catalogue["relations"][0]["officeId"] == 1
    bad = {**body, "relations": [{"officeId": 2, "serviceId": 7}]}
    assert scenario.post("/catalog", json=bad).status_code == 400


def test_scarce_far_out_availability(scenario, api, replica) -> None:
    """Only slots three weeks away, then only slots in two months: the calendar snaps to them."""

    today = replica.clock.now_berlin().date()
    scenario.post("/slots/clear", json={})
    released = scenario.post("/slots/scatter", json={"officeIds": [102522], "firstDay": 21, "days": 1,
                                                     "perDay": 2, "weekdays": list(range(7))}).json()
    assert released["released"] == 2
    body = api.get("available-calendar/", params=calendar_params(replica, [102522])).json()
    assert body["slotsStartDate"] == (today + timedelta(days=21)).isoformat()  # the lead time snapped
    scenario.post("/slots/clear", json={})
    scenario.post("/slots/scatter", json={"officeIds": [102522], "firstDay": 61, "days": 3, "weekdays": list(range(7))})
    body = api.get("available-calendar/", params=calendar_params(replica, [102522])).json()
    assert body["slotsStartDate"] == (today + timedelta(days=61)).isoformat()
    assert scenario.post("/slots/scatter", json={"perDay": 0}).status_code == 400


def test_a_clock_frozen_for_a_while_never_resumes_behind_wall_time() -> None:
    import time as wall

    from replica.clock import ReplicaClock

    clock = ReplicaClock()
    frozen = clock.freeze()
    wall.sleep(0.3)
    clock.unfreeze()
    resumed = wall.time()
    assert clock.now() >= resumed - 1e-3 and resumed > frozen + 0.25  # from wall time, not 0.3 s behind it
    clock.freeze()
    clock.advance(3600)  # a test moved it ahead: it resumes from there
    clock.unfreeze()
    assert clock.now() >= frozen + 3600
