"""Tools: the local replica, the demo, the doctor, the version."""

from __future__ import annotations

import asyncio
import os

import typer
from rich.markup import escape

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
    port: int = typer.Option(8765, min=0, max=65535, help="port to listen on"),
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
    """Check that the agent can run here: configuration, data, database, Playwright, Chromium, Telegram, site."""
    from ..doctor import run_checks

    settings = get_settings()
    results = asyncio.run(run_checks(settings))
    for r in results:
        mark = "[green]✓[/]" if r.ok else ("[red]✗[/]" if r.needed else "[yellow]![/]")
        console.print(f"{mark} [bold]{r.name}:[/] {escape(r.detail)}", soft_wrap=True)
    failed = [r.name for r in results if not r.ok and r.needed]
    if failed:
        console.print(f"[red]{len(failed)} problem(s):[/] {', '.join(failed)}")
        raise typer.Exit(1)
    console.print("[green]ready to run[/]")
