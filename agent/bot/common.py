"""What every handler needs: the agent's service, the chat book, the outbox, the person's language."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from telegram import Update
from telegram.ext import ContextTypes, ConversationHandler
from telegram.warnings import PTBUserWarning

from ..config import Settings
from .chats import ChatBook
from .outbox import Outbox, Outgoing
from .texts import t

if TYPE_CHECKING:
    from ..service import AgentService


@dataclass
class BotContext:
    service: AgentService
    settings: Settings
    chats: ChatBook
    outbox: Outbox


def mta(context: ContextTypes.DEFAULT_TYPE) -> BotContext:
    return context.application.bot_data["mta"]


def chat_id_of(update: Update) -> int:
    assert update.effective_chat is not None
    return update.effective_chat.id


def lang(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    user = update.effective_user
    return mta(context).chats.language(chat_id_of(update), user.language_code if user else None)


async def reply(update: Update, context: ContextTypes.DEFAULT_TYPE, html: str,
                buttons: list[list[tuple[str, str]]] | None = None, document: tuple[str, bytes] | None = None,
                photo: bytes | None = None) -> bool:
    """Answer in the chat through the outbox (flood control and retries apply to answers too)."""
    return await mta(context).outbox.send_now(Outgoing(chat_id_of(update), html, buttons or [], document, photo))


async def say(update: Update, context: ContextTypes.DEFAULT_TYPE, key: str,
              buttons: list[list[tuple[str, str]]] | None = None, **values: object) -> bool:
    return await reply(update, context, t(lang(update, context), key, **values), buttons)


async def onboarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | None:
    """The key of the person this chat books for; None (and "please /start first" said) before onboarding."""
    key = mta(context).chats.person_key(chat_id_of(update))
    if key is None:
        await say(update, context, "not_onboarded")
    return key


async def acknowledge(update: Update) -> None:
    """Answer a button press (Telegram shows a spinner until then); a stale query is no error."""
    if update.callback_query is not None:
        try:
            await update.callback_query.answer()
        except Exception:  # noqa: BLE001 - an old query cannot be answered any more; nothing to do
            pass


def conversation(**options: object) -> ConversationHandler:
    """A conversation tracked per chat and user, not per message: a button of the conversation's earlier
    message (the office list being toggled) belongs to it. python-telegram-bot warns about exactly that
    choice; the warning is silenced here, where the choice is made."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)
        return ConversationHandler(per_message=False, **options)
