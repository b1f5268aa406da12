"""Contract: the per-IP rate limit and the request log (spec §6)."""

from __future__ import annotations

import httpx

from tests.replica_helpers import error_codes


def test_request_61_is_refused_and_the_next_window_passes(replica, api) -> None:
    for i in range(60):
        ok = api.get("offices-and-services/")
        assert ok.status_code == 200, i
        assert ok.headers["X-RateLimit-Limit"] == "60"
        assert ok.headers["X-RateLimit-Remaining"] == str(59 - i)
    refused = api.get("offices-and-services/")
    assert refused.status_code == 429
    assert error_codes(refused) == ["rateLimitExceeded"]
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    reset = int(refused.headers["X-RateLimit-Reset"])
    assert reset == int(replica.clock.now()) + 60
    replica.clock.advance(30)
    assert api.get("offices-and-services/").status_code == 429  # still inside the window
    replica.clock.advance(30)
    assert api.get("offices-and-services/").status_code == 200


def test_limit_is_per_ip(replica, server, api) -> None:
    for _ in range(60):
        api.get("captcha-details/")
    assert api.get("captcha-details/").status_code == 429
    with httpx.Client(base_url=server.api_url + "/", transport=httpx.HTTPTransport(local_address="127.0.0.2")) as other:
        assert other.get("captcha-details/").status_code == 200


def test_static_and_scenario_paths_do_not_count(replica, server, api) -> None:
    with httpx.Client(base_url=server.base_url) as site:
        for _ in range(70):
            assert site.get("/__replica__/health").status_code == 200
    assert api.get("offices-and-services/").headers["X-RateLimit-Remaining"] == "59"
    assert len(replica.requests.all()) == 1


def test_every_api_request_is_logged(replica, api) -> None:
    api.get("offices-and-services/")
    api.get("available-calendar/", params={"startDate": "bad"})
    api.post("confirm-appointment/", json={})
    log = replica.requests.all()
    assert [(r.method, r.path.rsplit("citizen", 1)[1], r.status) for r in log] == [
        ("GET", "/offices-and-services/", 200),
        ("GET", "/available-calendar/", 400),
        ("POST", "/confirm-appointment/", 400),
    ]
    assert all(r.ip == "127.0.0.1" for r in log)
    assert log[1].query == "startDate=bad"
