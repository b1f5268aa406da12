"""Tools: the local replica, the demo, the doctor, the version."""

from __future__ import annotations

import asyncio
import os

import typer

from .. import __version__
from ..config import get_settings
from ..logs import setup_logging
from . import app, console


@app.command()
def version() -> None:
    """Print the version."""
    console.print(__version__)


@app.command()
def replica(
    port: int = typer.Option(8765, help="port to listen on"),
    host: str = typer.Option("127.0.0.1", help="address to bind (loopback by default)"),
    seed_slots: bool = typer.Option(True, help="release a reproducible scatter of slots"),
    no_captcha: bool = typer.Option(False, "--no-captcha", help="switch the captcha off for every office"),
) -> None:
    """Serve the local replica of the city's booking site."""
    from replica.server import serve_forever
    from replica.settings import ReplicaSettings
    from replica.site import Replica

    site = Replica(ReplicaSettings(host=host, port=port))
    if no_captcha:
        site.set_captcha_required(False)
    if seed_slots:
        count = site.seed_slots()
        console.print(f"released {count} slots over the next three weeks")
    console.print(f"booking page: http://{host}:{port}/buergerservice/terminvereinbarung.html")
    console.print(f"API: http://{host}:{port}{site.settings.api_prefix}/")
    serve_forever(site, host, port)


@app.command()
def demo(seconds: float = typer.Option(75.0, help="give up after this long")) -> None:
    """Run the agent against the local replica: watch, scripted releases, auto-book, activate, summary."""
    from ..demo import run_demo

    if "MTA_LOG_LEVEL" not in os.environ:
        setup_logging("WARNING", get_settings().log_format)
    raise typer.Exit(asyncio.run(run_demo(console, seconds)))




@app.command()
def doctor() -> None:
    """Where the agent keeps its data, what it targets, and whether its browser is there."""
    from ..browser import launch_args

    settings = get_settings()
    data = settings.data_dir
    traces = settings.recordings_dir
    data_state = ("ok" if data.exists() and os.access(data, os.W_OK) else
                  "created on first use" if not data.exists() else "[red]NOT WRITABLE[/]")
    lines = [
        ("data directory", f"{data}  ({data_state}; MTA_DATA_DIR)"),
        ("database", settings.database_url),
        ("recordings", f"{traces}  ({len(list(traces.glob('attempt-*.zip'))) if traces.exists() else 0} trace(s))"),
        ("booking page", settings.booking_url),
        ("API", settings.api_url),
        ("Chromium", f"{settings.chromium_path}  " + ("(ok)" if settings.chromium_path.exists()
                                                       else "[red](missing: install Debian's chromium)[/]")),
        ("Chromium flags", " ".join(launch_args())),
        ("rate budget", f"{settings.budget_requests} per {settings.budget_window_s:g} s "
                        f"(+{settings.budget_booking_burst} for a booking)"),
        ("warm pages", str(settings.warm_pages)),
    ]
    for label, value in lines:
        console.print(f"[bold]{label}:[/] {value}", soft_wrap=True)
