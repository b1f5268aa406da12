"""Short forms for tables that fit 80 columns: Munich times, date ranges, outcomes."""

from __future__ import annotations

from datetime import date, datetime, timezone

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from flows.timezone import BERLIN

OUTCOME_WORDS = {"no_matching_slot": "no match", "captcha_handoff": "handoff", "rate_limited": "rate limited",
                 "site_changed": "site changed", "site_error": "site error", "slot_taken": "slot taken",
                 "search_limit": "search limit"}


def munich(moment: datetime | None, fmt: str) -> str:
    """A stored moment (UTC; SQLite gives it back without a zone) in Munich time."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(BERLIN).strftime(fmt)


def slot_time(unix: int | None) -> str:
    return datetime.fromtimestamp(unix, BERLIN).strftime("%d.%m. %H:%M") if unix else ""


def short_range(first: str, last: str) -> str:
    """ "01.12.–20.12.26" for ISO dates (the year once, when both share it)."""
    try:
        a, b = date.fromisoformat(first), date.fromisoformat(last)
    except ValueError:
        return f"{first}…{last}"
    return f"{a:%d.%m.}–{b:%d.%m.%y}" if a.year == b.year else f"{a:%d.%m.%y}–{b:%d.%m.%y}"


def outcome_word(outcome: str | None, phase: str) -> str:
    if outcome is None:
        return f"open ({phase})"
    return OUTCOME_WORDS.get(outcome, outcome)


def result_word(outcome: str | None, process_status: str | None) -> str:
    """One word for where an attempt ended up: what became of its appointment when that is known (confirmed,
    cancelled, gone), else its outcome."""
    if outcome is None:
        return "open"
    if outcome in ("reserved", "confirmed") and process_status in ("confirmed", "cancelled", "gone"):
        return process_status
    return OUTCOME_WORDS.get(outcome, outcome)


def narrow_table(*columns: str) -> Table:
    """A table without vertical lines, one space between columns: what fits 80 columns."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=0)  # the box keeps one space
    for name in columns:
        table.add_column(name, no_wrap=name not in WRAPPING, overflow="fold" if name in WRAPPING else "ellipsis")
    return table


WRAPPING = {"offices", "office", "service"}


def record(console: Console, title: str, fields: list[tuple[str, str]]) -> None:
    """One item as a block of labelled lines (``--wide``): every field in full, at any terminal width."""
    console.print(f"[bold]{escape(title)}[/]", highlight=False)
    grid = Table.grid(padding=(0, 2, 0, 0), pad_edge=True)
    grid.add_column(no_wrap=True, style="dim")
    grid.add_column(overflow="fold")
    for label, value in fields:
        grid.add_row(f"  {label}", Text(value))
    console.print(grid, highlight=False)
