"""What ``mta run`` shows while it works: a live table on a terminal, timestamped lines otherwise.

Both read the service's status (``AgentService.status()``): per query its state, the last answered check,
the next check and the free slots it saw; the rate budget (our window, the site's counter, a quiet gap or the
open circuit). Every time is Munich time, HH:MM:SS.
"""

from __future__ import annotations

import time
from datetime import datetime

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from flows.timezone import BERLIN

STATE_WORDS = {
    "starting": "starting",
    "watching": "watching",
    "booking": "booking…",
    "rate_limited": "paused: site limit",
    "quiet": "quiet gap",
    "site_error": "site trouble",
    "token": "new captcha",
    "handoff": "needs you",
}


def clock(unix: float | None) -> str:
    return datetime.fromtimestamp(unix, BERLIN).strftime("%H:%M:%S") if unix else "–"


def budget_text(state: dict) -> str:
    """ "budget 3/6 in 60 s · site counter 12/60 · quiet until 07:41:12 (…)" """
    text = (f"budget {state['inWindow']}/{state['limit']} in {state['windowSeconds']:g} s · site counter "
            f"{state['siteCounter']}/{state['siteLimit']}")
    if state["circuit"] == "open":
        text += f" · rate limited until {clock(state['openUntil'])} ({state['reason']})"
    elif state["quietUntil"]:
        text += f" · quiet until {clock(state['quietUntil'])} ({state['quietReason']})"
    else:
        text += " · circuit closed"
    return text


def waiting_for_budget(query: dict, budget: dict, now: float) -> bool:
    """Due, but the budget has no place for a poll yet (other polls, a booking, another mta process)."""
    return (query["status"] in ("starting", "watching") and (query.get("nextPoll") or 0) <= now
            and budget.get("nextPlace", 0) > now + 0.5)


def next_check(query: dict, budget: dict, now: float) -> str:
    if query["status"] == "booking":
        return "after booking"
    if waiting_for_budget(query, budget, now):
        return clock(budget["nextPlace"])
    due = query.get("nextPoll") or 0
    return clock(due) if due > now else "now"


def state_word(query: dict, budget: dict, now: float) -> str:
    if waiting_for_budget(query, budget, now):
        return "waiting: budget"
    return STATE_WORDS.get(query["status"], query["status"])


def slots_text(query: dict) -> str:
    return "–" if not query.get("lastOk") else str(query.get("slotsSeen", 0))


def booking_lines(status: dict) -> list[str]:
    """The latest bookings of this run: they end a watch's query, so they are said here."""
    return [f"booking attempt {b['attempt']} for watch {b['watch']}: {b['outcome']} (mta attempts)"
            for b in status.get("bookings", [])]


NO_WATCH = "no active watch (mta watch list says why: booked, paused or expired)"


def plain_lines(status: dict, now: float | None = None) -> list[str]:
    """The status as lines for a log or a pipe: the budget first, then one line per query."""
    now = time.time() if now is None else now
    lines = [f"{clock(now)} {budget_text(status['budget'])}" + (" · booking in flight" if status.get("booking")
                                                               else "")]
    for q in status["queries"]:
        detail = f" ({q['detail']})" if q.get("detail") else ""
        lines.append(f"  {q.get('label') or q['stream']}: {state_word(q, status['budget'], now)}{detail}; "
                     f"last check {clock(q.get('lastOk'))}, next {next_check(q, status['budget'], now)}, "
                     f"{slots_text(q)} free slot(s) seen, {q['polls']} polls")
    if not status["queries"]:
        lines.append(f"  {NO_WATCH}")
    lines += [f"  {line}" for line in booking_lines(status)]
    return lines


def live_view(status: dict, now: float | None = None) -> RenderableType:
    """The status as a table that fits 80 columns: one row per query, the budget above, details below."""
    now = time.time() if now is None else now
    head = Text.assemble((f"{clock(now)} ", "bold"), budget_text(status["budget"]))
    if status.get("booking"):
        head.append(" · booking in flight", style="bold yellow")
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), expand=False, pad_edge=False)
    table.add_column("query", overflow="fold", ratio=1, min_width=16)
    table.add_column("state", no_wrap=True, max_width=18)
    table.add_column("last ok", no_wrap=True)
    table.add_column("next", no_wrap=True)
    table.add_column("slots", justify="right", no_wrap=True)
    details = []
    for q in status["queries"]:
        table.add_row(q.get("label") or q["stream"], state_word(q, status["budget"], now), clock(q.get("lastOk")),
                      next_check(q, status["budget"], now), slots_text(q))
        if q.get("detail"):
            details.append(Text(f"{q.get('label') or q['stream']}: {q['detail']}", style="dim", overflow="fold"))
    if not status["queries"]:
        details.append(Text(NO_WATCH))
    details += [Text(line) for line in booking_lines(status)]
    footer = Text("Ctrl-C stops; a booking in flight finishes first", style="dim")
    return Group(head, *([table] if status["queries"] else []), *details, footer)
