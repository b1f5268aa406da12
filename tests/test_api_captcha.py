"""Contract: ALTCHA challenge/verify and the IP-bound captcha token (spec §4)."""

from __future__ import annotations

import base64
import json

import httpx
import jwt
import pytest

from tests.replica_helpers import calendar_params, captcha_token, error_codes, solve_altcha


def test_details_answer_the_four_fields(api) -> None:
    body = api.get("captcha-details/").json()
    assert set(body) == {"siteKey", "captchaChallenge", "captchaVerify", "captchaEnabled"}
    assert body["captchaEnabled"] is True
    assert body["captchaChallenge"].endswith("/api/citizen/captcha-challenge/")


def test_challenge_is_altcha_v2(api) -> None:
    body = api.get("captcha-challenge/").json()
    assert set(body) == {"parameters", "signature"}
    params = body["parameters"]
    assert params["algorithm"] == "SHA-256"
    for key in ("nonce", "salt", "keyPrefix"):
        assert isinstance(params[key], str)
    for key in ("cost", "keyLength", "expiresAt"):
        assert isinstance(params[key], int)


def test_default_cost_is_the_citys_not_the_test_one() -> None:
    from replica.settings import ReplicaSettings

    assert ReplicaSettings().altcha_cost >= 1000


def test_solved_challenge_verifies_and_earns_an_ip_bound_jwt(replica, api) -> None:
    answer = api.post("captcha-verify/", json={"payload": solve_altcha(api)}).json()
    assert answer["meta"] == {"success": True}
    assert answer["data"] == {"valid": True}
    claims = jwt.decode(answer["token"], replica.settings.token_secret, algorithms=["HS256"],
                        options={"verify_exp": False})
    assert claims["ip"] == "127.0.0.1"
    assert claims["exp"] - claims["iat"] == 300


def _tamper(payload: str) -> str:
    data = json.loads(base64.b64decode(payload))
    data["challenge"]["parameters"]["cost"] = 1
    return base64.b64encode(json.dumps(data).encode()).decode()


def _wrong_counter(payload: str) -> str:
    data = json.loads(base64.b64decode(payload))
    data["solution"]["counter"] += 1
    return base64.b64encode(json.dumps(data).encode()).decode()


@pytest.mark.parametrize("mangle", [_tamper, _wrong_counter, lambda p: "not base64!", lambda p: ""])
def test_tampered_or_malformed_solutions_fail(api, mangle) -> None:
    answer = api.post("captcha-verify/", json={"payload": mangle(solve_altcha(api))})
    assert answer.status_code == 200
    assert answer.json()["meta"]["success"] is False
    assert answer.json()["data"] is None
    assert "token" not in answer.json()


def test_replayed_solution_fails(api) -> None:
    payload = solve_altcha(api)
    assert api.post("captcha-verify/", json={"payload": payload}).json()["meta"]["success"] is True
    assert api.post("captcha-verify/", json={"payload": payload}).json()["meta"]["success"] is False


def test_expired_challenge_fails(replica, api) -> None:
    payload = solve_altcha(api)
    replica.clock.advance(replica.settings.altcha_challenge_ttl_s + 1)
    assert api.post("captcha-verify/", json={"payload": payload}).json()["meta"]["success"] is False


def test_calendar_requires_a_token_for_captcha_offices(replica, api) -> None:
    params = calendar_params(replica, [102522])
    missing = api.get("available-calendar/", params=params)
    assert missing.status_code == 400 and error_codes(missing) == ["captchaMissing"]
    invalid = api.get("available-calendar/", params={**params, "captchaToken": "garbage"})
    assert error_codes(invalid) == ["captchaInvalid"]
    forged = jwt.encode({"ip": "127.0.0.1", "iat": 0, "exp": 2**40}, "another-secret-of-sufficient-length-123",
                        algorithm="HS256")
    assert error_codes(api.get("available-calendar/", params={**params, "captchaToken": forged})) == [
        "captchaInvalid"
    ]


def test_token_expires_after_its_lifetime(replica, api) -> None:
    token = captcha_token(api)
    params = calendar_params(replica, [102522], token=token)
    assert error_codes(api.get("available-calendar/", params=params)) == ["noAppointmentForThisScope"]
    replica.clock.advance(299)
    assert error_codes(api.get("available-calendar/", params=params)) == ["noAppointmentForThisScope"]
    replica.clock.advance(2)
    expired = api.get("available-calendar/", params=params)
    assert expired.status_code == 400 and error_codes(expired) == ["captchaExpired"]


def test_token_from_another_ip_is_refused(replica, server, api) -> None:
    token = captcha_token(api)  # earned from 127.0.0.1
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=server.api_url + "/", transport=transport) as other:
        answer = other.get("available-calendar/", params=calendar_params(replica, [102522], token=token))
    assert error_codes(answer) == ["captchaInvalid"]
    assert replica.requests.all()[-1].ip == "127.0.0.2"


def test_reserve_requires_the_token_too(replica, api) -> None:
    slot = int(replica.clock.now()) + 86400
    replica.desk.add_slots(102522, [slot])
    body = {"timestamp": slot, "serviceCount": [1], "officeId": 102522, "serviceId": [1063453]}
    assert error_codes(api.post("reserve-appointment/", json=body)) == ["captchaMissing"]
    ok = api.post("reserve-appointment/", json={**body, "captchaToken": captcha_token(api)})
    assert ok.status_code == 200 and ok.json()["status"] == "reserved"


def test_offices_without_captcha_need_no_token(replica, api) -> None:
    replica.set_captcha_required(False, [102522])
    answer = api.get("available-calendar/", params=calendar_params(replica, [102522]))
    assert error_codes(answer) == ["noAppointmentForThisScope"]
    mixed = api.get("available-calendar/", params=calendar_params(replica, [102522, 102523]))
    assert error_codes(mixed) == ["captchaMissing"]
