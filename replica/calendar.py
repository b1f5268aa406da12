"""How the city's backend answers ``available-calendar/`` (spec §3b).

A pure function of the bookable slots and the query, so each rule can be
tested on its own. Source: it-at-m/eappointment (branch ``next``),
``zmsbackend/src/Zmsbackend/Calendar/Service/CalendarAvailability.php``
(``resolveSlotsDateRange``, ``resolveResponseDaysRange``,
``narrowSlotsWindowToFirstBookableDay``, the lead-time branch of
``readFromQuery`` and ``findAdjacentBookableDatesByScan``);
``docs/replica-contract.md`` lists the rules with their line ranges.

1. The slots window defaults to ``[startDate, endDate]`` and is clamped to it;
   a window entirely outside the range becomes the nearer end day.
2. Days are listed for the *painted* month(s) only: first day of the window's
   first month to the last day of its last month, clamped to the range.
3. Free times come for one day: the first bookable day inside a multi-day
   window; for a single-day window whose day is not bookable, the first
   bookable day of the painted month. The answer's window is narrowed to it.
4. Lead time: painted month(s) without any bookable day snap to the first
   bookable day after them, and that day's month is painted instead.
5. ``prev/nextBookableDate``: the nearest bookable day before / after the
   painted range, inside ``[startDate, endDate]``; ``null`` when none.
"""

from __future__ import annotations

import calendar as _months
from datetime import date


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def last_of_month(day: date) -> date:
    return day.replace(day=_months.monthrange(day.year, day.month)[1])


def clamp_window(start: date, end: date, slots_start: date, slots_end: date) -> tuple[date, date]:
    """Rule 1 (``resolveSlotsDateRange``): clamp into the range; no overlap → the nearer end day."""
    lo, hi = max(slots_start, start), min(slots_end, end)
    if lo > hi:
        lo = hi = start if slots_end < start else end
    return lo, hi


def painted_range(start: date, end: date, lo: date, hi: date) -> tuple[date, date]:
    """Rule 2 (``resolveResponseDaysRange``): whole months around the window, clamped to the range."""
    first, last = max(first_of_month(lo), start), min(last_of_month(hi), end)
    return (first, last) if first <= last else (lo, hi)


def available_calendar(
    by_day: dict[date, dict[int, list[int]]],
    start: date,
    end: date,
    slots_start: date,
    slots_end: date,
) -> dict:
    """The answer for bookable ``by_day`` (day → officeId → unix seconds), already limited to the
    requested offices. The caller raises ``noAppointmentForThisScope`` when ``by_day`` is empty."""
    bookable = sorted(d for d in by_day if start <= d <= end)
    lo, hi = clamp_window(start, end, slots_start, slots_end)
    first, last = painted_range(start, end, lo, hi)
    painted = [d for d in bookable if first <= d <= last]
    if not painted:  # rule 4: lead time
        later = [d for d in bookable if d >= first]
        if later:
            lo = hi = later[0]
            first, last = painted_range(start, end, lo, hi)
            painted = [d for d in bookable if first <= d <= last]
    if lo == hi:  # rule 3, single day (a miss moves to the painted month's first bookable day)
        slot_day = lo if lo in painted else (painted[0] if painted else None)
    else:
        slot_day = next((d for d in painted if lo <= d <= hi), None)
    if slot_day is not None:
        lo = hi = slot_day
    before = [d for d in bookable if d < first]
    after = [d for d in bookable if d > last]
    days = []
    for day in painted:
        offices = by_day[day]
        days.append({
            "date": day.isoformat(),
            "providerIDs": ",".join(str(o) for o in sorted(offices)),
            "offices": [{"officeId": str(o), "appointments": sorted(offices[o])} for o in sorted(offices)]
            if day == slot_day else [],
        })
    return {
        "startDate": start.isoformat(),
        "endDate": end.isoformat(),
        "slotsStartDate": lo.isoformat(),
        "slotsEndDate": hi.isoformat(),
        "prevBookableDate": before[-1].isoformat() if before else None,
        "nextBookableDate": after[0].isoformat() if after else None,
        "availableDays": days,
    }
