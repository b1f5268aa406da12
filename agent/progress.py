"""Live progress of a booking attempt on the terminal (rich), as a BookingObserver."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console

from flows.booking import BookingObserver
from flows.timezone import BERLIN

from .names import Names

STEP_NAMES = {
    "open": "opened the booking page",
    "service": "service, count and captcha done",
    "calendar": "calendar read",
    "reserve": "slot reserved",
    "contact": "contact details sent",
    "preconfirm": "reservation confirmed by the site",
}


class ConsoleProgress(BookingObserver):
    def __init__(self, console: Console, names: Names | None = None) -> None:
        self.console = console
        self.names = names or Names()  # offices by name, as the person chose them

    def step_done(self, name: str, seconds: float) -> None:
        self.console.print(f"  [green]✓[/] {STEP_NAMES.get(name, name)} [dim]({seconds:.2f} s)[/]")

    def step_failed(self, name: str, seconds: float) -> None:
        self.console.print(f"  [red]✗[/] step {name!r} did not complete [dim]({seconds:.2f} s)[/]")

    def reserving(self, office_id: int, slot_ts: int, reservation_minutes: int) -> None:
        when = datetime.fromtimestamp(slot_ts, BERLIN).strftime("%a %d.%m. %H:%M")
        self.console.print(f"  … reserving {when} at {self.names.office(office_id)}")

    def reserved(self, process: dict) -> None:
        self.console.print(f"  [green]✓[/] held as process {process.get('processId')}")

    def slot_taken(self, office_id: int, slot_ts: int) -> None:
        self.console.print("  [yellow]![/] someone else was faster; trying the next matching slot")

    def note(self, message: str) -> None:
        self.console.print(f"  [dim]{message}[/]")
