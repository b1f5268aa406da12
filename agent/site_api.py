"""The agent's own reads of the site's API, where no page is open: the catalogue before a booking,
the status of a booking it holds (settling after a restart), giving a held slot back.

Same endpoints and JSON the page uses, asynchronous, and every request takes its place in the rate
budget first (none at all while the circuit is open); every answer is fed back to the budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from flows.site_errors import SiteMeaning, describe, error_codes, meaning

from .budget import CHECK, CircuitOpen, RateBudget


@dataclass(frozen=True)
class ProcessStatus:
    status: str  # reserved | preconfirmed | confirmed | cancelled | gone | unknown
    detail: str = ""


@dataclass(frozen=True)
class SiteCatalogue:
    """Services (their maximum count) and which offices offer each."""

    services: dict[int, int]
    offices_of: dict[int, set[int]]


class SiteUnavailable(Exception):
    """The site did not give a usable answer (rate limit, maintenance, failure, unreachable)."""

    def __init__(self, meaning_: SiteMeaning, message: str) -> None:
        super().__init__(message)
        self.meaning = meaning_


class SiteApi:
    def __init__(self, api_url: str, budget: RateBudget | None = None, timeout: float = 15.0) -> None:
        self.root = api_url.rstrip("/") + "/"
        self.budget = budget
        self.client = httpx.AsyncClient(timeout=timeout, headers={"Accept": "application/json"})

    async def close(self) -> None:
        await self.client.aclose()

    async def __aenter__(self) -> SiteApi:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _send(self, method: str, endpoint: str, **kwargs: object) -> tuple[int, object]:
        """One budgeted request; (status, parsed body or None). Raises SiteUnavailable when unsent."""
        if self.budget is not None:
            try:
                await self.budget.acquire(CHECK)
            except CircuitOpen as exc:
                raise SiteUnavailable(SiteMeaning.RATE_LIMITED, str(exc)) from exc
        try:
            answer = await self.client.request(method, self.root + endpoint, **kwargs)
        except httpx.HTTPError as exc:
            raise SiteUnavailable(SiteMeaning.FAILURE, f"the site did not answer ({type(exc).__name__}: "
                                  f"{str(exc) or 'no detail'}) at {self.root}{endpoint}") from exc
        try:
            body: object = answer.json()
        except ValueError:
            body = None
        if self.budget is not None:
            self.budget.observe(answer.status_code, answer.headers, error_codes(body))
        return answer.status_code, body

    async def catalogue(self) -> SiteCatalogue:
        """``offices-and-services/``; an error answer is never read as an empty catalogue."""
        status, body = await self._send("GET", "offices-and-services/")
        what = meaning(status, body)
        if what is not SiteMeaning.OK or not isinstance(body, dict) or not isinstance(body.get("services"), list):
            raise SiteUnavailable(what if what is not SiteMeaning.OK else SiteMeaning.FAILURE,
                                  f"could not read the site's catalogue: {describe(status, body)}")
        services = {int(s["id"]): int(s.get("maxQuantity") or 1) for s in body["services"] if "id" in s}
        offices: dict[int, set[int]] = {}
        for relation in body.get("relations", []):
            offices.setdefault(int(relation["serviceId"]), set()).add(int(relation["officeId"]))
        return SiteCatalogue(services, offices)

    async def appointment(self, process_id: int, auth_key: str) -> ProcessStatus:
        return await self._status("GET", "appointment/", params={"processId": process_id, "authKey": auth_key})

    async def cancel(self, process_id: int, auth_key: str) -> ProcessStatus:
        return await self._status("POST", "cancel-appointment/", json={"processId": process_id, "authKey": auth_key})

    async def _status(self, method: str, endpoint: str, **kwargs: object) -> ProcessStatus:
        try:
            status, body = await self._send(method, endpoint, **kwargs)
        except SiteUnavailable as exc:
            return ProcessStatus("unknown", str(exc))
        what = meaning(status, body)
        if what is SiteMeaning.PROCESS_GONE:
            return ProcessStatus("gone", "the site no longer knows the appointment (lapsed or cancelled)")
        if what is not SiteMeaning.OK or not isinstance(body, dict):
            return ProcessStatus("unknown", describe(status, body))
        return ProcessStatus(str(body.get("status", "unknown")))
