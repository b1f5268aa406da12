"""When do slots appear? Learned from observations, used to poll densely then and sparsely otherwise.

Every slot's first-seen time (the site's clock, from its ``Date`` header when
the page can read it) is counted per hour of the week (Europe/Berlin). Hours
that clearly stand out are "hot": polls there run at the full budget, other
hours at a fraction of it. Nothing learned yet → an even middle rate. The
density never exceeds 1.0, so the rate budget's promise holds in every
window; the density only decides how much of it polls use.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from flows.timezone import BERLIN

from .models import Observation

HOURS_PER_WEEK = 168
DAY_NAMES = ["Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"]


def hour_of_week(unix: float) -> int:
    moment = datetime.fromtimestamp(unix, BERLIN)
    return moment.weekday() * 24 + moment.hour


def describe_hour(hour: int) -> str:
    return f"{DAY_NAMES[hour // 24]} {hour % 24:02d}:00–{hour % 24:02d}:59"


@dataclass(frozen=True)
class ReleasePattern:
    counts: dict[int, int]  # hour of week -> slots first seen then
    hot: frozenset[int]
    observations: int

    HOT_DENSITY = 1.0
    COLD_DENSITY = 0.3
    UNKNOWN_DENSITY = 0.6

    def density(self, unix: float) -> float:
        """Share of the poll budget to use at this moment."""
        if not self.hot:
            return self.UNKNOWN_DENSITY
        hour = hour_of_week(unix)
        # the hour before a hot hour is warm too: releases come on the minute
        if hour in self.hot or (hour + 1) % HOURS_PER_WEEK in self.hot:
            return self.HOT_DENSITY
        return self.COLD_DENSITY

    def seconds_to_window(self, unix: float) -> float | None:
        """Seconds until the next release window (a hot hour, or the hour before it) begins; 0 inside one;
        None while nothing has been learned. The rate budget takes its quiet gaps outside these windows."""
        if not self.hot:
            return None
        if self.density(unix) == self.HOT_DENSITY:
            return 0.0
        moment = datetime.fromtimestamp(unix, BERLIN)
        into_hour = moment.minute * 60 + moment.second + moment.microsecond / 1e6
        start = unix - into_hour
        for hours_ahead in range(1, HOURS_PER_WEEK + 1):
            if self.density(start + hours_ahead * 3600) == self.HOT_DENSITY:
                return start + hours_ahead * 3600 - unix
        return None


def learn(first_seen: list[float], min_observations: int = 5) -> ReleasePattern:
    counts = Counter(hour_of_week(t) for t in first_seen)
    if len(first_seen) < min_observations or not counts:
        return ReleasePattern(dict(counts), frozenset(), len(first_seen))
    values = [counts.get(h, 0) for h in range(HOURS_PER_WEEK)]
    mean = statistics.fmean(values)
    spread = statistics.pstdev(values)
    threshold = max(2.0, mean + 2 * spread)
    hot = frozenset(h for h, n in counts.items() if n >= threshold)
    return ReleasePattern(dict(counts), hot, len(first_seen))


def learn_from_db(sessions: sessionmaker[Session], service_id: int | None = None) -> ReleasePattern:
    with sessions() as session:
        query = select(Observation.first_seen)
        if service_id is not None:
            query = query.where(Observation.service_id == service_id)
        return learn(list(session.scalars(query)))
