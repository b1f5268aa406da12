"""Run the replica with uvicorn: in the foreground (``mta replica``) or in a
background thread (tests, demo, benchmarks)."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from .app import create_app
from .site import Replica


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ReplicaServer:
    """A replica served on a real socket from a background thread.

    Use as a context manager; ``base_url`` is the site's origin
    (``http://127.0.0.1:<port>``) and ``api_url`` the API base.
    """

    def __init__(self, replica: Replica | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.replica = replica or Replica()
        self.host = host
        self.port = port or free_port(host)
        config = uvicorn.Config(
            create_app(self.replica), host=host, port=self.port, log_level="warning", access_log=False,
            lifespan="off", date_header=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="replica", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}{self.replica.settings.api_prefix}"

    def start(self) -> ReplicaServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"replica did not start on {self.base_url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._server.force_exit = True  # do not wait for requests a fault is holding
        self._thread.join(timeout=10)

    def __enter__(self) -> ReplicaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_forever(replica: Replica, host: str, port: int) -> None:
    uvicorn.run(create_app(replica), host=host, port=port, log_level="info", date_header=False)
