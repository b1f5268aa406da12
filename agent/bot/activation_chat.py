"""Closing the activation step in the chat: the person pastes the city's activation link (the agent
activates it through the page, the same path as ``mta activate``), or taps "I activated it" (the agent
asks the site's ``appointment/``, within the budget). Either way "confirmed" comes with the ``.ics``."""

from __future__ import annotations

import re

from sqlalchemy import select
from telegram import Update
from telegram.ext import CallbackQueryHandler, ContextTypes, MessageHandler, filters

from flows.links import BadLink, parse_link

from ..models import Attempt
from .common import onboarded, acknowledge, chat_id_of, mta, say

LINK_HINT = re.compile(r"#/appointment/confirm/")
URL_IN_TEXT = re.compile(r"\S*#/appointment/confirm/\S+")


async def link_pasted(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    bot = mta(context)
    key = await onboarded(update, context)
    if key is None:
        return
    found = URL_IN_TEXT.search(update.message.text or "")
    link = found.group(0) if found else ""
    try:
        process_id, auth_key = parse_link(link, bot.settings.booking_url)
    except BadLink as exc:
        await say(update, context, "link_bad", problem=str(exc))
        return
    with bot.service.sessions() as session:
        attempt = session.scalars(select(Attempt).where(Attempt.person == key, Attempt.process_id == process_id,
                                                        Attempt.auth_key == auth_key)
                                  .order_by(Attempt.id.desc())).first()
    if attempt is None:  # only links to this person's own reservations are opened
        await say(update, context, "link_unknown")
        return
    await say(update, context, "activating", attempt=attempt.id)
    try:
        result = await bot.service.activate(link, attempt.id, via="chat")
    except Exception as exc:  # noqa: BLE001 - a browser or site failure: said, and the link still works by hand
        await say(update, context, "activation_failed", reason=type(exc).__name__)
        return
    if result.status in ("gone", "cancelled"):
        await say(update, context, "appointment_gone", attempt=attempt.id, status=result.status)
    elif not result.confirmed:
        await say(update, context, "activation_failed", reason=result.reason)


async def activated_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await acknowledge(update)
    bot = mta(context)
    key = bot.chats.person_key(chat_id_of(update))
    attempt_id = int(update.callback_query.data.split(":")[1])
    with bot.service.sessions() as session:
        attempt = session.get(Attempt, attempt_id)
        mine = attempt is not None and key is not None and attempt.person == key and attempt.process_id is not None
    if not mine:
        await say(update, context, "link_unknown")
        return
    await say(update, context, "checking", attempt=attempt_id)
    result = await bot.service.check_activation(attempt_id)
    if result.confirmed:
        return  # the "confirmed" notice with the .ics is on its way
    if result.status in ("reserved", "preconfirmed"):
        await say(update, context, "still_waiting", attempt=attempt_id, status=result.status)
    elif result.status in ("gone", "cancelled"):
        await say(update, context, "appointment_gone", attempt=attempt_id, status=result.status)
    else:
        await say(update, context, "activation_failed", reason=result.reason)


def handlers() -> list:
    # block=False: an activation waits for the budget and a page; other chats are answered meanwhile
    return [MessageHandler(filters.TEXT & ~filters.COMMAND & filters.Regex(LINK_HINT), link_pasted, block=False),
            CallbackQueryHandler(activated_pressed, pattern=r"^act:\d{1,10}$", block=False)]
