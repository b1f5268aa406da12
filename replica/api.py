"""Handlers of the city's JSON API (``<base>/api/citizen/<endpoint>/``)."""

from __future__ import annotations

import json
from datetime import datetime

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .bookings import encode_link_payload
from .clock import BERLIN
from .errors import ApiError, raise_if
from .mail import activation_message
from .page import PAGE_PATH
from .records import activation_mail
from .parsing import int_list, iso_date, positive_int, valid_email, valid_phone
from .site import Replica



# The citizen API refuses calendar ranges longer than this (zmscitizenapi ValidationService MAX_FUTURE_DAYS).
MAX_RANGE_DAYS = 365


def _replica(request: Request) -> Replica:
    return request.app.state.replica


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _json_body(request: Request) -> dict:
    try:
        data = json.loads(await request.body() or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError("invalidRequest") from exc
    if not isinstance(data, dict):
        raise ApiError("invalidRequest")
    return data


def _require_captcha(replica: Replica, office_ids: list[int], token: str | None, ip: str) -> None:
    if any(replica.catalog.offices[o].captcha_required for o in office_ids if o in replica.catalog.offices):
        replica.captcha.check_token(token, ip)


def _check_offices_and_services(replica: Replica, office_ids: list[int], service_ids: list[int]) -> None:
    main = service_ids[0]
    if main not in replica.catalog.services:
        raise ApiError("invalidLocationAndServiceCombination")
    for office_id in office_ids:
        if office_id not in replica.catalog.offices or not replica.catalog.offers(office_id, main):
            raise ApiError("invalidLocationAndServiceCombination")


async def offices_and_services(request: Request) -> JSONResponse:
    replica = _replica(request)
    s = replica.settings
    return JSONResponse(replica.catalog.to_json(s.reservation_duration_min, s.activation_duration_min))


async def captcha_details(request: Request) -> JSONResponse:
    replica = _replica(request)
    enabled = any(o.captcha_required for o in replica.catalog.offices.values())
    if replica.captcha_mode == "friendly":
        # The shape the city's API answered while it used FriendlyCaptcha (Jan–May 2025).
        origin = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "siteKey": replica.settings.frc_site_key,
                "captchaEndpoint": origin + FRC_PREFIX + "/siteverify",
                "puzzle": origin + FRC_PREFIX + "/puzzle",
                "captchaEnabled": enabled,
            }
        )
    api = str(request.url_for("captcha-challenge")).rsplit("captcha-challenge/", 1)[0]
    return JSONResponse(
        {
            "siteKey": "replica-altcha-site-key",
            "captchaChallenge": api + "captcha-challenge/",
            "captchaVerify": api + "captcha-verify/",
            "captchaEnabled": enabled,
        }
    )


async def captcha_challenge(request: Request) -> JSONResponse:
    return JSONResponse(_replica(request).captcha.create_challenge())


async def captcha_verify(request: Request) -> JSONResponse:
    replica = _replica(request)
    data = await _json_body(request)
    payload = data.get("payload")
    if not isinstance(payload, str) or not payload:
        return JSONResponse({"meta": {"success": False, "error": "Keine Payload übergeben"}, "data": None})
    if replica.captcha_mode == "friendly":
        # Same token semantics as ALTCHA mode (the spec leaves the 2025 carriage open).
        reason = replica.friendly.verify(payload)
        if reason is not None:
            return JSONResponse({"meta": {"success": False, "error": reason}, "data": None})
    else:
        try:
            replica.captcha.verify_payload(payload)
        except ApiError:
            return JSONResponse({"meta": {"success": False, "error": "Captcha-Prüfung fehlgeschlagen"}, "data": None})
    token = replica.captcha.issue_token(client_ip(request))
    return JSONResponse({"meta": {"success": True}, "data": {"valid": True}, "token": token})


