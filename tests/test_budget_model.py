"""The rate budget against the city's limiter: a counter whose TTL is refreshed by every counted request.

The replica's ``RateLimiter`` has the city's semantics (``RateLimitingMiddleware.php``); these tests drive
the agent's budget and that limiter with one fake clock, so hours of traffic take milliseconds.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest

from agent.budget import BOOKING, POLL, BudgetConfig, CircuitOpen, RateBudget
from agent.budget_ledger import FileLedger, ledger_path
from replica.ratelimit import RateLimiter


class FakeClock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


class SiteClock:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock

    def now(self) -> float:
        return self.clock.now


async def drive(budget: RateBudget, limiter: RateLimiter, clock: FakeClock, seconds: float, kind: str = POLL,
                every: float = 0.0) -> tuple[int, int]:
    """Send as fast as the budget allows (plus ``every`` between sends) for ``seconds`` of fake time;
    (sent, refused by the site)."""
    sent = refused = 0
    end = clock.now + seconds
    while clock.now < end:
        task = asyncio.ensure_future(budget.acquire(kind))
        while not task.done():
            await asyncio.sleep(0)
            if not task.done():
                clock.now += 0.25  # time passes only while the budget holds us
                budget.wake()
        if task.exception() is not None:
            assert isinstance(task.exception(), CircuitOpen)
            return sent, refused  # the site refused earlier and the circuit holds: the run is over
        decision = limiter.hit("127.0.0.1")
        budget.observe(200 if decision.allowed else 429, decision.headers())
        sent += 1
        refused += not decision.allowed
        clock.now += every
    return sent, refused


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_budget(clock: FakeClock, ledger=None, **config) -> RateBudget:
    return RateBudget(BudgetConfig(**config), ledger=ledger, clock=clock)


async def test_steady_polling_is_never_refused_by_a_ttl_refreshing_limiter(clock) -> None:
    """Six per minute, for an hour of site time: a sliding window alone reaches 60 after ten minutes."""
    budget = make_budget(clock)
    limiter = RateLimiter(SiteClock(clock), limit=60, window_s=60)
    sent, refused = await drive(budget, limiter, clock, 3600, every=10)  # polls spread evenly, as the watcher does
    assert refused == 0
    assert sent > 250  # the quiet gaps cost about one minute in eight, not the hour


async def test_a_budget_without_quiet_gaps_would_be_refused(clock) -> None:
    """The same traffic without the counter model (threshold out of reach) meets the 429: the test can fail."""
    budget = make_budget(clock)
    budget.config = BudgetConfig(site_limit=10_000)  # the model no longer sees the limit coming
    limiter = RateLimiter(SiteClock(clock), limit=60, window_s=60)
    _, refused = await drive(budget, limiter, clock, 900, every=10)
    assert refused > 0


async def test_the_quiet_gap_keeps_room_for_a_booking(clock) -> None:
    budget = make_budget(clock)
    limiter = RateLimiter(SiteClock(clock), limit=60, window_s=60)
    while budget.quiet_until()[0] == 0:
        await drive(budget, limiter, clock, 1, every=10)
    until, why = budget.quiet_until()
    assert "counter" in why and until > clock.now
    assert budget.site_count() == budget.quiet_threshold
    sent, refused = await drive(budget, limiter, clock, 5, kind=BOOKING)  # a booking during the gap
    assert refused == 0 and sent >= budget.config.booking_burst
    assert budget.state()["quietUntil"] is not None


async def test_the_sites_headers_correct_the_model(clock) -> None:
    """Someone else on the IP (the person's own browser) spent 40: the site says so, the agent believes it."""
    budget = make_budget(clock)
    await budget.acquire(POLL)
    budget.observe(200, {"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "15",
                         "X-RateLimit-Reset": str(int(clock.now) + 60)})
    assert budget.site_count() == 45
    assert budget.quiet_until()[0] > clock.now


async def test_the_sites_reset_is_read_on_its_own_clock(clock) -> None:
    """A site whose TTL is ten minutes and whose clock is an hour behind: the gap lasts ten minutes."""
    from email.utils import formatdate

    budget = make_budget(clock)
    await budget.acquire(POLL)
    site_now = clock.now - 3600
    budget.observe(200, {"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "10",
                         "X-RateLimit-Reset": str(int(site_now) + 600), "Date": formatdate(site_now, usegmt=True)})
    until, _ = budget.quiet_until()
    assert 599 <= until - clock.now <= 602


async def test_a_release_window_ahead_takes_the_gap_early(clock) -> None:
    budget = make_budget(clock)
    limiter = RateLimiter(SiteClock(clock), limit=60, window_s=60)
    await drive(budget, limiter, clock, 120, every=10)  # a counter well above the per-window rate
    assert budget.quiet_until()[0] == 0
    budget.release_hint = lambda now: 50.0
    until, why = budget.quiet_until()
    assert until > clock.now and "release window" in why
    budget.release_hint = lambda now: 0.0  # inside the window: no early gap
    assert budget.quiet_until()[0] == 0


def test_processes_share_one_ledger(tmp_path) -> None:
    """Two processes spend one budget: the second sees the first one's places in the shared books."""
    path = ledger_path(tmp_path, "http://127.0.0.1:8123/api/citizen")
    script = (
        "import asyncio, sys\n"
        "from agent.budget import RateBudget, BudgetConfig\n"
        "from agent.budget_ledger import FileLedger\n"
        "b = RateBudget(BudgetConfig(requests=6, window_s=600), ledger=FileLedger(__import__('pathlib').Path(sys.argv[1])))\n"
        "async def main():\n"
        "    for _ in range(4):\n"
        "        await b.acquire('poll')\n"
        "asyncio.run(main())\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=60)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    books = json.loads(path.read_text())
    assert len(books["sent"]) == 4 and books["site_count"] == 4
    budget = RateBudget(BudgetConfig(requests=6, window_s=600), ledger=FileLedger(path))

    async def two_more_then_wait() -> bool:
        await budget.acquire(POLL)
        await budget.acquire(POLL)
        try:
            await asyncio.wait_for(budget.acquire(POLL), timeout=1.5)
        except asyncio.TimeoutError:
            return True
        return False

    assert asyncio.run(two_more_then_wait())  # 4 + 2 = 6: the seventh waits for the window
    assert budget.state()["siteCounter"] == 6


def test_a_broken_ledger_file_starts_empty_books(tmp_path) -> None:
    path = tmp_path / "budget" / "site.json"
    ledger = FileLedger(path)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with ledger.hold() as books:
        assert books.sent == []
    assert os.path.exists(ledger.lock_path)
