"""Commands for the agent's private data: recordings (list, prune) and forgetting a person."""

from __future__ import annotations

import time

import typer
from rich.table import Table

from ..config import get_settings
from . import app, console, fail

recordings_app = typer.Typer(help="Recordings: the private traces of attempts, with a lifetime.",
                             no_args_is_help=True)
app.add_typer(recordings_app, name="recordings")


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


@recordings_app.command("list")
def recordings_list() -> None:
    """List the traces, oldest first, with their size and age, and the limits that apply."""
    from ..recordings import list_recordings

    settings = get_settings()
    found = list_recordings(settings.recordings_dir)
    table = Table("attempt", "recorded", "age (days)", "size")
    now = time.time()
    for r in found:
        table.add_row(str(r.attempt_id), time.strftime("%Y-%m-%d %H:%M", time.localtime(r.mtime)),
                      f"{(now - r.mtime) / 86400:.1f}", _size(r.size))
    console.print(table)
    console.print(f"{len(found)} trace(s), {_size(sum(r.size for r in found))} in {settings.recordings_dir}; "
                  f"kept {settings.trace_retention_days} days (MTA_TRACE_RETENTION_DAYS) and at most "
                  f"{settings.recordings_max_mb:g} MB (MTA_RECORDINGS_MAX_MB), oldest first")


@recordings_app.command("prune")
def recordings_prune(
    days: float = typer.Option(None, min=0, help="delete traces older than this (default: MTA_TRACE_RETENTION_DAYS)"),
    max_mb: float = typer.Option(None, min=0, help="then the oldest until the folder fits (default: "
                                 "MTA_RECORDINGS_MAX_MB)"),
) -> None:
    """Delete expired traces, then the oldest until the folder fits the size limit."""
    from ..recordings import megabytes, prune

    settings = get_settings()
    removed = prune(settings.recordings_dir, settings.trace_retention_days if days is None else days,
                    megabytes(settings.recordings_max_mb if max_mb is None else max_mb))
    for r in removed:
        console.print(f"deleted {r.path.name} ({_size(r.size)})")
    console.print(f"{len(removed)} trace(s) deleted, {_size(sum(r.size for r in removed))} freed")


@app.command()
def forget(
    person: str = typer.Argument(..., help="the person's key (p-…), number (mta watch list) or e-mail"),
    yes: bool = typer.Option(False, "--yes", "-y", help="do not ask"),
) -> None:
    """Remove a person: their contact details, watches, attempts and the traces with their data."""
    from ..db import open_database
    from ..forget import StillBooking, UnknownPerson, find_person_key
    from ..forget import forget as forget_person

    settings = get_settings()
    sessions = open_database(settings.database_url)
    try:
        key = find_person_key(sessions, person)
        if not yes and not typer.confirm(f"Forget {key}: contact details, watches, attempts and their traces?"):
            raise typer.Exit(1)
        done = forget_person(sessions, key, settings.recordings_dir)
    except (UnknownPerson, StillBooking) as exc:
        fail(str(exc))
        return
    console.print(f"forgot {done.person}: {done.watches} watch(es), {done.attempts} attempt(s), "
                  f"{len(done.traces)} trace(s)")
