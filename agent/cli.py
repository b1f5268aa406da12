"""The ``mta`` command line."""

from __future__ import annotations

import typer
from rich.console import Console

from . import __version__
from .config import get_settings
from .logs import setup_logging

app = typer.Typer(help="Munich Termin Automator: watches the city's booking site and books for you.",
                  no_args_is_help=True)
console = Console()


@app.callback()
def _main() -> None:
    setup_logging(get_settings().log_level)


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
    console.print(f"API: http://{host}:{port}{site.settings.api_prefix}/")
    serve_forever(site, host, port)


if __name__ == "__main__":
    app()
