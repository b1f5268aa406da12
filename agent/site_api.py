"""The agent's own reads of the site's API, where no page is open: the catalogue before a booking,
the status of a booking it holds (settling after a restart), giving a held slot back.

Same endpoints and JSON the page uses, asynchronous, and every request takes its place in the rate
budget first (none at all while the circuit is open); every answer is fed back to the budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from pydantic import BaseModel, Field, ValidationError

from flows.site_errors import SiteMeaning, describe, error_codes, meaning

from flows.request import Contact

from .budget import BOOKING, CHECK, CircuitOpen, RateBudget
from .names import Names


@dataclass(frozen=True)
class ProcessStatus:
    status: str  # reserved | preconfirmed | confirmed | cancelled | gone | refused | unknown
    detail: str = ""
    process: dict | None = None  # the site's process JSON, when it sent one


@dataclass(frozen=True)
class SiteCatalogue:
    """Services (their maximum count) and which offices offer each."""

    services: dict[int, int]
    offices_of: dict[int, set[int]]
    names: Names = field(default_factory=Names)  # what a person reads instead of the ids
    # The services the site's own search lists (``showOnStartPage`` not false; the city hides the others,
    # e.g. its DONT_SHOW_SERVICE_ON_START_PAGE list); None: all of them.
    listed: frozenset[int] | None = None

    def is_listed(self, service_id: int) -> bool:
        return self.listed is None or service_id in self.listed


class _Service(BaseModel):
    id: int = Field(ge=1, le=2**31 - 1)
    maxQuantity: int | None = Field(1, ge=0, le=1000)  # noqa: N815 - the site's names
    showOnStartPage: object = None  # noqa: N815 - a display hint: any value but false lists the service


class _Relation(BaseModel):
    officeId: int = Field(ge=1, le=2**31 - 1)  # noqa: N815
    serviceId: int = Field(ge=1, le=2**31 - 1)  # noqa: N815


class _CatalogueBody(BaseModel):
    """The part of ``offices-and-services/`` the agent reads, checked before it is believed."""

    services: list[_Service]
    relations: list[_Relation] = []


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

    async def _send(self, method: str, endpoint: str, kind: str = CHECK, **kwargs: object) -> tuple[int, object]:
        """One budgeted request; (status, parsed body or None). Raises SiteUnavailable when unsent."""
        if self.budget is not None:
            try:
                await self.budget.acquire(kind)
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
        try:
            status, body = await self._send("GET", "offices-and-services/")
        except SiteUnavailable as exc:
            raise SiteUnavailable(exc.meaning, f"could not read the site's catalogue: {exc}") from exc
        what = meaning(status, body)
        if what is not SiteMeaning.OK or not isinstance(body, dict) or not isinstance(body.get("services"), list):
            raise SiteUnavailable(what if what is not SiteMeaning.OK else SiteMeaning.FAILURE,
                                  f"could not read the site's catalogue: {describe(status, body)}")
        try:
            read = _CatalogueBody.model_validate(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise SiteUnavailable(SiteMeaning.FAILURE, "the site's catalogue is not in the shape the agent knows "
                                  f"({where}: {first['msg']}); the site may have changed") from None
        offices: dict[int, set[int]] = {}
        for relation in read.relations:
            offices.setdefault(relation.serviceId, set()).add(relation.officeId)
        return SiteCatalogue({s.id: s.maxQuantity or 1 for s in read.services}, offices, Names.from_catalogue(body),
                             frozenset(s.id for s in read.services if s.showOnStartPage is not False))

    async def appointment(self, process_id: int, auth_key: str) -> ProcessStatus:
        return await self._status("GET", "appointment/", params={"processId": process_id, "authKey": auth_key})

    async def cancel(self, process_id: int, auth_key: str) -> ProcessStatus:
        return await self._status("POST", "cancel-appointment/", json={"processId": process_id, "authKey": auth_key})

    async def keep(self, process: dict, contact: Contact) -> ProcessStatus:
        """Finish a held reservation whose page is gone, with the requests the city's page sends for the
        remaining steps: ``update-appointment/`` with the contact, then ``preconfirm-appointment/``.

        Both count as a booking in the budget. ``preconfirmed`` on success; ``refused`` with the site's
        reason when it would not take them (the caller then gives the slot back)."""
        ref = {"processId": process["processId"], "authKey": process["authKey"], "scope": process.get("scope") or {}}
        contact_body = {**ref, "familyName": f"{contact.first_name} {contact.last_name}".strip(),
                        "email": contact.email, "telephone": contact.telephone or None,
                        "customTextfield": None, "customTextfield2": None}
        for _ in range(2):  # a step without an answer (timeout, 5xx) is tried once more
            updated = await self._status("POST", "update-appointment/", kind=BOOKING, json=contact_body)
            if updated.status != "unknown":
                break
        if updated.process is None:
            return updated if updated.status in ("gone", "unknown") else ProcessStatus("refused", updated.detail)
        for _ in range(2):
            done = await self._status("POST", "preconfirm-appointment/", kind=BOOKING, json=ref)
            if done.status != "unknown":
                break
        return done

    async def _status(self, method: str, endpoint: str, kind: str = CHECK, **kwargs: object) -> ProcessStatus:
        try:
            status, body = await self._send(method, endpoint, kind, **kwargs)
        except SiteUnavailable as exc:
            return ProcessStatus("unknown", str(exc))
        what = meaning(status, body)
        if what is SiteMeaning.PROCESS_GONE:
            return ProcessStatus("gone", "the site no longer knows the appointment (lapsed or cancelled)")
        if what is SiteMeaning.KEY_CHANGED:  # the city changes the key when it cancels an appointment
            return ProcessStatus("cancelled", "the appointment was cancelled (the site answered authKeyMismatch)")
        if what is not SiteMeaning.OK or not isinstance(body, dict):
            refused = what in (SiteMeaning.REFUSED, SiteMeaning.NOT_RESERVED, SiteMeaning.NOT_PRECONFIRMED)
            return ProcessStatus("refused" if refused else "unknown", describe(status, body))
        return ProcessStatus(str(body.get("status", "unknown")), process=body)
