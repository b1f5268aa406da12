"""``mta mailbox check``: connect to the configured mailbox and say what the agent would activate."""

from __future__ import annotations

import asyncio
from datetime import datetime

import typer
from rich.table import Table

from ..config import get_settings
from . import app, console, fail

mailbox_app = typer.Typer(help="The mailbox the agent reads the city's activation e-mail from (MTA_IMAP_*).",
                          no_args_is_help=True)
app.add_typer(mailbox_app, name="mailbox")


@mailbox_app.command("check")
def check() -> None:
    """Connect, list the recent unseen activation mails and what the agent would do with each; change nothing
    (messages are read with BODY.PEEK: they stay unseen)."""
    from flows.timezone import BERLIN

    from ..db import open_database
    from ..imap_mailbox import Mailbox, MailboxLost, MailboxRefused
    from ..mail_verdict import Action
    from ..mailbox_watcher import judge_unseen, mailbox_config

    settings = get_settings()
    if not settings.mailbox_enabled:
        fail("no mailbox configured: set MTA_IMAP_HOST, MTA_IMAP_USER and MTA_IMAP_PASSWORD (an app password)")
    sessions = open_database(settings.database_url)

    async def main():
        mailbox = Mailbox(mailbox_config(settings))
        try:
            await mailbox.open()
            return mailbox.idle_supported, await judge_unseen(mailbox, settings, sessions)
        finally:
            await mailbox.close()

    try:
        idle, (unseen, judged) = asyncio.run(main())
    except MailboxRefused as exc:
        fail(str(exc))
        return
    except MailboxLost as exc:
        fail(str(exc), code=1)
        return
    console.print(f"[green]connected[/] to {settings.imap_host}:{settings.imap_port}, folder {settings.imap_folder} "
                  f"(IDLE: {'yes' if idle else 'no, polling every %g s' % settings.imap_poll_s}); "
                  f"{len(unseen)} unseen message(s) of the last {settings.imap_lookback_days} day(s)")
    relevant = [(uid, v) for uid, v in judged if v.link is not None or "activation link to another" in v.reason
                or "sender" in v.reason]
    if relevant:
        table = Table("message", "would", "why", "deadline")
        for uid, verdict in relevant:
            deadline = (datetime.fromtimestamp(verdict.deadline, BERLIN).strftime("%H:%M")
                        if verdict.deadline else "")
            colour = {Action.ACTIVATE: "green", Action.WAIT: "yellow"}.get(verdict.action, "dim")
            table.add_row(uid, f"[{colour}]{verdict.action.value}[/]", verdict.reason, deadline)
        console.print(table)
    others = len(judged) - len(relevant)
    console.print(f"{others} other unseen message(s) carry no activation link: left alone. Nothing was changed.")
