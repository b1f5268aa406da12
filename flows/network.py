"""Reads the site's own API answers as the page receives them.

The flow never calls the API itself: it clicks, and learns from the answers
the page got (calendar days and slots, the reserve answer with processId and
authKey, the captcha token). Answers are parsed once and kept in order.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from playwright.async_api import Page, Response


@dataclass(frozen=True)
class ApiAnswer:
    endpoint: str  # e.g. "available-calendar/"
    status: int
    body: object  # parsed JSON, or None
    url: str

    @property
    def error_codes(self) -> list[str]:
        if isinstance(self.body, dict) and isinstance(self.body.get("errors"), list):
            return [str(e.get("errorCode")) for e in self.body["errors"] if isinstance(e, dict)]
        return []


class ApiCapture:
    def __init__(self, page: Page, api_url: str, timeout: float = 30.0) -> None:
        self.api_root = api_url.rstrip("/") + "/"
        self.timeout = timeout  # how long an answer may take (a rate budget may hold requests back)
        self.answers: list[ApiAnswer] = []
        self._arrived = asyncio.Condition()
        self._pending: set[asyncio.Task] = set()
        page.on("response", self._on_response)

    def _on_response(self, response: Response) -> None:
        if not response.url.startswith(self.api_root):
            return
        task = asyncio.ensure_future(self._read(response))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _read(self, response: Response) -> None:
        endpoint = response.url[len(self.api_root):].split("?", 1)[0]
        try:
            body = json.loads(await response.body())
        except Exception:  # noqa: BLE001 - a broken or non-JSON answer is kept as None
            body = None
        async with self._arrived:
            self.answers.append(ApiAnswer(endpoint, response.status, body, response.url))
            self._arrived.notify_all()

    def mark(self) -> int:
        return len(self.answers)

    async def next(self, endpoint: str, since: int, timeout: float | None = None) -> ApiAnswer:
        """The first answer for ``endpoint`` at index ``since`` or later, waiting up to ``timeout``."""
        timeout = self.timeout if timeout is None else timeout

        def found() -> ApiAnswer | None:
            return next((a for a in self.answers[since:] if a.endpoint == endpoint), None)

        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: found() is not None), timeout)
        answer = found()
        assert answer is not None
        return answer

    def latest(self, endpoint: str, since: int = 0) -> ApiAnswer | None:
        return next((a for a in reversed(self.answers[since:]) if a.endpoint == endpoint), None)

    async def settle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until no new answer arrived for ``quiet`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        count = -1
        while count != len(self.answers) and loop.time() < deadline:
            count = len(self.answers)
            await asyncio.sleep(quiet)
