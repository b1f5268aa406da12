"""Contract: GET available-calendar/ answers as the city's backend does (spec §3b).

The replica's clock is set to Wednesday 2027-03-10 09:00 Berlin, so months and
weekdays are fixed: March has 31 days, April 30, May 31.
"""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from replica.clock import BERLIN
from tests.replica_helpers import error_codes

TODAY = date(2027, 3, 10)
DAY_FIELDS = {"date", "providerIDs", "offices"}


@pytest.fixture(autouse=True)
def _fixed_day(replica) -> None:
    replica.set_captcha_required(False)
    replica.clock.set(datetime.combine(TODAY, time(9, 0), BERLIN))


def at(day: str, hhmm: str = "09:00") -> int:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return int(datetime.combine(date.fromisoformat(day), time(hour, minute), BERLIN).timestamp())


def ask(api, offices=(102522,), start="2027-03-10", end="2027-09-10", slots_start=None, slots_end=None, **extra):
    params = {"startDate": start, "endDate": end, "officeIds": ",".join(map(str, offices)),
              "serviceIds": "1063453", "serviceCounts": "1", **extra}
    if slots_start:
        params["slotsStartDate"] = slots_start
    if slots_end or slots_start:
        params["slotsEndDate"] = slots_end or slots_start
    return api.get("available-calendar/", params=params)


def days(body: dict) -> list[str]:
    return [d["date"] for d in body["availableDays"]]


def times(body: dict) -> dict[str, dict[str, list[int]]]:
    return {d["date"]: {o["officeId"]: o["appointments"] for o in d["offices"]} for d in body["availableDays"]
            if d["offices"]}


def test_painted_month_lists_its_days_and_gives_times_for_one_day_only(replica, api) -> None:
    replica.desk.add_slots(102522, [at("2027-03-12"), at("2027-03-12", "10:00"), at("2027-03-24"), at("2027-04-06")])
    replica.desk.add_slots(102523, [at("2027-03-24", "11:00")])
    body = ask(api, offices=(102522, 102523), slots_start="2027-03-12").json()
    assert set(body) == {"startDate", "endDate", "slotsStartDate", "slotsEndDate", "prevBookableDate",
                         "nextBookableDate", "availableDays"}
    assert days(body) == ["2027-03-12", "2027-03-24"]  # March only: April is not painted
    assert all(set(d) == DAY_FIELDS for d in body["availableDays"])
    assert body["availableDays"][1]["providerIDs"] == "102522,102523"
    assert times(body) == {"2027-03-12": {"102522": [at("2027-03-12"), at("2027-03-12", "10:00")]}}
    assert body["slotsStartDate"] == body["slotsEndDate"] == "2027-03-12"
    assert body["nextBookableDate"] == "2027-04-06" and body["prevBookableDate"] is None


def test_multi_day_window_paints_every_month_and_narrows_to_its_first_bookable_day(replica, api) -> None:
    replica.desk.add_slots(102522, [at("2027-03-24"), at("2027-04-06"), at("2027-05-03", "14:00")])
    body = ask(api, slots_start="2027-03-10", slots_end="2027-05-31").json()
    assert days(body) == ["2027-03-24", "2027-04-06", "2027-05-03"]
    assert times(body) == {"2027-03-24": {"102522": [at("2027-03-24")]}}
    assert body["slotsStartDate"] == body["slotsEndDate"] == "2027-03-24"  # the window narrowed to that day
    assert body["nextBookableDate"] is None and body["prevBookableDate"] is None


def test_window_defaults_to_the_whole_range(replica, api) -> None:
    replica.desk.add_slots(102522, [at("2027-03-24"), at("2027-08-02")])
    body = ask(api).json()  # no slots window: [startDate, endDate]
    assert days(body) == ["2027-03-24", "2027-08-02"]
    assert body["slotsStartDate"] == "2027-03-24"


def test_single_day_miss_gives_the_painted_months_first_bookable_day(replica, api) -> None:
    replica.desk.add_slots(102522, [at("2027-03-24"), at("2027-03-29")])
    body = ask(api, slots_start="2027-03-26").json()  # a Friday without slots
    assert times(body) == {"2027-03-24": {"102522": [at("2027-03-24")]}}
    assert body["slotsStartDate"] == body["slotsEndDate"] == "2027-03-24"
    assert days(body) == ["2027-03-24", "2027-03-29"]


def test_multi_day_window_without_a_bookable_day_gives_no_times(replica, api) -> None:
    replica.desk.add_slots(102522, [at("2027-03-24")])
    body = ask(api, slots_start="2027-03-11", slots_end="2027-03-15").json()
    assert days(body) == ["2027-03-24"] and times(body) == {}
    assert (body["slotsStartDate"], body["slotsEndDate"]) == ("2027-03-11", "2027-03-15")


def test_lead_time_snaps_to_the_first_bookable_day_and_paints_its_month(replica, api) -> None:
    replica.desk.add_slots(102522, [at("2027-05-11"), at("2027-05-20"), at("2027-07-01")])
    body = ask(api, slots_start="2027-03-10").json()  # what the page sends after "Weiter"
    assert days(body) == ["2027-05-11", "2027-05-20"]
    assert times(body) == {"2027-05-11": {"102522": [at("2027-05-11")]}}
    assert body["slotsStartDate"] == body["slotsEndDate"] == "2027-05-11"
    assert body["prevBookableDate"] is None and body["nextBookableDate"] == "2027-07-01"


def test_adjacent_bookable_dates_skip_empty_months(replica, api) -> None:
    replica.desk.add_slots(102522, [at("2027-03-12"), at("2027-05-04"), at("2027-08-16")])
    body = ask(api, slots_start="2027-05-04").json()
    assert days(body) == ["2027-05-04"]
    assert body["prevBookableDate"] == "2027-03-12" and body["nextBookableDate"] == "2027-08-16"


