"""The scenario API: how tests, the demo and benchmarks drive the replica over HTTP.

Everything lives under ``/__replica__/`` (never a path of the city's site) and
is neither rate-limited nor written to the request log. Each route is a thin
wrapper around a method of :class:`replica.site.Replica`, which Python callers
use directly.

Moments (``at``, ``set``) are Unix seconds or ISO 8601 strings; ISO strings
without an offset are Europe/Berlin. Slot lists are ``timestamps`` (Unix
seconds) or ``berlin`` (``"YYYY-MM-DDTHH:MM"`` local times).
"""

from __future__ import annotations

import json
from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .catalog import Office, Service
from .clock import BERLIN
from .faults import FaultRule
from .site import Replica
from .variant import build_variant


class ScenarioError(ValueError):
    pass


def moment(value: object) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ScenarioError(f"not an ISO 8601 moment: {value!r}") from exc
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=BERLIN)).timestamp()
    raise ScenarioError(f"not a moment: {value!r}")


def slot_list(body: dict) -> list[int]:
    stamps = [int(moment(t)) for t in body.get("timestamps", [])]
    stamps += [int(moment(t)) for t in body.get("berlin", [])]
    if not stamps:
        raise ScenarioError("give 'timestamps' (Unix seconds) or 'berlin' (YYYY-MM-DDTHH:MM)")
    return stamps


def _office(replica: Replica, body: dict) -> int:
    office_id = body.get("officeId")
    if not isinstance(office_id, int) or office_id not in replica.catalog.offices:
        raise ScenarioError(f"unknown officeId {office_id!r}; known: {sorted(replica.catalog.offices)}")
    return office_id


def state(replica: Replica) -> dict:
    return {
        "now": replica.clock.now(),
        "frozen": replica.clock.frozen,
        "captchaMode": replica.captcha_mode,
        "allowAutomatedBrowsers": replica.allow_automated_browsers,
        "captchaOffices": sorted(o.id for o in replica.catalog.offices.values() if o.captcha_required),
        "maintenance": replica.switches.maintenance,
        "blacklist": sorted(replica.switches.blacklisted_ips),
        "redesign": replica.switches.redesign,
        "faults": replica.faults.to_json(),
        "tokenLifetimeS": replica.captcha.token_lifetime_override or replica.settings.token_lifetime_s,
        "releases": [r.to_json() for r in replica.desk.releases],
        "liveProcesses": [replica.desk.to_json(p) for p in replica.desk.live_processes()],
        "requests": len(replica.requests.all()),
        "mails": len(replica.outbox.all()),
    }


def apply_clock(replica: Replica, body: dict) -> None:
    if body.get("freeze"):
        replica.clock.freeze()
    if "set" in body:
        replica.clock.set(moment(body["set"]))
    if "advance" in body:
        replica.clock.advance(float(body["advance"]))
    if body.get("unfreeze"):
        replica.clock.unfreeze()


def apply_faults(replica: Replica, body: dict) -> None:
    if "latencyMs" in body:
        replica.faults.latency_s = float(body["latencyMs"]) / 1000
    for rule in body.get("rules", []):
        until = replica.clock.now() + float(rule["forS"]) if rule.get("forS") is not None else None
        replica.faults.add(FaultRule(kind=rule.get("kind", ""), path=rule.get("path", ""), count=rule.get("count"),
                                     until=until, body=rule.get("body")))
    if "maintenance" in body:
        replica.switches.maintenance = bool(body["maintenance"])
    if "blacklist" in body:
        replica.switches.blacklisted_ips = set(body["blacklist"])
    if "tokenLifetimeS" in body:
        value = body["tokenLifetimeS"]
        replica.captcha.token_lifetime_override = float(value) if value is not None else None
    if body.get("expireTokens"):
        replica.captcha.expire_issued_tokens()
    if "expireActivations" in body:
        ids = body["expireActivations"]
        replica.desk.expire_activations(None if ids is True else list(ids))
    if "redesign" in body:
        controls = body["redesign"]
        replica.switches.redesign = build_variant(controls if isinstance(controls, list) else [controls]) if controls else None


