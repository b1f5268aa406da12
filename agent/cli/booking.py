"""Commands around one booking: book now, activate, cancel, list attempts, open a trace."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import date, datetime

import typer

from ..config import Settings, get_settings
from ..logs import setup_logging
from ..watches import person_key
from . import COUNT_MAX, ID_MAX, app, console, contact_from, err, fail


def _person(settings: Settings, email: str, person: str | None) -> str:
    if person or settings.person:
        return person or settings.person
    return person_key(email)


@app.command()
def book(
    service: int = typer.Option(..., min=1, max=ID_MAX, help="service id, e.g. 1063453 (Reisepass)"),
    office: list[int] = typer.Option([], min=1, max=ID_MAX, help="acceptable office id (repeat); default: any office of the service"),
    date_from: datetime = typer.Option(None, "--from", formats=["%Y-%m-%d"], help="first acceptable day"),
    date_to: datetime = typer.Option(None, "--to", formats=["%Y-%m-%d"], help="last acceptable day"),
    time_window: str = typer.Option("00:00-23:59", "--time", help="acceptable start times, HH:MM-HH:MM (Munich)"),
    weekdays: str = typer.Option("mo,di,mi,do,fr,sa,so", help="acceptable weekdays, e.g. mo,di,mi"),
    count: int = typer.Option(1, min=1, max=COUNT_MAX, help="number of persons / documents"),
    first_name: str = typer.Option(None, help="default: MTA_CONTACT_FIRST_NAME"),
    last_name: str = typer.Option(None, help="default: MTA_CONTACT_LAST_NAME"),
    email: str = typer.Option(None, help="default: MTA_CONTACT_EMAIL"),
    phone: str = typer.Option(None, help="default: MTA_CONTACT_PHONE"),
    person: str = typer.Option(None, help="stable id of the person (default: derived from the e-mail)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object instead of progress"),
) -> None:
    """Run one booking attempt now and print its outcome."""
    from flows.request import BookingRequest, InvalidRequest, parse_time_window, parse_weekdays
    from flows.timezone import BERLIN

    from ..artifacts import clean_stale
    from ..attempts import BookingBlocked
    from ..db import open_database
    from ..names import remember_names
    from ..progress import ConsoleProgress
    from ..recovery import settle_unfinished
    from ..runner import budget_for, record_unstarted, run_booking
    from ..site_api import SiteApi, SiteUnavailable

    settings = get_settings()
    if "MTA_LOG_LEVEL" not in os.environ:
        setup_logging("WARNING", settings.log_format)  # the progress lines say it already
    today = date.today()
    contact = contact_from(first_name, last_name, email, phone)
    try:
        start, end = parse_time_window(time_window)
        request = BookingRequest(
            service_id=service, office_ids=tuple(office), count=count,
            date_from=date_from.date() if date_from else today,
            date_to=date_to.date() if date_to else date.fromordinal(today.toordinal() + 182),
            weekdays=parse_weekdays(weekdays), time_from=start, time_to=end, contact=contact,
            person=_person(settings, contact.email, person),
        )
        request.validate(today)  # bad dates, counts and contact details: before any request or browser
    except InvalidRequest as exc:
        fail(str(exc))
    budget = budget_for(settings)

    async def main():
        async with SiteApi(settings.api_url, budget) as api:
            try:
                known = await api.catalogue()  # unknown service or office: refused before any browser starts
            except SiteUnavailable as exc:  # an outcome like any other: recorded, never "unknown service"
                return record_unstarted(settings, open_database(settings.database_url), request, exc)
            request.validate(today, known.services, known.offices_of)
            names = remember_names(settings.data_dir, known.names)
            sessions = open_database(settings.database_url)
            for line in await settle_unfinished(sessions, api):
                err.print(f"[yellow]settled[/] {line}")
            clean_stale(settings.recordings_dir)  # what a killed run left of its traces' parts
        progress = None if as_json else ConsoleProgress(console, names)
        if not as_json:
            console.print(f"[bold]Booking {names.service(service)}[/] ({service}) at "
                          f"{names.office_list(request.office_ids)} through {settings.booking_url}")
        return await run_booking(settings, sessions, request, progress=progress, budget=budget)

    try:
        result = asyncio.run(main())
    except InvalidRequest as exc:
        fail(str(exc))
        return
    except BookingBlocked as exc:
        fail(str(exc))
        return
    outcome = result.outcome
    payload = {
        "outcome": outcome.kind.value,
        "reason": outcome.reason,
        "office": outcome.office_name,
        "officeId": outcome.office_id,
        "slotTime": datetime.fromtimestamp(outcome.slot_ts, BERLIN).isoformat() if outcome.slot_ts else None,
        "processId": outcome.process_id,
        "attemptId": result.attempt_id,
        "tracePath": str(result.trace_path) if result.trace_path else None,
        "handoffLink": outcome.handoff_link,
        "diff": outcome.diff,
        "stepSeconds": result.step_seconds,
    }
    if as_json:
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    else:
        colour = "green" if outcome.kind.succeeded else "red"
        console.print(f"[bold {colour}]{outcome.kind.value}[/]: {outcome.reason}")
        for line in outcome.diff:
            console.print(f"  [yellow]diff[/] {line}")
        if outcome.handoff_link:
            console.print(f"  finish here: {outcome.handoff_link}")
        if result.trace_path:
            console.print(f"  trace: {result.trace_path}  (mta trace {result.attempt_id})")
    raise typer.Exit(0 if outcome.kind.succeeded else 1)


def _with_page(coro_factory):
    """Run a follow-up flow on a fresh page of Debian's Chromium."""
    from playwright.async_api import async_playwright

    from ..browser import launch_chromium, new_site_context

    async def run():
        settings = get_settings()
        async with async_playwright() as playwright:
            browser = await launch_chromium(playwright, settings)
            try:
                context = await new_site_context(browser)
                return await coro_factory(await context.new_page(), settings)
            finally:
                await browser.close()

    return asyncio.run(run())


