"""Contract: GET offices-and-services/ (spec §3, §5)."""

from __future__ import annotations

OFFICE_FIELDS = {
    "id": int, "name": str, "address": dict, "organization": str, "organizationUnit": str,
    "slotTimeInMinutes": int, "priority": int, "scope": dict, "slotsPerAppointment": str,
    "disabledByServices": list, "allowDisabledServicesMix": list, "sharedBookingOfficeIds": list,
    "showAlternativeLocations": bool, "displayNameAlternatives": list, "geo": dict,
}
ADDRESS_FIELDS = {"street": str, "house_number": str, "postal_code": str, "city": str}
SCOPE_FIELDS = {
    "id": int, "provider": dict, "shortName": str, "emailRequired": bool, "telephoneActivated": bool,
    "telephoneRequired": bool, "captchaActivatedRequired": bool, "reservationDuration": int,
    "activationDuration": int, "customTextfieldActivated": bool,
}
SERVICE_FIELDS = {"id": int, "name": str, "maxQuantity": int, "combinable": dict, "showOnStartPage": bool}
RELATION_FIELDS = {"officeId": int, "serviceId": int, "slots": int, "public": bool, "maxQuantity": int}


def assert_fields(obj: dict, fields: dict[str, type]) -> None:
    for name, kind in fields.items():
        assert name in obj, f"missing field {name!r}"
        assert isinstance(obj[name], kind), f"{name!r} is {type(obj[name]).__name__}, expected {kind.__name__}"
    assert "parentId" in obj or "house_number" in obj or "provider" in obj or "officeId" in obj


def test_catalogue_has_the_citys_ids_and_shapes(api) -> None:
    response = api.get("offices-and-services/", params={"serviceId": "1", "locationId": "2"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"offices", "services", "relations"}
    office_ids = {o["id"] for o in body["offices"]}
    assert office_ids == {10489, 10502, 102522, 102523, 102524, 102526, 54261}
    service_ids = {s["id"] for s in body["services"]}
    assert {1063453, 1063441, 1063475, 10295182, 1064314} <= service_ids
    for office in body["offices"]:
        assert_fields(office, OFFICE_FIELDS)
        assert_fields(office["address"], ADDRESS_FIELDS)
        assert_fields(office["scope"], SCOPE_FIELDS)
        assert office["scope"]["provider"]["id"] == office["id"]
    for service in body["services"]:
        assert_fields(service, SERVICE_FIELDS)
        assert "parentId" in service and "variantId" in service and "rootParentId" in service
    for relation in body["relations"]:
        assert_fields(relation, RELATION_FIELDS)
        assert relation["officeId"] in office_ids and relation["serviceId"] in service_ids


def test_passport_calendar_office_offers_only_passport_services(api) -> None:
    relations = api.get("offices-and-services/").json()["relations"]
    at_10502 = {r["serviceId"] for r in relations if r["officeId"] == 10502}
    assert 1063453 in at_10502 and 1063475 not in at_10502
    reisepass_offices = sorted(r["officeId"] for r in relations if r["serviceId"] == 1063453)
    assert reisepass_offices == [10502, 54261, 102522, 102523, 102524, 102526]


def test_scope_durations_follow_settings(replica, api) -> None:
    office = api.get("offices-and-services/").json()["offices"][0]
    assert office["scope"]["reservationDuration"] == replica.settings.reservation_duration_min
    assert office["scope"]["activationDuration"] == replica.settings.activation_duration_min


def test_unknown_endpoint_and_wrong_method_answer_in_the_citys_error_shape(api) -> None:
    missing = api.get("no-such-endpoint/")
    assert missing.status_code == 404 and missing.json()["errors"][0]["errorCode"] == "notFound"
    wrong = api.post("offices-and-services/")
    assert wrong.status_code == 405
    assert wrong.json()["errors"][0]["errorCode"] == "requestMethodNotAllowed"
