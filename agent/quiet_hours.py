"""Quiet hours: one reading of ``HH:MM-HH:MM`` (Munich time) for the setting, ``/quiet`` and the notice policy."""

from __future__ import annotations

import re
from datetime import datetime
from datetime import time as clock_time

from flows.timezone import BERLIN

Window = tuple[clock_time, clock_time]
QUIET_HOURS_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")


def parse_quiet_hours(text: str) -> Window | None:
    """``HH:MM-HH:MM`` (Munich time; may wrap past midnight) → the window; "" → none. ValueError otherwise."""
    text = text.strip()
    if not text:
        return None
    if not QUIET_HOURS_RE.match(text):
        raise ValueError("expected HH:MM-HH:MM (Munich time), e.g. 22:00-07:00")
    start, end = text.split("-")
    if start == end:
        raise ValueError("the quiet hours start and end at the same time; leave them empty for none")
    return clock_time.fromisoformat(start), clock_time.fromisoformat(end)


def is_quiet(window: Window | None, unix: float) -> bool:
    """Whether ``unix`` falls in the quiet window (which may wrap past midnight; never empty, see above)."""
    if window is None:
        return False
    start, end = window
    now = datetime.fromtimestamp(unix, BERLIN).time()
    return start <= now < end if start < end else (now >= start or now < end)
