"""Commands for the long-running agent: watches, run, patterns."""

from __future__ import annotations

import asyncio
from datetime import date, datetime

import typer
from rich import box
from rich.table import Table

from ..config import get_settings
from . import COUNT_MAX, ID_MAX, app, console, contact_from, fail


watch_app = typer.Typer(help="Watches: what to look for, per person.", no_args_is_help=True)
app.add_typer(watch_app, name="watch")


@watch_app.command("add")
def watch_add(
    service: int = typer.Option(..., min=1, max=ID_MAX, help="service id, e.g. 1063453 (Reisepass)"),
    office: list[int] = typer.Option([], min=1, max=ID_MAX, help="acceptable office id (repeat); default: any "
                                     "office of the service"),
    date_from: datetime = typer.Option(None, "--from", formats=["%Y-%m-%d"], help="first acceptable day "
                                       "(default: today)"),
    date_to: datetime = typer.Option(None, "--to", formats=["%Y-%m-%d"], help="last acceptable day (default: in "
                                     "half a year); the watch expires after it"),
    time_window: str = typer.Option("00:00-23:59", "--time", help="acceptable start times, HH:MM-HH:MM (Munich)"),
    weekdays: str = typer.Option("mo,di,mi,do,fr,sa,so", help="acceptable weekdays, e.g. mo,di,mi (or mon,tue)"),
    count: int = typer.Option(1, min=1, max=COUNT_MAX, help="number of persons / documents"),
    mode: str = typer.Option("auto", help="auto (book) or notify (only tell)"),
    first_name: str = typer.Option(None, help="default: MTA_CONTACT_FIRST_NAME"),
    last_name: str = typer.Option(None, help="default: MTA_CONTACT_LAST_NAME"),
    email: str = typer.Option(None, help="where the city sends the activation link; default: MTA_CONTACT_EMAIL"),
    phone: str = typer.Option(None, help="optional; default: MTA_CONTACT_PHONE"),
) -> None:
    """Add a watch for a person."""
    from flows.request import BookingRequest, InvalidRequest, parse_time_window, parse_weekdays

    from ..db import open_database
    from ..watches import add_watch

    settings = get_settings()
    today = date.today()
    contact = contact_from(first_name, last_name, email, phone)
    try:
        start, end = parse_time_window(time_window)
        days = parse_weekdays(weekdays)
        request = BookingRequest(service_id=service, office_ids=tuple(office), count=count,
                                 date_from=date_from.date() if date_from else today,
                                 date_to=date_to.date() if date_to else date.fromordinal(today.toordinal() + 182),
                                 weekdays=days, time_from=start, time_to=end, contact=contact)
        request.validate(today)
        if mode not in ("auto", "notify"):
            raise InvalidRequest("mode must be auto or notify")
    except InvalidRequest as exc:
        fail(str(exc))
    watch_id = add_watch(open_database(settings.database_url), contact, service, list(office), request.date_from,
                         request.date_to, count=count, weekdays=sorted(days), time_from=f"{start:%H:%M}",
                         time_to=f"{end:%H:%M}", mode=mode)
    console.print(f"watch {watch_id} added; mta run watches it (a running agent picks it up within MTA_REFRESH_S)")


@watch_app.command("list")
def watch_list(wide: bool = typer.Option(False, "--wide", help="every field, full office names and ids")) -> None:
    """List watches (no personal data shown; office names once the agent has read the site's catalogue)."""
    from ..names import load_names
    from ..patterns import DAY_NAMES
    from ..service import AgentService
    from .tables import narrow_table, record, short_range

    settings = get_settings()
    names = load_names(settings.data_dir)
    watches = AgentService(settings).list_watches()
    if not watches:
        console.print("no watches yet: mta watch add --service … (see mta watch add --help)")
        return
    if wide:
        for w in watches:
            offices = "; ".join(f"{names.office(o)} ({o})" for o in w.office_ids) or "any office of the service"
            record(console, f"watch {w.id} · {w.person}", [
                ("service", f"{names.service(w.service_id)} ({w.service_id}) ×{w.count}"),
                ("offices", offices),
                ("dates", f"{w.date_from} … {w.date_to}"),
                ("weekdays", ",".join(DAY_NAMES[d] for d in w.weekdays)),
                ("time", f"{w.time_from}–{w.time_to} (Munich)"),
                ("mode", "auto (books)" if w.mode == "auto" else "notify (only tells)"),
                ("state", w.state + (f" ({w.reason})" if w.reason else "")),
            ])
        return
    table = narrow_table("id", "service", "offices", "dates", "time", "mode", "state")
    for w in watches:
        service = names.service(w.service_id, 14) + (f" ×{w.count}" if w.count > 1 else "")
        offices = "\n".join(names.office(o, 16) for o in w.office_ids) or "any"
        table.add_row(str(w.id), service, offices, short_range(w.date_from, w.date_to), f"{w.time_from}–{w.time_to}",
                      w.mode, w.state)
    console.print(table)
    console.print("--wide for every field, full office names and ids", style="dim")


