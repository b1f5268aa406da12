"""Sending to Telegram without ever holding up the watcher.

Notices are queued and one task sends them in order. Telegram's answers:

- 429 flood control (``RetryAfter``): wait the ``retry_after`` it names, then
  send the same message again (every later message waits too: the limit is
  the bot's);
- network trouble (``NetworkError``, ``TimedOut``): up to ``ATTEMPTS`` tries,
  pausing 1, 2, 4 … s;
- 403 (``Forbidden``: the person blocked the bot): the chat is marked blocked
  and nothing more is sent to it until the person writes again;
- 400 (``BadRequest``): a bug on our side; logged (without the text) and dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from loguru import logger
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

ATTEMPTS = 5
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)  # links are the site's deep links: nothing to preview


@dataclass
class Outgoing:
    chat_id: int
    html: str
    buttons: list[list[tuple[str, str]]] = field(default_factory=list)
    document: tuple[str, bytes] | None = None  # (file name, content)
    photo: bytes | None = None
    done: asyncio.Future | None = None  # resolved with True when sent, False when given up


def keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in row]
                                 for row in rows])


class Outbox:
    def __init__(self, bot: Bot, on_blocked: Callable[[int], None], pause: Callable[[float], Awaitable] = asyncio.sleep):
        self.bot = bot
        self.on_blocked = on_blocked
        self.pause = pause
        self.queue: asyncio.Queue[Outgoing] = asyncio.Queue()
        self.task: asyncio.Task | None = None
        self.sent = self.failed = self.flood_waits = 0

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="telegram-outbox")

    async def stop(self, grace_s: float = 5.0) -> None:
        """Send what is queued (within ``grace_s``), then stop."""
        if self.task is None:
            return
        try:
            await asyncio.wait_for(self.queue.join(), grace_s)
        except asyncio.TimeoutError:
            logger.warning("telegram: {} message(s) not sent before stopping", self.queue.qsize())
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        self.task = None

    def put(self, message: Outgoing) -> None:
        self.queue.put_nowait(message)

    async def send_now(self, message: Outgoing, timeout_s: float = 120.0) -> bool:
        """Queue and wait until sent (handlers that answer a person); False when not sent in ``timeout_s``
        (a long flood wait, or the outbox stopping)."""
        message.done = asyncio.get_running_loop().create_future()
        self.put(message)
        try:
            return await asyncio.wait_for(asyncio.shield(message.done), timeout_s)
        except asyncio.TimeoutError:
            return False

    async def _run(self) -> None:
        while True:
            message = await self.queue.get()
            try:
                ok = await self._deliver(message)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - one message's trouble never ends the outbox
                logger.exception("telegram: sending failed")
                ok = False
            finally:
                self.queue.task_done()
            self.sent += ok
            self.failed += not ok
            if message.done is not None and not message.done.done():
                message.done.set_result(ok)

    async def _deliver(self, message: Outgoing) -> bool:
        tries = 0
        while True:
            try:
                await self._send_once(message)
                return True
            except RetryAfter as exc:
                self.flood_waits += 1
                wait = exc.retry_after if isinstance(exc.retry_after, (int, float)) else exc.retry_after.total_seconds()
                logger.warning("telegram: flood control, waiting {} s", wait)
                await self.pause(float(wait))
            except Forbidden:
                logger.info("telegram: chat {} blocked the bot; not sending to it", message.chat_id)
                self.on_blocked(message.chat_id)
                return False
            except BadRequest as exc:
                logger.error("telegram: a message was refused ({}); dropped", exc.message)
                return False
            except (TimedOut, NetworkError) as exc:
                tries += 1
                if tries >= ATTEMPTS:
                    logger.error("telegram: giving up a message after {} tries ({})", tries, type(exc).__name__)
                    return False
                await self.pause(2.0 ** (tries - 1))
            except TelegramError as exc:
                logger.error("telegram: {}; message dropped", type(exc).__name__)
                return False

    async def _send_once(self, message: Outgoing) -> None:
        markup = keyboard(message.buttons)
        if message.document is not None:
            name, content = message.document
            await self.bot.send_document(message.chat_id, document=content, filename=name, caption=message.html[:1024],
                                         parse_mode=ParseMode.HTML, reply_markup=markup)
        elif message.photo is not None:
            await self.bot.send_photo(message.chat_id, photo=message.photo, caption=message.html[:1024],
                                      parse_mode=ParseMode.HTML, reply_markup=markup)
        else:
            await self.bot.send_message(message.chat_id, message.html, parse_mode=ParseMode.HTML,
                                        reply_markup=markup, link_preview_options=NO_PREVIEW)