async def available_calendar(request: Request) -> JSONResponse:
    replica = _replica(request)
    q = request.query_params
    start, end = iso_date(q.get("startDate")), iso_date(q.get("endDate"))
    office_ids, service_ids = int_list(q.get("officeIds", "")), int_list(q.get("serviceIds", ""))
    counts = int_list(q.get("serviceCounts", "1"))
    slots_start = iso_date(q["slotsStartDate"]) if q.get("slotsStartDate") else start
    slots_end = iso_date(q["slotsEndDate"]) if q.get("slotsEndDate") else end
    errors = []
    if start is None:
        errors.append("invalidStartDate")
    if end is None:
        errors.append("invalidEndDate")
    if start is not None and end is not None:
        if end < start:
            errors.append("startDateAfterEndDate")
        elif (end - start).days > MAX_RANGE_DAYS:
            errors.append("dateRangeTooLarge")
    if office_ids is None:
        errors.append("invalidOfficeId")
    if service_ids is None:
        errors.append("invalidServiceId")
    if counts is None or (service_ids is not None and len(counts) != len(service_ids)):
        errors.append("invalidServiceCount")
    if slots_start is None and start is not None:
        errors.append("invalidSlotsStartDate")
    if slots_end is None and end is not None:
        errors.append("invalidSlotsEndDate")
    if not errors and slots_start is not None and slots_end is not None and slots_end < slots_start:
        errors.append("invalidDateRange")
    raise_if(errors)
    assert start and end and office_ids and service_ids and slots_start and slots_end
    _require_captcha(replica, office_ids, q.get("captchaToken"), client_ip(request))
    _check_offices_and_services(replica, office_ids, service_ids)
    # Slots beyond the booking horizon (MTA_REPLICA_MAX_FUTURE_DAYS) are never bookable (BookingDesk.free_slots).
    body = replica.desk.calendar(office_ids, start, end, slots_start, slots_end)
    return JSONResponse(body)


async def reserve_appointment(request: Request) -> JSONResponse:
    replica = _replica(request)
    data = await _json_body(request)
    timestamp = positive_int(data.get("timestamp"))
    office_id = positive_int(data.get("officeId"))
    service_ids = int_list(data.get("serviceId"))
    counts = int_list(data.get("serviceCount"))
    errors = []
    if timestamp is None:
        errors.append("invalidTimestamp")
    if office_id is None:
        errors.append("invalidOfficeId")
    if service_ids is None:
        errors.append("invalidServiceId")
    if counts is None or (service_ids is not None and len(counts) != len(service_ids)):
        errors.append("invalidServiceCount")
    raise_if(errors)
    assert timestamp and office_id and service_ids and counts
    _check_offices_and_services(replica, [office_id], service_ids)
    if counts[0] > replica.catalog.services[service_ids[0]].max_quantity:
        raise ApiError("invalidServiceCount")
    token = data.get("captchaToken")
    _require_captcha(replica, [office_id], token, client_ip(request))
    process = replica.desk.reserve(office_id, timestamp, service_ids, counts, token or "")
    return JSONResponse(replica.desk.to_json(process))


def _process_ref(data: dict) -> tuple[int, str]:
    process_id = positive_int(data.get("processId"))
    auth_key = data.get("authKey")
    errors = []
    if process_id is None:
        errors.append("invalidProcessId")
    if not isinstance(auth_key, str) or not auth_key:
        errors.append("invalidAuthKey")
    raise_if(errors)
    assert process_id is not None and isinstance(auth_key, str)
    return process_id, auth_key


async def update_appointment(request: Request) -> JSONResponse:
    replica = _replica(request)
    data = await _json_body(request)
    errors = []
    try:
        ref = _process_ref(data)
    except ApiError as exc:
        errors += list(exc.codes)
    family_name = data.get("familyName")
    if not isinstance(family_name, str) or not family_name.strip() or len(family_name) > 101:
        errors.append("invalidFamilyName")
    if not valid_email(data.get("email")):
        errors.append("invalidEmail")
    telephone = data.get("telephone")
    if telephone not in (None, "") and not valid_phone(telephone):
        errors.append("invalidTelephone")
    for key in ("customTextfield", "customTextfield2"):
        if data.get(key) is not None and not isinstance(data.get(key), str):
            errors.append("invalidCustomTextfield")
    raise_if(errors)
    contact = {
        "familyName": family_name.strip(),
        "email": data["email"],
        "telephone": telephone or "",
        "customTextfield": data.get("customTextfield") or "",
        "customTextfield2": data.get("customTextfield2") or "",
    }
    process = replica.desk.update(*ref, contact)
    return JSONResponse(replica.desk.to_json(process))


