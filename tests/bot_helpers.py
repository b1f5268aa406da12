"""Running the Telegram bot in a test: the real python-telegram-bot client over HTTP to the Bot API stand-in."""

from __future__ import annotations

from contextlib import asynccontextmanager

from agent.bot import TelegramBot
from agent.notice_policy import NoticePolicy
from agent.notifier import MemoryNotifier
from agent.service import AgentService
from tests.botapi_standin import BotApiStandIn, Call

ADMIN = 1000
ANNA = 1001  # on the allow-list
STRANGER = 6666


def bot_overrides(standin: BotApiStandIn, **extra: object) -> dict:
    values: dict[str, object] = dict(
        telegram_token=standin.token, telegram_base_url=standin.base_url, telegram_admin_chat_id=ADMIN,
        telegram_allowed_chat_ids=[ANNA], telegram_poll_timeout_s=1.0, quiet_hours="", digest_time="",
        telegram_conversation_timeout_s=60.0,
    )
    values.update(extra)
    return values


@asynccontextmanager
async def bot_alone(settings):
    """The bot started on its own (no watcher, no browser): the service's commands work on the database
    whether or not the agent runs, as the CLI's do."""
    fallback = MemoryNotifier()
    service = AgentService(settings, fallback)
    bot = TelegramBot(service, settings, fallback=fallback)
    await bot.start()
    service.bot, service.notifier = bot, NoticePolicy.for_bot(bot, settings)
    try:
        yield service, bot
    finally:
        await bot.stop()


def text_of(call: Call) -> str:
    return str(call.params.get("text") or call.params.get("caption") or "")


def buttons_of(call: Call) -> list[str]:
    """The callback data of an answer's inline keyboard."""
    markup = call.params.get("reply_markup")
    if isinstance(markup, str):
        import json

        markup = json.loads(markup)
    if not markup:
        return []
    return [b.get("callback_data") for row in markup.get("inline_keyboard", []) for b in row if b.get("callback_data")]


def to(chat_id: int, contains: str = "", method: str | None = None):
    """A predicate: a message (or document, photo) to ``chat_id`` whose text holds ``contains``."""
    def match(call: Call) -> bool:
        if not call.ok or call.chat_id != chat_id or call.method not in ("sendMessage", "sendDocument", "sendPhoto", "editMessageText"):
            return False
        if method is not None and call.method != method:
            return False
        return contains in text_of(call)
    return match


async def say_and_wait(api: BotApiStandIn, chat_id: int, text: str, expect: str, timeout: float = 15.0) -> Call:
    """Type ``text`` (an English-speaking client) and wait for the bot's answer holding ``expect``."""
    seen = len(api.calls)
    api.send_text(chat_id, text, language_code="en")
    return await api.await_for(to(chat_id, expect), timeout, since=seen)


async def press_and_wait(api: BotApiStandIn, chat_id: int, data: str, message_id: int, expect: str,
                         timeout: float = 15.0) -> Call:
    seen = len(api.calls)
    api.press(chat_id, data, message_id)
    return await api.await_for(to(chat_id, expect), timeout, since=seen)


def message_id_of(call: Call) -> int:
    """The id of the message a send created (what a button press refers to)."""
    assert call.message is not None, f"{call.method} created no message"
    return call.message.message_id


async def onboard(api: BotApiStandIn, chat_id: int = ANNA, first: str = "Anna", email: str = "anna@example.org") -> None:
    consent = await say_and_wait(api, chat_id, "/start", "agree")
    await press_and_wait(api, chat_id, "consent:yes", message_id_of(consent), "first name")
    await say_and_wait(api, chat_id, first, "last name")
    await say_and_wait(api, chat_id, "Muster", "e-mail")
    phone = await say_and_wait(api, chat_id, email, "phone")
    await press_and_wait(api, chat_id, "phone:skip", message_id_of(phone), "Saved")
