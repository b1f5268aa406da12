"""One IMAP connection to the person's mailbox (``aioimaplib``, asyncio, implicit TLS).

Only what the agent needs: log in, select the folder, search recent unseen mail, read a message without
marking it (``BODY.PEEK[]``), mark one message seen, and wait for news (IDLE where the server offers it,
a plain pause otherwise). Nothing is ever deleted or moved. The password goes to the server only: it is
never part of an exception, a log line or a ``repr`` (aioimaplib scrubs it from its own debug log).

Every call is bounded by ``timeout_s``; a lost connection (the server restarting, the network gone) ends
the wait at once with :class:`MailboxLost`, and the caller reconnects.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import aioimaplib

STOP_WAIT = aioimaplib.STOP_WAIT_SERVER_PUSH
# The library's debug and info lines carry whole messages (addresses, names, activation links with authKeys):
# personal data never reaches a log, whatever logging a host program configures.
logging.getLogger("aioimaplib").setLevel(logging.WARNING)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class MailboxError(Exception):
    """The mailbox cannot be used; the message says why (never the password)."""


class MailboxRefused(MailboxError):
    """A setting is wrong (login refused, certificate not trusted, folder missing): retrying will not help."""


class MailboxLost(MailboxError):
    """The connection broke or timed out; reconnecting may help."""


@dataclass(frozen=True)
class MailboxConfig:
    host: str
    port: int
    user: str = field(repr=False)
    password: str = field(repr=False)
    folder: str = "INBOX"
    ca_file: Path | None = None
    timeout_s: float = 15.0

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        if self.ca_file is not None:
            context.load_verify_locations(cafile=str(self.ca_file))
        return context


def imap_date(day: date) -> str:
    """RFC 3501 date (``22-Nov-2026``), independent of the process locale."""
    return f"{day.day}-{MONTHS[day.month - 1]}-{day.year}"


class Mailbox:
    def __init__(self, config: MailboxConfig) -> None:
        self.config = config
        self.lost = asyncio.Event()
        self.client: aioimaplib.IMAP4 | None = None
        self.uidvalidity: str = ""

    @property
    def idle_supported(self) -> bool:
        return self.client is not None and self.client.has_capability("IDLE")

    async def open(self) -> Mailbox:
        c = self.config
        try:
            self.client = aioimaplib.IMAP4(c.host, c.port, timeout=c.timeout_s, ssl_context=c.ssl_context(),
                                           conn_lost_cb=lambda _exc: self.lost.set())
            await self.client.wait_hello_from_server()
        except ssl.SSLCertVerificationError as exc:
            await self.close()
            raise MailboxRefused(f"the IMAP server's certificate is not trusted ({exc.verify_message}); "
                                 "set MTA_IMAP_CA_FILE for a self-hosted server") from None
        except (OSError, asyncio.TimeoutError) as exc:
            await self.close()
            raise MailboxLost(f"cannot reach the IMAP server {c.host}:{c.port} ({type(exc).__name__})") from None
        login = await self._call(self.client.login(c.user, c.password))
        if login.result != "OK":
            await self.close()
            raise MailboxRefused("the IMAP server refused the login (check MTA_IMAP_USER and MTA_IMAP_PASSWORD; "
                                 "most providers need an app password)")
        selected = await self._call(self.client.select(_quoted(c.folder)))
        if selected.result != "OK":
            await self.close()
            raise MailboxRefused(f"the IMAP folder {c.folder!r} cannot be opened (MTA_IMAP_FOLDER)")
        for line in selected.lines:
            text = bytes(line).decode(errors="replace")
            if "UIDVALIDITY" in text:
                self.uidvalidity = text.split("UIDVALIDITY", 1)[1].split("]", 1)[0].strip()
        return self

    async def _call(self, pending):
        """Await one command; a broken or silent connection becomes MailboxLost."""
        if self.lost.is_set():
            raise MailboxLost("the IMAP connection was lost")
        try:
            return await asyncio.wait_for(pending, self.config.timeout_s)
        except (asyncio.TimeoutError, aioimaplib.CommandTimeout) as exc:
            raise MailboxLost(f"the IMAP server did not answer in time ({type(exc).__name__})") from None
        except (aioimaplib.Abort, aioimaplib.Error, OSError) as exc:
            raise MailboxLost(f"the IMAP connection failed ({type(exc).__name__})") from None

    async def unseen_since(self, day: date) -> list[str]:
        """UIDs of unseen messages that arrived on or after ``day`` (server dates), oldest first."""
        assert self.client is not None
        answer = await self._call(self.client.uid_search("UNSEEN", "SINCE", imap_date(day), charset=None))
        if answer.result != "OK":
            raise MailboxLost(f"the IMAP search failed ({answer.result})")
        uids: list[str] = []
        for line in answer.lines:
            text = bytes(line).decode(errors="replace").strip()
            if text and all(part.isdigit() for part in text.split()):
                uids.extend(text.split())
        return sorted(uids, key=int)

    async def read(self, uid: str) -> bytes | None:
        """The raw message, without setting ``\\Seen`` (``BODY.PEEK``); None when it is gone."""
        assert self.client is not None
        answer = await self._call(self.client.uid("fetch", uid, "(BODY.PEEK[])"))
        if answer.result != "OK":
            raise MailboxLost(f"the IMAP fetch failed ({answer.result})")
        for line in answer.lines:
            if isinstance(line, bytearray):  # the literal: the message itself
                return bytes(line)
        return None

    async def mark_seen(self, uid: str) -> None:
        assert self.client is not None
        answer = await self._call(self.client.uid("store", uid, "+FLAGS.SILENT", "(\\Seen)"))
        if answer.result != "OK":
            raise MailboxLost(f"the IMAP store failed ({answer.result})")

    async def wait_for_news(self, timeout_s: float, poll_s: float) -> None:
        """Return when the server reports a change (IDLE), after ``timeout_s`` at most (``poll_s`` without
        IDLE); raise MailboxLost when the connection goes."""
        assert self.client is not None
        if not self.idle_supported:
            await self._sleep_unless_lost(min(timeout_s, poll_s))
            return
        try:
            idle = await asyncio.wait_for(self.client.idle_start(timeout=timeout_s), self.config.timeout_s)
        except (asyncio.TimeoutError, aioimaplib.Abort, aioimaplib.Error, OSError) as exc:
            raise MailboxLost(f"the IMAP server did not start IDLE ({type(exc).__name__})") from None
        push = asyncio.ensure_future(self.client.wait_server_push(timeout=timeout_s + self.config.timeout_s))
        lost = asyncio.ensure_future(self.lost.wait())
        try:
            await asyncio.wait({push, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
        if not push.done():
            push.cancel()
            idle.cancel()
            raise MailboxLost("the IMAP connection was lost while idling")
        news = push.exception() or push.result()
        if isinstance(news, BaseException):
            idle.cancel()
            raise MailboxLost(f"the IMAP server went quiet ({type(news).__name__})")
        if news != STOP_WAIT and any(b"BYE" in bytes(line) for line in news):
            idle.cancel()
            raise MailboxLost("the IMAP server closed the connection (BYE)")
        try:
            self.client.idle_done()
            await asyncio.wait_for(idle, self.config.timeout_s)
        except (asyncio.TimeoutError, aioimaplib.Abort, aioimaplib.Error, OSError) as exc:
            raise MailboxLost(f"the IMAP server did not end IDLE ({type(exc).__name__})") from None

    async def _sleep_unless_lost(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.lost.wait(), seconds)
        except asyncio.TimeoutError:
            return
        raise MailboxLost("the IMAP connection was lost")

    async def close(self) -> None:
        """Log out politely when possible; always drop the connection."""
        client, self.client = self.client, None
        if client is None:
            return
        try:
            if client.protocol is not None and client.protocol.transport is not None and not self.lost.is_set():
                await asyncio.wait_for(client.logout(), min(5.0, self.config.timeout_s))
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        finally:
            transport = client.protocol.transport if client.protocol is not None else None
            if transport is not None:
                transport.close()
            for task in list(client.tasks):
                task.cancel()
            client._client_task.cancel()


def _quoted(folder: str) -> str:
    return folder if folder.replace(".", "").replace("/", "").isalnum() else aioimaplib.quoted(folder)
