"""The agent's own HTTP endpoints: ``/health``, ``/ready`` and ``/metrics`` on one port.

Served by uvicorn inside the agent's event loop (a component the service starts
and stops), on ``MTA_METRICS_HOST:MTA_METRICS_PORT`` — loopback by default:
the figures tell when a person's slot was booked, so exposing them is a
choice (``MTA_METRICS_HOST=0.0.0.0`` in the image, where Docker's port
publishing decides). The socket is bound here, before uvicorn starts, so a
port in use is a clear error at start, not a ``SystemExit`` from a task.
The agent owns the process's signals: uvicorn's own handlers stay off.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from typing import TYPE_CHECKING

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import __version__
from .health import readiness

if TYPE_CHECKING:  # pragma: no cover
    from .service import AgentService


def ops_app(agent: AgentService, registry: CollectorRegistry, max_poll_age_s: float) -> Starlette:
    started = time.time()

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "alive", "version": __version__, "running": agent.running,
                             "uptimeSeconds": round(time.time() - started, 1)})

    async def ready(_: Request) -> JSONResponse:
        checks = await readiness(agent, max_poll_age_s)
        ok = agent.running and all(c.ok for c in checks)
        return JSONResponse({"ready": ok, "checks": {c.name: c.as_dict() for c in checks}},
                            status_code=200 if ok else 503)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[Route("/health", health), Route("/ready", ready), Route("/metrics", metrics)])


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):
        yield  # SIGTERM belongs to the agent (mta run stops everything in order)


class OpsServer:
    """Start/stop of the endpoints; ``port`` is the bound one (useful with port 0)."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        self.app, self.host, self.requested_port = app, host, port
        self.port: int | None = None
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.requested_port))
        except OSError as exc:
            sock.close()
            raise OSError(f"the health/metrics port {self.host}:{self.requested_port} is not free ({exc.strerror}); "
                          "set MTA_METRICS_PORT (0: any free port, -1: no endpoints)") from exc
        sock.listen(64)
        sock.setblocking(False)
        self._socket = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_config=None, access_log=False, lifespan="off",
                                timeout_graceful_shutdown=2)
        self._server = _EmbeddedServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="ops-server")
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
                raise RuntimeError("the health/metrics server stopped at start")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self._task, 5)
        if self._socket is not None:
            self._socket.close()
        self._server = self._task = self._socket = None
