"""``mta demo``: the whole data path against the local replica, in about a minute.

Starts the replica, creates a watch, releases slots on a script (the first one
is taken by "someone else" the moment the agent asks for it), lets the agent
poll under its rate budget, auto-book on its warm page, then acts as the
person and activates the appointment from the replica's outbox, and ends with
a summary. Time is compressed in the rate windows only (10 s instead of 60 s,
for the site's limit and the agent's budget alike, same request counts), so the
demo shows a minute's worth of politeness in seconds.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from playwright.async_api import async_playwright
from rich.console import Console
from rich.table import Table

from flows.follow_up import activate
from flows.request import Contact
from replica.page import PAGE_PATH
from replica.server import ReplicaServer
from replica.settings import ReplicaSettings
from replica.site import Replica

from .browser import launch_chromium, new_site_context
from .config import Settings
from .db import open_database
from .notifier import MemoryNotifier, Notice
from .runner import selector_book
from .service import AgentService
from .watcher import Watcher
from .watches import add_watch

DEMO_PERSON = Contact("Erika", "Mustermann", "erika.demo@example.org")


class EchoNotifier(MemoryNotifier):
    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console

    async def send(self, notice: Notice) -> None:
        await super().send(notice)
        self.console.print(f"  [bold magenta]notify →[/] {notice.text}")


async def run_demo(console: Console, seconds: float = 75.0) -> int:
    replica = Replica(ReplicaSettings(rate_window_s=10))  # the site's 60/60 s limit, compressed like the budget
    replica.set_captcha_required(True)
    with ReplicaServer(replica) as server, tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            booking_url=server.base_url + PAGE_PATH, api_url=server.api_url,
            data_dir=Path(tmp), database_url=f"sqlite:///{Path(tmp) / 'demo.db'}", recordings_dir=Path(tmp) / "recordings",
            budget_requests=6, budget_window_s=10.0, site_limit=60, site_window_s=10.0, warm_check_s=2.0,
            metrics_port=-1,  # the demo may run beside a real agent
        )
        console.print(f"[bold]Replica[/] of the city's booking site on {server.base_url} (real ALTCHA)")
        console.print(f"[bold]Time is compressed[/] in the rate windows only: {settings.budget_window_s:g} s stand "
                      f"for a minute. The agent's budget, {settings.budget_requests} requests per "
                      f"{settings.budget_window_s:g} s, stands for the default {settings.budget_requests} per "
                      f"minute; the site's limit, {replica.settings.rate_limit} per {replica.settings.rate_window_s} s, "
                      f"for its {replica.settings.rate_limit} per minute. A booking may use "
                      f"{settings.budget_booking_burst} more requests in its window (MTA_BUDGET_BOOKING_BURST).")
        sessions = open_database(settings.database_url)
        today = replica.clock.now_berlin().date()
        watch_id = add_watch(sessions, DEMO_PERSON, 1063453, [102522, 102523], today, today + timedelta(days=30),
                             time_from="08:00", time_to="12:00")
        console.print(f"[bold]Watch {watch_id}[/]: Reisepass at Orleansplatz or Leonrodstraße, next 30 days, "
                      "08:00–12:00, auto-book")
        notifier = EchoNotifier(console)
        started = time.monotonic()
        releases: list[tuple[float, str]] = []
        async with AgentService(settings, notifier, sessions=sessions) as agent:
            watcher = agent.watcher
            assert watcher is not None
            script = asyncio.ensure_future(_release_script(replica, console, releases))
            booked_at = None
            with console.status("watching…") as status:
                while time.monotonic() - started < seconds:
                    await asyncio.sleep(0.5)
                    state = "; ".join(f"{s['stream']}: {s['status']} ({s['polls']} polls)" for s in watcher.status())
                    budget = agent.budget.state()
                    status.update(f"{time.monotonic() - started:4.0f}s  {state}  budget {budget['inWindow']}/"
                                  f"{settings.budget_requests} per {settings.budget_window_s:g} s (compressed), "
                                  f"circuit {budget['circuit']}")
                    if any(b["outcome"] == "reserved" for b in watcher.stats.bookings):
                        booked_at = time.monotonic()
                        break
            script.cancel()
        async with async_playwright() as playwright:
            confirmed = await _activate_as_person(replica, settings, console, playwright) if booked_at else False
        return _summary(console, replica, settings, watcher, releases, started, confirmed)


async def _release_script(replica: Replica, console: Console, releases: list[tuple[float, str]]) -> None:
    from datetime import datetime, time as dtime

    from flows.timezone import BERLIN

    day = replica.clock.now_berlin().date() + timedelta(days=3)
    at = lambda h, m: int(datetime.combine(day, dtime(h, m), BERLIN).timestamp())  # noqa: E731
    await asyncio.sleep(12)
    replica.take_slot_before_next_reserve()
    replica.desk.add_slots(102522, [at(9, 0)])
    releases.append((replica.clock.now(), "taken"))
    console.print("  [yellow]site:[/] 1 slot released at Orleansplatz (someone else will be faster)")
    await asyncio.sleep(14)
    replica.desk.add_slots(102523, [at(10, 30), at(10, 40)])
    releases.append((replica.clock.now(), "free"))
    console.print("  [yellow]site:[/] 2 slots released at Leonrodstraße")


async def _activate_as_person(replica: Replica, settings: Settings, console: Console, playwright) -> bool:
    mail = replica.outbox.latest_for(DEMO_PERSON.email)
    if mail is None:
        return False
    console.print("  [cyan]person:[/] opens the activation link from the city's e-mail")
    browser = await launch_chromium(playwright, settings)
    try:
        page = await (await new_site_context(browser)).new_page()
        outcome = await activate(page, selector_book(settings), settings.api_url, mail.link)
    finally:
        await browser.close()
    console.print(f"  [green]{outcome.kind.value}[/]: {outcome.reason}")
    return outcome.kind.value == "confirmed"


def _summary(console: Console, replica: Replica, settings: Settings, watcher: Watcher,
             releases: list[tuple[float, str]], started: float, confirmed: bool) -> int:
    log = replica.requests.all()
    span = max(1.0, (log[-1].time - log[0].time)) if log else 1.0
    windows = span / settings.budget_window_s
    reserve = next((r for r in log if r.path.endswith("/reserve-appointment/") and r.status == 200), None)
    free_release = next((t for t, kind in releases if kind == "free"), None)
    table = Table(title="Demo summary")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("duration", f"{time.monotonic() - started:.0f} s")
    table.add_row("polls (in-page available-calendar/)", str(watcher.stats.polls))
    table.add_row("requests to the site's API", str(len(log)))
    table.add_row(f"budget (compressed: {settings.budget_window_s:g} s stand for a minute)",
                  f"{settings.budget_requests} per {settings.budget_window_s:g} s (+{settings.budget_booking_burst} "
                  "for a booking)")
    table.add_row(f"requests per {settings.budget_window_s:g}-s window (mean, bookings included)",
                  f"{len(log) / windows:.1f}")
    table.add_row("booking attempts", ", ".join(b["outcome"] for b in watcher.stats.bookings) or "none")
    if reserve and free_release:
        table.add_row("release → reserved", f"{reserve.time - free_release:.1f} s")
    latencies = [b["detectionToReserved"] for b in watcher.stats.bookings if b.get("detectionToReserved")]
    if latencies:
        table.add_row("detection → reserved (warm page)", f"{statistics.median(latencies):.2f} s")
    table.add_row("appointment", "confirmed" if confirmed else "not booked")
    console.print(table)
    console.print(f"The mean may exceed {settings.budget_requests}: polls keep to {settings.budget_requests} per "
                  f"window, and the window with the booking may hold up to {settings.budget_booking_burst} more "
                  "(the booking page's own requests, so a found slot is never left waiting). At the default "
                  f"settings the same counts apply per minute.")
    return 0 if confirmed else 1