def _watch_command(action: str, watch_id: int) -> None:
    from ..service import AgentService, UnknownWatch

    async def act():
        agent = AgentService(get_settings())
        if action == "delete":
            await agent.delete(watch_id)
        else:
            await getattr(agent, action)(watch_id)

    try:
        asyncio.run(act())
    except UnknownWatch as exc:
        fail(str(exc))
    except ValueError as exc:
        fail(str(exc))
    done = {"pause": "paused", "resume": "resumed", "delete": "deleted"}[action]
    console.print(f"watch {watch_id} {done} (a running agent picks this up within MTA_REFRESH_S)")


@watch_app.command("pause")
def watch_pause(watch_id: int = typer.Argument(..., min=1, max=ID_MAX, help="watch id (see mta watch list)")) -> None:
    """Pause a watch: it is not polled or booked until resumed."""
    _watch_command("pause", watch_id)


@watch_app.command("resume")
def watch_resume(watch_id: int = typer.Argument(..., min=1, max=ID_MAX, help="watch id (see mta watch list)")) -> None:
    """Resume a paused watch."""
    _watch_command("resume", watch_id)


@watch_app.command("delete")
def watch_delete(watch_id: int = typer.Argument(..., min=1, max=ID_MAX, help="watch id (see mta watch list)")) -> None:
    """Delete a watch (its attempts stay on record)."""
    _watch_command("delete", watch_id)


@app.command()
def run(
    status_every: float = typer.Option(None, min=0.2, help="seconds between status updates (default: 1 for the "
                                       "live table on a terminal, 30 for status lines otherwise)"),
    plain: bool = typer.Option(False, "--plain", help="timestamped status lines even on a terminal"),
) -> None:
    """Run the agent: watch, poll within the rate budget, book, record, notify. Stops cleanly on SIGTERM.

    On a terminal the status is a live table (per query: state, last check, next check, free slots seen; the
    budget above); otherwise, and with --plain, a block of timestamped lines every 30 s."""
    import signal

    from rich.live import Live

    from ..notifier import ConsoleNotifier
    from ..service import AgentService
    from ..watcher import watch_count
    from .status_view import live_view, plain_lines

    settings = get_settings()
    live = console.is_terminal and not plain
    every = status_every if status_every is not None else (1.0 if live else 30.0)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)

        async def tick() -> bool:
            """Wait for the next update; False once stopping."""
            try:
                await asyncio.wait_for(stop.wait(), timeout=every)
            except asyncio.TimeoutError:
                return True
            return False

        async with AgentService(settings, ConsoleNotifier(console)) as agent:
            console.print(f"watching {watch_count(agent.sessions)} watch(es) in {len(agent.watcher.queries)} "
                          f"query(ies); budget {agent.budget.state()['budget']}")
            console.print(notices_line(agent))
            if live:  # notices print above the table (the same console)
                with Live(live_view(agent.status()), console=console, refresh_per_second=2) as shown:
                    while await tick():
                        shown.update(live_view(agent.status()))
            else:
                while await tick():
                    for line in plain_lines(agent.status()):
                        console.print(line, soft_wrap=True, highlight=False)
            booking = agent.watcher.booking_in_flight()
            console.print("stopping: " + ("letting the booking in flight finish …" if booking else "no booking in flight"))
        console.print("stopped")

    from ..bot import TelegramRefused
    from ..imap_mailbox import MailboxRefused

    try:
        asyncio.run(main())
    except MailboxRefused as exc:  # wrong IMAP settings: a clear error at start, nothing was started
        fail(f"mailbox: {exc}")
    except TelegramRefused as exc:  # a token the Bot API refuses: the same
        fail(f"telegram: {exc}")


def notices_line(agent) -> str:
    """Where people are told, said once at start."""
    if agent.bot is None:
        return "notices: this console (no MTA_TELEGRAM_TOKEN; docs/telegram.md sets up the bot)"
    name = agent.bot.app.bot.username if agent.bot.started else "not reachable yet, retrying"
    return f"notices: Telegram (@{name}); people without a chat on this console"


@app.command()
def patterns(wide: bool = typer.Option(False, "--wide", help="every hour with observations, not only the top 10")) -> None:
    """Show what the release-pattern analyzer learned: when slots tend to appear (Munich time)."""
    from ..db import open_database
    from ..patterns import describe_hour, learn_from_db

    pattern = learn_from_db(open_database(get_settings().database_url))
    if not pattern.observations:
        console.print("no observations yet: run the agent (mta run) for a while")
        return
    console.print(f"{pattern.observations} slot observations")
    if pattern.hot:
        console.print("slots tend to appear (polls run at the full budget then):")
        for hour in sorted(pattern.hot):
            console.print(f"  {describe_hour(hour)}  ({pattern.counts.get(hour, 0)} slots)")
    else:
        console.print("no hour stands out yet; polling evenly")
    table = Table("hour of week (Munich)", "slots first seen", box=box.SIMPLE_HEAD, pad_edge=False)
    ranked = sorted(pattern.counts.items(), key=lambda kv: -kv[1])
    for hour, n in ranked if wide else ranked[:10]:
        table.add_row(describe_hour(hour), str(n))
    console.print(table)
