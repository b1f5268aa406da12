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


replica_app = typer.Typer(help="The local replica of the city's booking site.")
app.add_typer(replica_app, name="replica")


@replica_app.callback(invoke_without_command=True)
def replica(
    ctx: typer.Context,
    port: int = typer.Option(8765, min=0, max=65535, help="port to listen on"),
    host: str = typer.Option("127.0.0.1", help="address to bind (loopback by default)"),
    seed_slots: bool = typer.Option(True, help="release a reproducible scatter of slots"),
    no_captcha: bool = typer.Option(False, "--no-captcha", help="switch the captcha off for every office"),
) -> None:
    """Serve the local replica of the city's booking site (mta replica outbox: the mails it sent)."""
    if ctx.invoked_subcommand is not None:
        return
    from replica.server import serve_forever
    from replica.settings import ReplicaSettings
    from replica.site import Replica

    site = Replica(ReplicaSettings(host=host, port=port))
    if no_captcha:
        site.set_captcha_required(False)
    if seed_slots:
        count = site.seed_slots()
        console.print(f"released {count} slots over the next three weeks")
    page, api = f"http://{host}:{port}/buergerservice/terminvereinbarung.html", f"http://{host}:{port}{site.settings.api_prefix}"
    console.print(f"booking page: {page}")
    console.print(f"API: {api}/")
    console.print("point mta at it (in the shell where you run mta):", highlight=False)
    console.print(f"  export MTA_BOOKING_URL={page} MTA_API_URL={api}", soft_wrap=True, highlight=False)
    console.print("the activation e-mails it sends: mta replica outbox", highlight=False)
    serve_forever(site, host, port)


def _replica_origin() -> str:
    """The running replica: the origin of MTA_BOOKING_URL when that is a local address, else port 8765."""
    from urllib.parse import urlsplit

    target = urlsplit(get_settings().booking_url)
    if target.hostname in ("127.0.0.1", "localhost", "::1"):
        return f"{target.scheme}://{target.netloc}"
    return "http://127.0.0.1:8765"


@replica_app.command("outbox")
def replica_outbox(
    url: str = typer.Option(None, help="the replica's address, e.g. http://127.0.0.1:8765 (default: that of "
                            "MTA_BOOKING_URL when it is local, else port 8765)"),
    email: str = typer.Option(None, help="only the mails to this address"),
    every: bool = typer.Option(False, "--all", help="every mail, not only the latest per address"),
    as_json: bool = typer.Option(False, "--json", help="the mails as JSON (the scenario API's GET /__replica__/outbox)"),
) -> None:
    """The activation e-mails the replica sent (kept, not mailed): their links, for mta activate or a browser."""
    import json
    import sys
    from datetime import datetime

    import httpx

    from flows.timezone import BERLIN

    from . import fail

    origin = (url or _replica_origin()).rstrip("/")
    try:
        answer = httpx.get(f"{origin}/__replica__/outbox", timeout=10)
        mails = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        fail(f"no replica answered at {origin} ({type(exc).__name__}); start one with mta replica, or give --url")
        return
    if not isinstance(mails, list):
        fail(f"{origin} did not answer as the replica's scenario API does")
        return
    if email:
        mails = [m for m in mails if str(m.get("to", "")).lower() == email.lower()]
    if not every:
        latest = {str(m.get("to", "")).lower(): m for m in mails}  # in order sent: the last one wins
        mails = list(latest.values())
    if as_json:
        sys.stdout.write(json.dumps(mails, ensure_ascii=False) + "\n")
        return
    if not mails:
        console.print("no mails yet: the replica sends one when a booking is reserved (mta book, mta run)")
        return
    for m in mails:
        sent = datetime.fromtimestamp(float(m.get("time") or 0), BERLIN).strftime("%d.%m. %H:%M:%S")
        console.print(f"{sent} to {escape(str(m.get('to', '')))} (process {m.get('process_id')}):", highlight=False)
        console.print(f"  mta activate '{escape(str(m.get('link', '')))}'", soft_wrap=True, highlight=False)


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
