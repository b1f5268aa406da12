"""Reads the site's own API answers as the page receives them.

The flow never calls the API itself: it clicks, and learns from the answers
the page got (calendar days and slots, the reserve answer with processId and
authKey, the captcha token). Answers are parsed once and kept in order.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from playwright.async_api import Page, Response

from .site_errors import error_codes

# The endpoints of the city's API (spec §3): a request for one of them outside the agent's API root is the
# page talking to another API than MTA_API_URL.
ENDPOINTS = ("offices-and-services/", "captcha-details/", "captcha-challenge/", "captcha-verify/",
             "available-calendar/", "reserve-appointment/", "update-appointment/", "preconfirm-appointment/",
             "confirm-appointment/", "appointment/", "cancel-appointment/")


def api_root_of(url: str) -> str | None:
    """The API root of a request for one of the city's endpoints (``…/api/citizen/``), else None."""
    path = urlsplit(url).path
    for endpoint in ENDPOINTS:
        if path.endswith("/" + endpoint):
            return url[: url.index(path) + len(path) - len(endpoint)]
    return None


@dataclass(frozen=True)
class ApiAnswer:
    endpoint: str  # e.g. "available-calendar/"
    status: int
    body: object  # parsed JSON, or None
    url: str
    seq: int = 0  # the order of the request this answers among the requests to our API root


    def query(self, name: str) -> str | None:
        """A parameter of the request this answers."""
        return dict(parse_qsl(urlsplit(self.url).query)).get(name)

    @property
    def error_codes(self) -> list[str]:
        return error_codes(self.body)


class WrongApi(Exception):
    """The page's requests do not go to the API root the agent listens to (``MTA_API_URL``)."""

    def __init__(self, expected: str, endpoint: str, seen: list[str], waited: float | None = None) -> None:
        self.expected, self.endpoint, self.seen, self.waited = expected, endpoint, seen, waited
        if seen:
            message = (f"the booking page talks to the API at {', '.join(seen)}, but the agent listens at "
                       f"{expected} (MTA_API_URL): set MTA_API_URL={seen[0].rstrip('/')} to match the page")
        else:
            message = (f"the booking page sent no request to {expected}{endpoint} within {waited:g} s "
                       "(MTA_STEP_TIMEOUT_S): MTA_API_URL may not match the page's API, or MTA_BOOKING_URL "
                       "is not the booking page")
        super().__init__(message)


class PageGone(Exception):
    """The page closed or its renderer crashed while the flow waited for an answer: none can come now."""