async def preconfirm_appointment(request: Request) -> JSONResponse:
    replica = _replica(request)
    process = replica.desk.preconfirm(*_process_ref(await _json_body(request)))
    link = f"{str(request.base_url).rstrip('/')}{PAGE_PATH}#/appointment/confirm/{encode_link_payload(process.process_id, process.auth_key)}"
    when = datetime.fromtimestamp(process.timestamp, BERLIN).strftime("%d.%m.%Y um %H:%M Uhr")
    office = replica.catalog.offices[process.office_id].name
    replica.outbox.send(activation_mail(process.email, process.process_id, office, when, link, replica.clock.now()))
    answer = replica.desk.to_json(process)
    if not replica.settings.mail_url:
        return JSONResponse(answer)
    message = activation_message(replica.settings.mail_from, process.email, process.family_name, office,
                                 process.timestamp, link, replica.settings.activation_duration_min, replica.clock.now())
    # after the answer, as the city's mail queue sends it
    return JSONResponse(answer, background=BackgroundTask(replica.deliver_mail, process.process_id, message))


async def confirm_appointment(request: Request) -> JSONResponse:
    replica = _replica(request)
    process = replica.desk.confirm(*_process_ref(await _json_body(request)))
    return JSONResponse(replica.desk.to_json(process))


async def get_appointment(request: Request) -> JSONResponse:
    replica = _replica(request)
    ref = _process_ref(dict(request.query_params))
    return JSONResponse(replica.desk.to_json(replica.desk.get(*ref)))


async def cancel_appointment(request: Request) -> JSONResponse:
    replica = _replica(request)
    process = replica.desk.cancel(*_process_ref(await _json_body(request)))
    return JSONResponse(replica.desk.to_json(process))


FRC_PREFIX = "/friendlycaptcha/api/v1"
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "x-frc-client, content-type",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
}


async def frc_puzzle(request: Request) -> JSONResponse:
    """The vendor's puzzle endpoint (``?sitekey=``; the widget sends ``x-frc-client``)."""
    replica = _replica(request)
    if request.method == "OPTIONS":
        return JSONResponse(None, headers=_CORS)
    if request.query_params.get("sitekey") != replica.settings.frc_site_key:
        return JSONResponse({"success": False, "errors": ["sitekey_invalid"]}, status_code=400, headers=_CORS)
    return JSONResponse({"success": True, "data": {"puzzle": replica.friendly.create_puzzle()}}, headers=_CORS)


async def frc_siteverify(request: Request) -> JSONResponse:
    """The vendor's siteverify (``{solution, secret, sitekey}``), for completeness."""
    replica = _replica(request)
    data = await _json_body(request)
    if data.get("secret") != replica.settings.frc_secret:
        return JSONResponse({"success": False, "errors": ["secret_invalid"]}, status_code=401)
    reason = replica.friendly.verify(str(data.get("solution", "")))
    return JSONResponse({"success": reason is None, "errors": [reason] if reason else []})


def vendor_routes() -> list[Route]:
    return [
        Route(FRC_PREFIX + "/puzzle", frc_puzzle, methods=["GET", "OPTIONS"]),
        Route(FRC_PREFIX + "/siteverify", frc_siteverify, methods=["POST"]),
    ]


def api_routes() -> list[Route]:
    """The endpoint table of spec §3 (paths relative to the API prefix)."""
    return [
        Route("/offices-and-services/", offices_and_services, methods=["GET"]),
        Route("/captcha-details/", captcha_details, methods=["GET"]),
        Route("/captcha-challenge/", captcha_challenge, methods=["GET"], name="captcha-challenge"),
        Route("/captcha-verify/", captcha_verify, methods=["POST"]),
        Route("/available-calendar/", available_calendar, methods=["GET"]),
        Route("/reserve-appointment/", reserve_appointment, methods=["POST"]),
        Route("/update-appointment/", update_appointment, methods=["POST"]),
        Route("/preconfirm-appointment/", preconfirm_appointment, methods=["POST"]),
        Route("/confirm-appointment/", confirm_appointment, methods=["POST"]),
        Route("/appointment/", get_appointment, methods=["GET"]),
        Route("/cancel-appointment/", cancel_appointment, methods=["POST"]),
    ]