def _refuse_bad_link(link: str) -> None:
    """A link that is not one of the site's activation or manage links ends here, before any browser."""
    from flows.links import BadLink, parse_link

    try:
        parse_link(link, get_settings().booking_url)
    except BadLink as exc:
        fail(str(exc))


NEXT_STEP = "to book again: mta book … (now) or mta watch add … (when a slot appears)"


def _ended(process_id: int, ended: str, reason: str, sessions) -> tuple[str, str]:
    """The headline and reason for an appointment that had ended: the site's answer, or this data directory's
    record when the site only says it is gone (a cancellation is purged from the site after a while)."""
    from ..activation import recorded_status

    if ended == "expired" and recorded_status(sessions, process_id) == "cancelled":
        return "cancelled", ("the appointment was cancelled earlier (recorded here by mta cancel); the site no "
                             f"longer knows it; {NEXT_STEP}")
    return ended, f"{reason}; {NEXT_STEP}"


@app.command()
def activate(link: str = typer.Argument(..., help="the activation link from the city's e-mail")) -> None:
    """Activate a reserved appointment from its e-mailed link (as the person would by tapping it)."""
    from flows.links import parse_link

    from ..activation import activate_link, record_activation
    from ..db import open_database
    from ..runner import budget_for

    _refuse_bad_link(link)
    settings = get_settings()
    outcome = asyncio.run(activate_link(settings, link, budget_for(settings)))  # the mailbox watcher's path too
    sessions = open_database(settings.database_url)
    process_id = parse_link(link)[0]
    headline, reason = outcome.kind.value, outcome.reason
    if outcome.process_status:  # cancelled or expired: decided before recording (the record may say why)
        headline, reason = _ended(process_id, outcome.process_status, outcome.reason, sessions)
    record_activation(sessions, process_id, outcome)
    colour = "green" if outcome.kind.succeeded else "red"
    console.print(f"[bold {colour}]{headline}[/]: {reason}")
    raise typer.Exit(0 if outcome.kind.succeeded else 1)


