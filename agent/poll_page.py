"""The one page per site that holds the captcha token and sends every distinct query's poll.

The city's token is bound to the client's IP, not to a service or an office
(spec §4), so one token serves every ``available-calendar/`` request the agent
sends. This page is prepared once (deep link, captcha) and renewed once per
token lifetime, whatever the number of queries; each poll is the site's own
request, sent with ``fetch`` from inside it (same origin, cookies, token).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode

from flows.captcha import captcha_required
from flows.locators import SelectorBook
from flows.site_errors import SiteMeaning, describe, meaning
from flows.timezone import berlin_day

from .budget import POLL, RateBudget
from .config import Settings
from .metrics import NULL_METRICS, Metrics
from .pool import BrowserPool
from .site_page import SitePage, SiteTrouble, StreamKey
from .states import Trouble

POLL_SCRIPT = """async (url) => {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  return { status: response.status, body, date: response.headers.get("date") };
}"""


class PollPage:
    def __init__(self, settings: Settings, pool: BrowserPool, budget: RateBudget, book: SelectorBook,
                 metrics: Metrics = NULL_METRICS) -> None:
        self.settings, self.pool, self.budget, self.book = settings, pool, budget, book
        self.metrics = metrics
        self.current: SitePage | None = None
        self.site_offset = 0.0  # the site's clock minus ours (from its Date header)
        self.renewals = 0  # preparations (one per token lifetime when all is well)
        self.upkeep_requests = 0  # requests those preparations sent
        self.polls = 0  # calendar requests sent
        self._catalogue_body: object = None

    def site_now(self) -> float:
        return time.time() + self.site_offset

    def ready(self) -> bool:
        return self.current is not None and self.current.usable(self.pool, self.site_now(),
                                                                self.settings.token_refresh_margin_s)

    def _key_to_prepare(self, keys: Sequence[StreamKey]) -> StreamKey:
        """A service whose page shows the captcha when any polled service needs one (the token is the same)."""
        services = [k.service_id for k in keys] or [0]
        body = self._catalogue_body
        with_captcha = [s for s in services if body is not None and captcha_required(body, s)]
        return StreamKey((with_captcha or services)[0], 1, ())

    async def ensure_ready(self, keys: Sequence[StreamKey]) -> None:
        """A prepared page with a token good for the renewal margin; renewed (one preparation) otherwise."""
        if self.ready():
            return
        await self.retire()
        prepared = await SitePage.prepare(self._key_to_prepare(keys), self.settings, self.pool, self.budget,
                                          self.book, POLL, self.metrics.observer())
        self.current = prepared
        self.renewals += 1
        self.upkeep_requests += prepared.requests
        catalogue = prepared.flow.capture.latest("offices-and-services/")
        self._catalogue_body = catalogue.body if catalogue else None

    async def retire(self) -> None:
        if self.current is not None:
            await self.current.retire(self.pool)
            self.current = None

    def url(self, key: StreamKey, slots_start: date | None, slots_end: date | None) -> str:
        """The page's own query (start today, end as the page computes it, offices ascending, the token).
        The slots window is the caller's choice (see ``agent/poller.py``)."""
        assert self.current is not None
        today = berlin_day(self.site_now())
        end = page_end_date(today)
        offices = key.office_ids or tuple(self._offices_of(key.service_id))
        params = {
            "startDate": today.isoformat(), "endDate": end.isoformat(),
            "officeIds": ",".join(map(str, sorted(offices))), "serviceIds": str(key.service_id),
            "serviceCounts": str(key.count),
        }
        token = self._token()
        if token:
            params["captchaToken"] = token
        params["slotsStartDate"] = (slots_start or today).isoformat()
        params["slotsEndDate"] = (slots_end or end).isoformat()
        return self.settings.api_url.rstrip("/") + "/available-calendar/?" + urlencode(params)

    def _offices_of(self, service_id: int) -> list[int]:
        body = self._catalogue_body if isinstance(self._catalogue_body, dict) else {}
        return sorted({r["officeId"] for r in body.get("relations", []) if r.get("serviceId") == service_id})

    def _token(self) -> str | None:
        assert self.current is not None
        answer = self.current.flow.capture.latest("captcha-verify/")
        body = answer.body if answer and isinstance(answer.body, dict) else {}
        return body.get("token")

    async def calendar(self, key: StreamKey, keys: Sequence[StreamKey], slots_start: date | None = None,
                       slots_end: date | None = None) -> dict | None:
        """One ``available-calendar/`` request for ``key``, inside the budget. The body, or None for no slots.

        The place in the budget is taken after the page is ready and used at once; if the wait for the
        place aged the token past the margin, the place is given back and the token renewed first."""
        while True:
            await self.ensure_ready(keys)
            place = await self.budget.acquire(POLL)
            if self.ready():
                break
            self.budget.refund(place)
        current = self.current
        assert current is not None
        current.gate.prepaid = 1
        try:
            answer = await current.page.evaluate(POLL_SCRIPT, self.url(key, slots_start, slots_end))
        finally:
            current.gate.prepaid = 0
        self.polls += 1
        current.pooled.uses += 1
        site_time = _date_header(answer.get("date"))
        if site_time is not None:
            self.site_offset = site_time - time.time()
        status, body = int(answer["status"]), answer.get("body")
        what = meaning(status, body)
        if what is SiteMeaning.OK and isinstance(body, dict):
            return body
        if what is SiteMeaning.NO_SLOTS:
            return None
        if what is SiteMeaning.CAPTCHA_REFUSED:
            await self.retire()
            raise SiteTrouble(Trouble.TOKEN, f"the site refused the captcha token ({describe(status, body)})")
        if what is SiteMeaning.FAILURE:
            current.pooled.failed = True
        trouble = {SiteMeaning.RATE_LIMITED: Trouble.RATE_LIMITED, SiteMeaning.MAINTENANCE: Trouble.MAINTENANCE,
                   SiteMeaning.BLOCKED: Trouble.BLOCKED}.get(what, Trouble.SITE_ERROR)
        raise SiteTrouble(trouble, describe(status, body))


def page_end_date(today: date) -> date:
    """The ``endDate`` the city's page sends: ``new Date(year, month + 6, day)`` with JavaScript's overflow
    (2026-08-31 → 2027-02-31 → 2027-03-03)."""
    index = today.month - 1 + 6
    first = date(today.year + index // 12, index % 12 + 1, 1)
    return first + timedelta(days=today.day - 1)


def _date_header(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
