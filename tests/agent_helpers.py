"""Helpers for tests that run the agent against the replica."""

from __future__ import annotations

from pathlib import Path

from agent.config import Settings
from flows.request import BookingRequest, Contact
from replica.page import PAGE_PATH
from replica.server import ReplicaServer
from replica.site import Replica

ERIKA = Contact("Erika", "Mustermann", "erika@example.org", "+4989123456")


def agent_settings(server: ReplicaServer, tmp: Path, **overrides: object) -> Settings:
    values: dict[str, object] = dict(
        booking_url=server.base_url + PAGE_PATH,
        api_url=server.api_url,
        database_url=f"sqlite:///{tmp / 'mta.db'}",
        recordings_dir=tmp / "recordings",
        control_timeout_s=4.0,
        metrics_port=0,  # any free port: tests run side by side
    )
    values.update(overrides)
    return Settings(**values)


def agent_env(server: ReplicaServer, tmp: Path) -> dict[str, str]:
    """The environment a separate ``mta`` process needs to target the replica."""
    return {
        "MTA_BOOKING_URL": server.base_url + PAGE_PATH,
        "MTA_API_URL": server.api_url,
        "MTA_DATABASE_URL": f"sqlite:///{tmp / 'mta.db'}",
        "MTA_RECORDINGS_DIR": str(tmp / "recordings"),
        "MTA_CONTROL_TIMEOUT_S": "4",
        "MTA_METRICS_PORT": "0",
    }


def request_for(replica: Replica, offices: tuple[int, ...] = (102522,), service: int = 1063453,
                **overrides: object) -> BookingRequest:
    today = replica.clock.now_berlin().date()
    values: dict[str, object] = dict(
        service_id=service, office_ids=offices, date_from=today, date_to=today.fromordinal(today.toordinal() + 60),
        contact=ERIKA, person="p-erika",
    )
    values.update(overrides)
    return BookingRequest(**values)


def live_for(replica: Replica, email: str = ERIKA.email) -> list:
    return [p for p in replica.desk.live_processes() if p.email in ("", email)]