def test_adjacent_bookable_dates_stay_inside_start_and_end(replica, api) -> None:
    replica.desk.add_slots(102522, [at("2027-03-12"), at("2027-05-04"), at("2027-08-16")])
    body = ask(api, start="2027-03-15", end="2027-07-31", slots_start="2027-05-04").json()
    assert body["prevBookableDate"] is None and body["nextBookableDate"] is None
    assert body["endDate"] == "2027-07-31"


def test_painted_range_is_clamped_to_start_and_end(replica, api) -> None:
    replica.desk.add_slots(102522, [at("2027-04-02"), at("2027-04-20"), at("2027-04-28")])
    body = ask(api, start="2027-03-10", end="2027-04-25", slots_start="2027-04-02").json()
    assert days(body) == ["2027-04-02", "2027-04-20"]  # 04-28 is after endDate


def test_window_outside_the_range_becomes_the_nearer_end_day(replica, api) -> None:
    replica.desk.add_slots(102522, [at("2027-04-20")])
    body = ask(api, end="2027-04-25", slots_start="2027-06-01", slots_end="2027-06-05").json()
    # clamped to endDate 04-25 (not bookable): single-day miss → April's first bookable day
    assert body["slotsStartDate"] == "2027-04-20" and days(body) == ["2027-04-20"]


def test_december_paints_only_december_and_january_is_next(replica, api) -> None:
    replica.settings.max_future_days = 400
    replica.desk.add_slots(102522, [at("2027-12-20"), at("2028-01-04")])
    body = ask(api, start="2027-12-01", end="2028-02-28", slots_start="2027-12-20").json()
    assert days(body) == ["2027-12-20"] and body["nextBookableDate"] == "2028-01-04"
    body = ask(api, start="2027-12-01", end="2028-02-28", slots_start="2028-01-01").json()
    assert days(body) == ["2028-01-04"] and body["prevBookableDate"] == "2027-12-20"


def test_window_entirely_before_the_range_becomes_its_first_day(replica, api) -> None:
    replica.desk.add_slots(102522, [at("2027-04-20")])
    body = ask(api, start="2027-04-01", slots_start="2027-03-12", slots_end="2027-03-20").json()
    assert body["slotsStartDate"] == "2027-04-20" and days(body) == ["2027-04-20"]  # 04-01 missed → April's first


def test_bookable_days_only_before_the_painted_month(replica, api) -> None:
    replica.desk.add_slots(102522, [at("2027-03-24")])
    body = ask(api, slots_start="2027-05-10").json()
    assert days(body) == [] and times(body) == {}
    assert body["prevBookableDate"] == "2027-03-24" and body["nextBookableDate"] is None


def test_days_are_berlin_days(replica, api) -> None:
    late = at("2027-03-12", "00:30")  # still 03-11 in UTC
    replica.desk.add_slots(102522, [late])
    assert days(ask(api).json()) == ["2027-03-12"]


def test_no_bookable_day_is_an_info_error(replica, api) -> None:
    response = ask(api)
    assert response.status_code == 404
    error = response.json()["errors"][0]
    assert error["errorCode"] == "noAppointmentForThisScope" and error["errorType"] == "info"
    assert error["statusCode"] == 404


def test_past_slots_and_slots_beyond_the_horizon_are_not_offered(replica, api) -> None:
    replica.desk.add_slots(102522, [int(replica.clock.now()) - 60,
                                     int(replica.clock.now()) + (replica.settings.max_future_days + 2) * 86400])
    assert error_codes(ask(api)) == ["noAppointmentForThisScope"]


@pytest.mark.parametrize(
    ("params", "codes"),
    [
        (dict(start="2027-04-01", end="2027-03-10"), {"startDateAfterEndDate"}),
        (dict(end="2028-09-10"), {"dateRangeTooLarge"}),
        (dict(slots_start="2027-04-05", slots_end="2027-04-01"), {"invalidDateRange"}),
        (dict(slots_start="2027-02-30"), {"invalidSlotsStartDate", "invalidSlotsEndDate"}),
    ],
)
def test_date_errors(replica, api, params, codes) -> None:
    replica.desk.add_slots(102522, [at("2027-03-24")])
    response = ask(api, **params)
    assert response.status_code == 400 and set(error_codes(response)) == codes


def test_validation_errors_are_listed_together(api) -> None:
    response = api.get("available-calendar/", params={"startDate": "2026-13-01", "officeIds": "x",
                                                       "serviceIds": "", "serviceCounts": "a"})
    assert response.status_code == 400
    assert set(error_codes(response)) == {"invalidStartDate", "invalidEndDate", "invalidOfficeId",
                                          "invalidServiceId", "invalidServiceCount"}
    for error in response.json()["errors"]:
        assert set(error) == {"errorCode", "errorMessage", "errorType", "statusCode"}


def test_service_not_offered_at_office(api) -> None:
    response = api.get("available-calendar/", params={"startDate": "2027-03-10", "endDate": "2027-09-10",
                                                       "officeIds": "10489", "serviceIds": "1063453",
                                                       "serviceCounts": "1"})
    assert error_codes(response) == ["invalidLocationAndServiceCombination"]


def test_taken_slot_disappears_from_the_calendar(replica, api) -> None:
    slot = at("2027-03-12", "10:00")
    replica.desk.add_slots(102522, [slot])
    api.post("reserve-appointment/", json={"timestamp": slot, "serviceCount": [1], "officeId": 102522,
                                           "serviceId": [1063453]})
    assert error_codes(ask(api)) == ["noAppointmentForThisScope"]