def seed_catalog(replica: Replica, body: dict) -> None:
    """Replace the catalogue: offices, services and relations in a compact form."""
    offices = {
        o["id"]: Office(o["id"], o["name"], o.get("street", ""), o.get("houseNumber", ""), o.get("postalCode", ""),
                        slot_minutes=o.get("slotMinutes", 10), captcha_required=o.get("captchaRequired", True),
                        telephone_activated=o.get("telephoneActivated", True))
        for o in body["offices"]
    }
    services = {s["id"]: Service(s["id"], s["name"], max_quantity=s.get("maxQuantity", 5)) for s in body["services"]}
    relations = [(r["officeId"], r["serviceId"], r.get("slots", 1)) for r in body["relations"]]
    for office_id, service_id, _ in relations:
        if office_id not in offices or service_id not in services:
            raise ScenarioError(f"relation ({office_id}, {service_id}) names an unknown office or service")
    replica.catalog.offices, replica.catalog.services, replica.catalog.relations = offices, services, relations


def scenario_routes(prefix: str) -> list[Route]:
    def endpoint(handler, methods: list[str]):
        async def run(request: Request) -> JSONResponse:
            replica: Replica = request.app.state.replica
            try:
                body = json.loads(await request.body() or b"{}") if request.method != "GET" else {}
                result = handler(replica, body, request)
            except (ScenarioError, ValueError, KeyError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            return JSONResponse(result if result is not None else state(replica))

        return run, methods

    def since(request: Request) -> int:
        return int(request.query_params.get("since", 0))

    def take(r: Replica, b: dict, q: Request) -> None:
        has_slots = "timestamps" in b or "berlin" in b
        r.desk.remove_slots(_office(r, b), slot_list(b) if has_slots else None)

    def release(r: Replica, b: dict, q: Request) -> None:
        r.release_at(moment(b["at"]), _office(r, b), slot_list(b), b.get("vanishAfterS"))

    def schedule(r: Replica, b: dict, q: Request) -> None:
        r.schedule_weekly(b["weekdays"], b["time"], _office(r, b), int(b["count"]), weeks=int(b.get("weeks", 4)),
                          slot_days_ahead=int(b.get("slotDaysAhead", 7)), first_slot=b.get("firstSlot", "08:00"),
                          vanish_after_s=b.get("vanishAfterS"))

    def scatter(r: Replica, b: dict, q: Request) -> dict:
        count = r.seed_slots(days=int(b.get("days", 21)), per_day=int(b.get("perDay", 3)),
                             seed=int(b.get("seed", 7)), first_day=int(b.get("firstDay", 1)),
                             office_ids=[int(o) for o in b["officeIds"]] if b.get("officeIds") else None,
                             weekdays=[int(d) for d in b["weekdays"]] if "weekdays" in b else None)
        return {"released": count}

    def captcha(r: Replica, b: dict, q: Request) -> None:
        r.set_captcha_mode(b.get("mode", r.captcha_mode), b.get("allowAutomatedBrowsers"))
        if "required" in b:
            r.set_captcha_required(bool(b["required"]), b.get("officeIds"))

    table = {
        "/state": (lambda r, b, q: state(r), ["GET"]),
        "/reset": (lambda r, b, q: r.reset(), ["POST"]),
        "/clock": (lambda r, b, q: apply_clock(r, b), ["POST"]),
        "/catalog": (lambda r, b, q: seed_catalog(r, b), ["POST"]),
        "/slots": (lambda r, b, q: r.desk.add_slots(_office(r, b), slot_list(b)), ["POST"]),
        "/slots/take": (take, ["POST"]),
        "/slots/scatter": (scatter, ["POST"]),
        "/slots/clear": (lambda r, b, q: r.clear_slots(b.get("officeIds")), ["POST"]),
        "/slots/take-next-reserved": (lambda r, b, q: r.take_slot_before_next_reserve(b.get("officeId")), ["POST"]),
        "/releases": (release, ["POST"]),
        "/schedules": (schedule, ["POST"]),
        "/captcha": (captcha, ["POST"]),
        "/faults": (lambda r, b, q: apply_faults(r, b), ["POST"]),
        "/faults/clear": (lambda r, b, q: r.clear_faults(), ["POST"]),
        "/outbox": (lambda r, b, q: [m.to_json() for m in r.outbox.all()], ["GET"]),
        "/requests": (lambda r, b, q: [x.to_json() for x in r.requests.all()[since(q):]], ["GET"]),
    }
    routes = []
    for path, (handler, methods) in table.items():
        run, allowed = endpoint(handler, methods)
        routes.append(Route(prefix + path, run, methods=allowed))
    return routes