@app.command()
def cancel(link: str = typer.Argument(..., help="the manage (or activation) link of the appointment")) -> None:
    """Cancel an appointment through the site's manage page."""
    from flows.follow_up import cancel as cancel_flow
    from flows.links import manage_link, parse_link

    from ..db import open_database
    from ..runner import selector_book

    _refuse_bad_link(link)
    result = _with_page(lambda page, s: cancel_flow(page, selector_book(s), s.api_url, manage_link(link)))
    if result.cancelled:
        _mark_process(link, "cancelled")
        console.print(f"[green]cancelled[/]: {result.message}")
        raise typer.Exit(0)
    if result.ended:  # nothing left to cancel: say whether it was cancelled before or had expired
        sessions = open_database(get_settings().database_url)
        headline, reason = _ended(parse_link(link)[0], result.ended, result.message, sessions)
        _mark_process(link, "cancelled" if headline == "cancelled" else "gone")
        console.print(f"[yellow]already {headline}[/]: {reason}")
        raise typer.Exit(0)
    console.print(f"[red]not cancelled[/]: {result.message}")
    raise typer.Exit(1)


def _mark_process(link: str, status: str) -> None:
    """Record in the attempts what happened to the process behind a link."""
    from flows.links import parse_link

    from ..activation import mark_process
    from ..db import open_database

    mark_process(open_database(get_settings().database_url), parse_link(link)[0], status)


@app.command()
def attempts(
    limit: int = typer.Option(20, min=1, max=10_000, help="how many, newest first"),
    wide: bool = typer.Option(False, "--wide", help="every field: phase, process, full names, the reason"),
) -> None:
    """List recent booking attempts (Munich time; office names once the agent has read the catalogue)."""
    from sqlalchemy import select

    from ..db import open_database
    from ..models import Attempt
    from ..names import load_names
    from .tables import munich, narrow_table, outcome_word, record, result_word, slot_time

    settings = get_settings()
    names = load_names(settings.data_dir)
    sessions = open_database(settings.database_url)
    with sessions() as session:
        rows = list(session.scalars(select(Attempt).order_by(Attempt.id.desc()).limit(limit)))
    if not rows:
        console.print("no attempts yet: mta book … books now, mta run books for the watches")
        return
    if wide:
        for a in rows:
            record(console, f"attempt {a.id} · started {munich(a.created_at, '%Y-%m-%d %H:%M:%S')} (Munich)", [
                ("service", f"{names.service(a.service_id)} ({a.service_id})"),
                ("office", f"{names.office(a.office_id)} ({a.office_id})" if a.office_id else "–"),
                ("slot", slot_time(a.slot_ts) or "–"),
                ("outcome", f"{outcome_word(a.outcome, a.phase)} (phase {a.phase})"),
                ("process", f"{a.process_id} · {a.process_status or '?'}" if a.process_id else "–"),
                ("trace", f"{a.trace_path} (mta trace {a.id})" if a.trace_path else "–"),
                ("reason", a.reason or "–"),
            ])
        return
    table = narrow_table("id", "started", "service", "office", "slot", "result", "trace")
    for a in rows:
        table.add_row(str(a.id), munich(a.created_at, "%d.%m %H:%M"), names.service(a.service_id, 14),
                      names.office(a.office_id, 16) if a.office_id else "", slot_time(a.slot_ts),
                      result_word(a.outcome, a.process_status), "yes" if a.trace_path else "")
    console.print(table)
    console.print("Munich time. --wide: every field and the reason. mta trace <id>: the trace.", style="dim")


@app.command()
def trace(
    attempt_id: int = typer.Argument(..., min=1, max=ID_MAX, help="attempt id (see mta attempts)"),
    port: int = typer.Option(9322, min=0, max=65535, help="port of the trace viewer (0 = any free port)"),
    host: str = typer.Option(None, help="address to serve on (default: MTA_TRACE_VIEWER_HOST, loopback)"),
) -> None:
    """Open an attempt's Playwright trace in the trace viewer (served on a port)."""
    from ..db import open_database
    from ..models import Attempt
    from ..trace_viewer import serve_trace
    from ..tracing import find_trace

    settings = get_settings()
    sessions = open_database(settings.database_url)
    with sessions() as session:
        attempt = session.get(Attempt, attempt_id)
    if attempt is None:
        fail(f"no attempt {attempt_id}")
    found = find_trace(settings.recordings_dir, attempt_id, attempt.trace_path)
    if found is None:
        fail(f"attempt {attempt_id} kept no trace (successful attempts keep none unless "
             "MTA_KEEP_TRACES_ON_SUCCESS=true; traces expire after MTA_TRACE_RETENTION_DAYS)")
        return
    serve_trace(found, host or settings.trace_viewer_host, port, settings.chromium_path, console)


