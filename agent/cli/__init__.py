"""The ``mta`` command line: thin commands, one module per topic.

- ``booking``: book, activate, cancel, attempts, trace
- ``watching``: watch add/list/pause/resume/delete, run, patterns
- ``tools``: replica, demo, doctor, version
- ``data``: recordings list/prune, forget
- ``mailbox``: mailbox check

Every command parses and validates its input, then calls the agent (the
service's commands, the runner, the flows) and prints the result.
"""

from __future__ import annotations

import json
import sys

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from ..config import default_data_dir, get_settings, settings_problems
from ..datadir import DataDirNotWritable
from ..logs import remember, setup_logging

ID_MAX = 2**31 - 1  # the site's ids are 32-bit integers; anything larger is a typo
COUNT_MAX = 10  # persons per appointment; the site's own maxQuantity (usually smaller) is checked later

app = typer.Typer(help="Munich Termin Automator: watches the city's booking site and books for you.\n\n"
                  f"Data (database, traces): MTA_DATA_DIR, default {default_data_dir()}",
                  no_args_is_help=True, pretty_exceptions_enable=False)
console = Console()
err = Console(stderr=True)


def wants_json(argv: list[str] | None = None) -> bool:
    """``--json`` on the command line: every answer, refusals included, is one JSON object on stdout."""
    return "--json" in (sys.argv if argv is None else argv)


@app.callback()
def _main() -> None:
    try:
        settings = get_settings()
    except ValidationError as exc:
        fail(f"invalid settings: {settings_problems(exc)}")
        return
    setup_logging(settings.log_level, settings.log_format)
    remember([settings.contact_first_name, settings.contact_last_name, settings.contact_email,
              settings.contact_phone])  # the configured person's details never reach a log line


def fail(message: str, code: int = 2) -> None:
    if wants_json():
        sys.stdout.write(json.dumps({"outcome": "refused", "reason": message}, ensure_ascii=False) + "\n")
    else:
        err.print(f"[red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def contact_from(first_name: str | None, last_name: str | None, email: str | None, phone: str | None):
    """The person's contact details from the flags, else the ``MTA_CONTACT_*`` settings; every missing or
    invalid field refused in one message that names its flag and setting."""
    from flows.request import Contact, describe_contact_problems

    from ..logs import remember_contact

    settings = get_settings()
    contact = Contact(first_name or settings.contact_first_name or "", last_name or settings.contact_last_name or "",
                      email or settings.contact_email or "", phone or settings.contact_phone or "")
    remember_contact(contact)  # masked in every log line
    problems = contact.problems()
    if problems:
        fail(describe_contact_problems(problems, hints=True))
    return contact


def main() -> None:
    """The ``mta`` entry point: every error a person can fix ends in one line (or, with ``--json``, one JSON
    object), never a traceback."""
    try:
        code = app(standalone_mode=False)  # returns the exit code of typer.Exit
    except DataDirNotWritable as exc:
        if wants_json():
            sys.stdout.write(json.dumps({"outcome": "refused", "reason": str(exc)}, ensure_ascii=False) + "\n")
        else:
            err.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True)
        sys.exit(2)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except typer.TyperException as exc:  # usage errors: a bad option, a value out of bounds
        if wants_json() and hasattr(exc, "format_message"):
            sys.stdout.write(json.dumps({"outcome": "refused", "reason": exc.format_message()}) + "\n")
        elif hasattr(exc, "show"):
            exc.show()
        else:
            err.print(f"error: {exc}")
        sys.exit(getattr(exc, "exit_code", 2))
    except KeyboardInterrupt:
        err.print("aborted")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


from . import booking, data, mailbox, tools, watching  # noqa: E402,F401 - the commands register themselves on `app`
