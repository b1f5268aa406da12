"""The agent's own reads of the site's API: the status of a booking it holds, and giving one back.

Used where no page is open (settling attempts after a restart, checking
whether the person activated the appointment). Same endpoints and JSON the
page uses; the rate budget gates these calls like every other.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class ProcessStatus:
    status: str  # reserved | preconfirmed | confirmed | cancelled | gone | unknown
    detail: str = ""


class SiteApi:
    def __init__(self, api_url: str, timeout: float = 15.0) -> None:
        self.root = api_url.rstrip("/") + "/"
        self.client = httpx.Client(timeout=timeout, headers={"Accept": "application/json"})

    def close(self) -> None:
        self.client.close()

    def appointment(self, process_id: int, auth_key: str) -> ProcessStatus:
        try:
            answer = self.client.get(self.root + "appointment/", params={"processId": process_id, "authKey": auth_key})
        except httpx.HTTPError as exc:
            return ProcessStatus("unknown", f"the site did not answer: {type(exc).__name__}")
        return _status(answer)

    def cancel(self, process_id: int, auth_key: str) -> ProcessStatus:
        try:
            answer = self.client.post(self.root + "cancel-appointment/",
                                      json={"processId": process_id, "authKey": auth_key})
        except httpx.HTTPError as exc:
            return ProcessStatus("unknown", f"the site did not answer: {type(exc).__name__}")
        return _status(answer)


def _status(answer: httpx.Response) -> ProcessStatus:
    try:
        body = answer.json()
    except ValueError:
        return ProcessStatus("unknown", f"HTTP {answer.status_code} without JSON")
    codes = [e.get("errorCode") for e in body.get("errors", [])] if isinstance(body, dict) else []
    if "appointmentNotFound" in codes:
        return ProcessStatus("gone", "the site no longer knows the appointment (lapsed or cancelled)")
    if codes:
        return ProcessStatus("unknown", ", ".join(str(c) for c in codes))
    return ProcessStatus(str(body.get("status", "unknown")))
