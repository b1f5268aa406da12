"""The API capture's marks: an answer belongs to the request that asked for it, not to when it arrived.

CI once failed this way: the site refused a captcha token, the flow opened the service page again, and
the old document's ``captcha-details/`` request — cut off by that navigation, answered late and with an
unreadable body — was taken for the new page's answer ("the site failed (captcha-details/ answered
200)"). Real Chromium, a routed API whose first answer is held back until after the mark.
"""

from __future__ import annotations

import asyncio
import json

from playwright.async_api import Page, Route

from flows.network import ApiCapture

API = "http://api.test/api/citizen/"


class HeldAnswers:
    """A routed API on a blank page whose n-th request is answered ``{"n": n}`` when the test releases it."""

    def __init__(self) -> None:
        self.released: dict[int, asyncio.Event] = {}
        self.served = 0

    def release(self, number: int) -> None:
        self.released.setdefault(number, asyncio.Event()).set()

    async def _answer(self, route: Route) -> None:
        self.served += 1
        number = self.served
        await self.released.setdefault(number, asyncio.Event()).wait()
        await route.fulfill(status=200, content_type="application/json", body=json.dumps({"n": number}))

    async def open(self, page: Page, timeout: float = 10) -> ApiCapture:
        await page.route(API + "**", self._answer)
        await page.route("http://site.test/**", lambda route: route.fulfill(body="<p>site</p>",
                                                                           content_type="text/html"))
        await page.goto("http://site.test/")
        return ApiCapture(page, API, timeout=timeout)


async def until(condition) -> None:
    while not condition():
        await asyncio.sleep(0.01)


async def ask(page: Page, endpoint: str) -> None:
    await page.evaluate(f"() => {{ fetch('{API}{endpoint}'); }}")  # not awaited by the page


async def test_a_late_answer_to_an_earlier_request_is_not_the_next_answer(page: Page) -> None:
    api = HeldAnswers()
    capture = await api.open(page)
    await ask(page, "captcha-details/")
    await until(lambda: api.served == 1)
    mark = capture.mark()  # the first request is out, unanswered
    await ask(page, "captcha-details/")
    await until(lambda: api.served == 2)
    api.release(1)  # the earlier request's answer arrives after the mark ...
    await until(lambda: len(capture.answers) == 1)
    api.release(2)  # ... and before the answer to the request sent after it
    await until(lambda: len(capture.answers) == 2)

    assert [a.body for a in capture.answers] == [{"n": 1}, {"n": 2}]  # arrival order
    assert (await capture.next("captcha-details/", mark)).body == {"n": 2}
    assert [a.body for a in capture.since(mark)] == [{"n": 2}]
    assert capture.latest("captcha-details/", mark).body == {"n": 2}
    assert len(capture.since(0)) == 2


async def test_a_closed_page_ends_the_wait_at_once(page: Page) -> None:
    """Chromium died (or the page closed) while the flow waited for an answer: the wait ends now, not after
    the capture's timeout, so a held slot is finished with the page's own requests within seconds."""
    from flows.network import PageGone

    other = await page.context.new_page()
    capture = await HeldAnswers().open(other, timeout=60)  # no answer is ever released
    mark = capture.mark()
    await ask(other, "update-appointment/")
    waiting = asyncio.create_task(capture.next("update-appointment/", mark))
    await asyncio.sleep(0.2)
    await other.close()
    try:
        await asyncio.wait_for(waiting, 10)  # the capture's own timeout is 60 s
    except PageGone as gone:
        assert "closed" in str(gone)
    else:
        raise AssertionError("an answer came from a closed page")


async def test_the_latest_answer_is_the_answer_to_the_newest_request(page: Page) -> None:
    """Two requests, the older answered last: ``latest`` is the answer to the newest request (the token and
    catalogue the page asked for last); ``last_arrived`` what a page that paints every answer shows."""
    api = HeldAnswers()
    capture = await api.open(page)
    for _ in range(2):
        await ask(page, "available-calendar/")
    await until(lambda: api.served == 2)
    api.release(2)
    await until(lambda: len(capture.answers) == 1)
    api.release(1)
    await until(lambda: len(capture.answers) == 2)
    assert [a.body for a in capture.answers] == [{"n": 2}, {"n": 1}]  # arrival order
    assert capture.latest("available-calendar/").body == {"n": 2}
    assert capture.last_arrived("available-calendar/").body == {"n": 1}
    assert capture.in_flight["available-calendar/"] == 0
