"""The replica's Starlette application: API routes behind the city's guards.

Guards run in the city's order for every API request: IP block list (403),
maintenance (503), rate limit (429), body size (413). Each API request is
written to the request log with its final status. Static files and the
scenario API (``/__replica__/``) are neither guarded nor counted.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

import asyncio
from email.utils import formatdate

from starlette.responses import StreamingResponse

from .api import api_routes, client_ip, vendor_routes
from .errors import ApiError
from .page import page_routes
from .scenario import scenario_routes
from .records import LoggedRequest
from .site import Replica

SCENARIO_PREFIX = "/__replica__"


class ApiGuard(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        replica: Replica = request.app.state.replica
        if not request.url.path.startswith(replica.settings.api_prefix + "/"):
            return await call_next(request)
        ip = client_ip(request)
        arrived = replica.clock.now()
        response = await self._guarded(request, call_next, replica, ip)
        response.headers["Date"] = formatdate(replica.clock.now(), usegmt=True)  # the site's clock
        replica.requests.add(
            LoggedRequest(
                time=arrived,
                ip=ip,
                method=request.method,
                path=request.url.path,
                query=request.url.query,
                status=response.status_code,
            )
        )
        return response

    async def _guarded(
        self, request: Request, call_next: RequestResponseEndpoint, replica: Replica, ip: str
    ) -> Response:
        if ip in replica.switches.blacklisted_ips:
            return ApiError("IP_BLACKLISTED").response()
        if replica.switches.maintenance:
            return ApiError("serviceUnavailable").response()
        fault = replica.faults.take(request.url.path, replica.clock.now())
        if fault is not None and fault.kind == "expire_tokens":
            replica.captcha.expire_issued_tokens()
        elif fault is not None and fault.kind != "hold_answer":
            return await _faulty_answer(fault.kind, replica, fault.body)
        if replica.faults.latency_s:
            await asyncio.sleep(replica.faults.latency_s)
        decision = replica.limiter.hit(ip)
        if not decision.allowed:
            return ApiError("rateLimitExceeded", headers=decision.headers()).response()
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > replica.switches.max_body_bytes:
            response: Response = ApiError("requestEntityTooLarge").response()
        else:
            response = await call_next(request)
        if fault is not None and fault.kind == "hold_answer":
            await asyncio.sleep(replica.settings.fault_hang_s)
        response.headers.update(decision.headers())
        return response


async def _broken_body():
    yield b'{"errors":['
    raise ConnectionResetError("fault injection: connection reset mid-answer")


async def _faulty_answer(kind: str, replica: Replica, body: object = None) -> Response:
    if kind == "malformed":
        return JSONResponse(body)
    if kind == "error500":
        return ApiError("internalError").response()
    if kind == "maintenance":
        return ApiError("serviceUnavailable").response()
    if kind == "rate_limit":
        reset = int(replica.clock.now() + replica.settings.rate_window_s)
        headers = {"X-RateLimit-Limit": str(replica.settings.rate_limit), "X-RateLimit-Remaining": "0",
                   "X-RateLimit-Reset": str(reset)}
        return ApiError("rateLimitExceeded", headers=headers).response()
    if kind == "reset":
        # Promise a body, send part of it, then break the connection.
        return StreamingResponse(_broken_body(), media_type="application/json", headers={"content-length": "4096"})
    await asyncio.sleep(replica.settings.fault_hang_s)  # "timeout"
    return JSONResponse({"detail": "Gateway Timeout"}, status_code=504)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _not_found(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith(request.app.state.replica.settings.api_prefix + "/"):
        return ApiError("notFound").response()
    return JSONResponse({"detail": "Not Found"}, status_code=404)


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    return ApiError("requestMethodNotAllowed").response()


async def _health(request: Request) -> JSONResponse:
    replica: Replica = request.app.state.replica
    return JSONResponse({"ok": True, "now": replica.clock.now()})


def create_app(replica: Replica) -> Starlette:
    app = Starlette(
        routes=[
            Mount(replica.settings.api_prefix, routes=api_routes()),
            Route(f"{SCENARIO_PREFIX}/health", _health),
            *scenario_routes(SCENARIO_PREFIX),
            *vendor_routes(),
            *page_routes(),
        ],
        middleware=[Middleware(ApiGuard)],
        exception_handlers={ApiError: _api_error, 404: _not_found, 405: _method_not_allowed},
    )
    app.state.replica = replica
    return app
