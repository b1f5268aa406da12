"""The release-pattern analyzer learns when slots appear, from the site's clock, and polls densely then."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta

import pytest

from agent.budget import BudgetConfig, RateBudget
from agent.db import open_database
from agent.patterns import hour_of_week, learn
from flows.timezone import BERLIN
from tests.agent_helpers import agent_env
from tests.watch_helpers import add, running_watcher, watcher_settings

pytestmark = pytest.mark.browser


def _a_monday_ahead() -> datetime:
    """A Monday 05:00 Munich time about a year ahead: the replica's clock is never set before wall time."""
    day = datetime.now(BERLIN).date() + timedelta(days=365)
    day += timedelta(days=(7 - day.weekday()) % 7)
    return datetime(day.year, day.month, day.day, 5, 0, tzinfo=BERLIN)


MONDAY = _a_monday_ahead()
STEPS = ["06:00", "06:30", "07:00", "07:30", "08:00", "08:30", "09:00", "12:00", "16:00", "20:00"]


def test_learning_needs_a_clear_signal() -> None:
    assert learn([]).hot == frozenset()
    monday_7 = MONDAY.replace(hour=7, minute=30).timestamp()
    scattered = [monday_7 + k * 3600 * 13 for k in range(20)]
    assert learn(scattered).hot == frozenset()  # no hour stands out
    weekly = [monday_7 + week * 7 * 86400 + i for week in range(3) for i in range(3)]
    assert learn(weekly).hot == {hour_of_week(monday_7)}


async def test_weekday_releases_at_0730_are_learned_over_two_simulated_weeks(server, replica, tmp_path) -> None:
    replica.set_captcha_required(False)
    replica.clock.set(MONDAY)
    replica.clock.freeze()
    replica.schedule_weekly([0, 1, 2, 3, 4], "07:30", 10489, count=3, weeks=2, slot_days_ahead=7,
                            vanish_after_s=1200)
    settings = watcher_settings(server, tmp_path, budget_requests=50, budget_window_s=1.0, site_limit=1000,
                                site_window_s=1.0)
    sessions = open_database(settings.database_url)
    add(sessions, replica, 1, [10489], service=1063475, mode="notify")
    async with running_watcher(settings, sessions, schedule=False) as (watcher, _):
        [key] = watcher.queries
        for day in range(14):
            for step in STEPS:
                hh, mm = map(int, step.split(":"))
                replica.clock.set(MONDAY.replace(hour=hh, minute=mm) + timedelta(days=day))
                await watcher.poll_once(key)
        await watcher.relearn()
        pattern = watcher.pattern
        watcher.budget = RateBudget(BudgetConfig())  # the default: 6 requests per minute
        hot_time = MONDAY.replace(hour=7, minute=10).timestamp()
        quiet_time = MONDAY.replace(hour=14).timestamp()
        dense, sparse = watcher.interval(hot_time), watcher.interval(quiet_time)
    weekday_0700 = {d * 24 + 7 for d in range(5)}
    assert pattern.hot == weekday_0700
    assert dense < sparse  # polls more often in the learned window
    assert (dense, sparse) == pytest.approx((12.5, 12.5 / 0.3))  # 6/min × 80 % poll share, ×1.0 vs ×0.3
    per_second = watcher.budget.config.requests / watcher.budget.config.window_s
    assert len(watcher.queries) / dense <= per_second * settings.poll_share + 1e-9  # never above the budget

    shown = subprocess.run([sys.executable, "-m", "agent.cli", "patterns"], capture_output=True, text=True,
                           env={**os.environ, **agent_env(server, tmp_path)}, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert "Mo 07:00" in shown.stdout and "Fr 07:00" in shown.stdout and "Sa 07:00" not in shown.stdout