class ApiCapture:
    def __init__(self, page: Page, api_url: str, timeout: float = 30.0) -> None:
        self.api_root = api_url.rstrip("/") + "/"
        self.timeout = timeout  # how long an answer may take (a rate budget may hold requests back)
        self.answers: list[ApiAnswer] = []
        self._arrived = asyncio.Condition()
        self._pending: set[asyncio.Task] = set()
        self.in_flight: dict[str, int] = {}  # endpoint -> requests sent and not yet answered
        self.sent: dict[str, int] = {}  # endpoint -> requests sent to our API root so far
        self.foreign: list[str] = []  # API roots other than ours the page sent requests to, in order
        self._seq: dict[object, int] = {}  # request -> its order among ours (see mark())
        self._requests = 0
        page.on("response", self._on_response)
        page.on("request", self._on_request)
        page.on("requestfailed", self._on_failed)
        self.gone: str | None = None  # why the page can send and receive nothing any more
        page.on("close", lambda _page: self._lost("the page was closed (the browser may have died)"))
        page.on("crash", lambda _page: self._lost("the page's renderer crashed"))

    def _lost(self, why: str) -> None:
        """Wake every waiter at once: an answer the page cannot receive is not worth a timeout's wait."""
        self.gone = self.gone or why

        async def wake() -> None:
            async with self._arrived:
                self._arrived.notify_all()

        task = asyncio.ensure_future(wake())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def _raise_if_gone(self) -> None:
        if self.gone is not None:
            raise PageGone(self.gone)

    def _endpoint(self, url: str) -> str | None:
        return url[len(self.api_root):].split("?", 1)[0] if url.startswith(self.api_root) else None

    def _on_request(self, request) -> None:
        endpoint = self._endpoint(request.url)
        if endpoint is not None:
            self._seq[request] = self._requests
            self._requests += 1
            self.in_flight[endpoint] = self.in_flight.get(endpoint, 0) + 1
            self.sent[endpoint] = self.sent.get(endpoint, 0) + 1
        elif (root := api_root_of(request.url)) is not None:
            self.foreign.append(root)

    def _settled(self, request, endpoint: str) -> int | None:
        """A request of ours got its answer or failed: its order number, and it is no longer in flight.
        None when it was settled already (a response whose body was then cut off also fails)."""
        seq = self._seq.pop(request, None)
        if seq is not None and self.in_flight.get(endpoint):
            self.in_flight[endpoint] -= 1
        return seq

    def _on_failed(self, request) -> None:
        endpoint = self._endpoint(request.url)
        if endpoint is not None:
            self._settled(request, endpoint)

    def _on_response(self, response: Response) -> None:
        endpoint = self._endpoint(response.url)
        if endpoint is None:
            return
        # Settled here, synchronously, in the order Playwright reports events, not when the body is read.
        seq = self._settled(response.request, endpoint)
        # An answer to a request never seen (sent before the capture listened) is older than any mark.
        task = asyncio.ensure_future(self._read(response, endpoint, -1 if seq is None else seq))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _read(self, response: Response, endpoint: str, seq: int) -> None:
        try:
            body = json.loads(await response.body())
        except Exception:  # noqa: BLE001 - a broken or non-JSON answer is kept as None
            body = None
        async with self._arrived:
            self.answers.append(ApiAnswer(endpoint, response.status, body, response.url, seq))
            self._arrived.notify_all()

    def mark(self) -> int:
        """A point in the page's conversation: answers "since" it are those to requests sent after it.

        Counted by request, not by answer: an answer to a request the page sent before the mark (say, the
        old document's request that the next navigation cut off, arriving late and unreadable) is never
        taken for the answer to what the flow does next."""
        return self._requests

    def since(self, mark: int) -> list[ApiAnswer]:
        """The answers to requests sent at or after ``mark``, in the order they arrived."""
        return [a for a in self.answers if a.seq >= mark]

    def asked(self) -> tuple[dict[str, int], int]:
        """A mark of the requests sent so far (ours by endpoint, foreign), for :meth:`answer_to_load`."""
        return dict(self.sent), len(self.foreign)

    async def answer_to_load(self, endpoint: str, since: int, asked: tuple[dict[str, int], int],
                             send_timeout: float | None = None) -> ApiAnswer:
        """The answer to a request the page sends by itself when it loads (its catalogue, the activation).

        Stops early with :class:`WrongApi` when the page sent its requests to another API root than ours,
        or sent none to ours within ``send_timeout``: listening for the full answer timeout would only
        wait for an answer that cannot come. Once our request is out, the answer may take the full timeout
        (the rate budget may hold it)."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + (self.timeout if send_timeout is None else send_timeout)
        own, foreign = asked
        while True:
            found = next((a for a in self.since(since) if a.endpoint == endpoint), None)
            if found is not None:
                return found
            if self.sent.get(endpoint, 0) > own.get(endpoint, 0):
                return await self.next(endpoint, since)
            self._raise_if_gone()
            others = sorted(set(self.foreign[foreign:]))
            if others:
                raise WrongApi(self.api_root, endpoint, others)
            if loop.time() >= give_up:
                raise WrongApi(self.api_root, endpoint, [], send_timeout or self.timeout)
            await asyncio.sleep(0.05)

    async def next(self, endpoint: str, since: int, timeout: float | None = None,
                   where: Callable[[ApiAnswer], bool] | None = None) -> ApiAnswer:
        """The first answer for ``endpoint`` at index ``since`` or later (and, with ``where``, the first
        that satisfies it: a late answer to an earlier request is not the answer to this one)."""
        timeout = self.timeout if timeout is None else timeout

        def found() -> ApiAnswer | None:
            return next((a for a in self.since(since) if a.endpoint == endpoint and (where is None or where(a))),
                        None)

        try:
            async with self._arrived:
                await asyncio.wait_for(self._arrived.wait_for(lambda: found() is not None or self.gone is not None),
                                       timeout)
        except TimeoutError:
            raise TimeoutError(f"no answer from {self.api_root}{endpoint} within {timeout:g} s") from None
        answer = found()
        if answer is None:
            raise PageGone(f"{self.gone}; no answer from {endpoint} can come")
        return answer

    def last_arrived(self, endpoint: str) -> ApiAnswer | None:
        """The answer that arrived last: what a page that paints every answer as it comes shows now."""
        return next((a for a in reversed(self.answers) if a.endpoint == endpoint), None)

    def latest(self, endpoint: str, since: int = 0) -> ApiAnswer | None:
        """The answer to the newest request for ``endpoint`` (not the last to arrive: a late answer to an
        older request does not replace a newer one)."""
        found: ApiAnswer | None = None
        for answer in self.since(since):
            if answer.endpoint == endpoint and (found is None or answer.seq >= found.seq):
                found = answer
        return found

    async def idle(self, endpoint: str, timeout: float | None = None) -> None:
        """Wait until no request for ``endpoint`` is in flight (the rate budget may be holding one)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.timeout if timeout is None else timeout)
        while self.in_flight.get(endpoint, 0) > 0 or self._pending:
            self._raise_if_gone()
            if loop.time() >= deadline:
                raise TimeoutError(f"a {endpoint} request got no answer in time")
            await asyncio.sleep(0.05)

    async def settle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until no new answer arrived for ``quiet`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        count = -1
        while count != len(self.answers) and loop.time() < deadline:
            count = len(self.answers)
            await asyncio.sleep(quiet)
