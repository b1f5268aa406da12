"""The ``mta`` command line: thin commands, one module per topic.

- ``booking``: book, activate, cancel, attempts, trace
- ``watching``: watch add/list/pause/resume/delete, run, patterns
- ``tools``: replica, demo, doctor, version
- ``data``: recordings list/prune, forget

Every command parses and validates its input, then calls the agent (the
service's commands, the runner, the flows) and prints the result.
"""

from __future__ import annotations

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from ..config import get_settings, default_data_dir
from ..datadir import DataDirNotWritable
from ..logs import remember, setup_logging

app = typer.Typer(help="Munich Termin Automator: watches the city's booking site and books for you.\n\n"
                  f"Data (database, traces): MTA_DATA_DIR, default {default_data_dir()}",
                  no_args_is_help=True, pretty_exceptions_enable=False)
console = Console()
err = Console(stderr=True)


@app.callback()
def _main() -> None:
    try:
        settings = get_settings()
    except ValidationError as exc:
        problems = "; ".join(f"MTA_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        fail(f"the configuration is not valid: {problems}")
    setup_logging(settings.log_level, settings.log_format)
    remember([settings.contact_first_name, settings.contact_last_name, settings.contact_email,
              settings.contact_phone])  # the configured person's details never reach a log line


def fail(message: str, code: int = 2) -> None:
    err.print(f"[red]error:[/] {message}")
    raise typer.Exit(code)


def main() -> None:
    """The ``mta`` command: the app, with the errors a person can fix told in one line, not a traceback."""
    try:
        app()
    except DataDirNotWritable as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise SystemExit(2) from None


from . import booking, data, tools, watching  # noqa: E402,F401 - the commands register themselves on `app`
