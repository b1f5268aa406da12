"""The ``mta`` command line: thin commands, one module per topic.

- ``booking``: book, activate, cancel, attempts, trace
- ``watching``: watch add/list/pause/resume/delete, run, patterns
- ``tools``: replica, demo, doctor, version

Every command parses and validates its input, then calls the agent (the
service's commands, the runner, the flows) and prints the result.
"""

from __future__ import annotations

import typer
from rich.console import Console

from ..config import get_settings, default_data_dir
from ..logs import remember, setup_logging

app = typer.Typer(help="Munich Termin Automator: watches the city's booking site and books for you.\n\n"
                  f"Data (database, traces): MTA_DATA_DIR, default {default_data_dir()}",
                  no_args_is_help=True, pretty_exceptions_enable=False)
console = Console()
err = Console(stderr=True)


@app.callback()
def _main() -> None:
    settings = get_settings()
    setup_logging(settings.log_level, settings.log_format)
    remember([settings.contact_first_name, settings.contact_last_name, settings.contact_email,
              settings.contact_phone])  # the configured person's details never reach a log line


def fail(message: str, code: int = 2) -> None:
    err.print(f"[red]error:[/] {message}")
    raise typer.Exit(code)


from . import booking, tools, watching  # noqa: E402,F401 - the commands register themselves on `app`
