"""Helpers for tests that talk to the replica over real HTTP."""

from __future__ import annotations

from datetime import date, timedelta

import altcha
import httpx

from replica.site import Replica


def solve_altcha(client: httpx.Client) -> str:
    """Fetch a challenge, solve it with the PyPI package, return the widget payload (base64)."""
    challenge = altcha.Challenge.from_dict(client.get("captcha-challenge/").json())
    solution = altcha.solve_challenge(challenge)
    assert solution is not None
    return altcha.Payload(challenge, solution).to_base64()


def captcha_token(client: httpx.Client) -> str:
    answer = client.post("captcha-verify/", json={"payload": solve_altcha(client)}).json()
    assert answer["meta"]["success"] is True, answer
    return answer["token"]


def calendar_params(
    replica: Replica,
    offices: list[int],
    service: int = 1063453,
    token: str | None = None,
    slots_start: date | None = None,
    slots_end: date | None = None,
) -> dict[str, str]:
    today = replica.clock.now_berlin().date()
    params = {
        "startDate": today.isoformat(),
        "endDate": (today + timedelta(days=182)).isoformat(),
        "officeIds": ",".join(str(o) for o in sorted(offices)),
        "serviceIds": str(service),
        "serviceCounts": "1",
        "slotsStartDate": (slots_start or today).isoformat(),
        "slotsEndDate": (slots_end or slots_start or today).isoformat(),
    }
    if token:
        params["captchaToken"] = token
    return params


def error_codes(response: httpx.Response) -> list[str]:
    return [e["errorCode"] for e in response.json()["errors"]]


def berlin_slot(replica: Replica, days_ahead: int, hour: int, minute: int = 0) -> int:
    """Unix seconds of HH:MM Europe/Berlin, ``days_ahead`` days after the replica's today."""
    from datetime import datetime, time

    from replica.clock import BERLIN

    day = replica.clock.now_berlin().date() + timedelta(days=days_ahead)
    return int(datetime.combine(day, time(hour, minute), BERLIN).timestamp())
