"""``/watches``: the person's watches, each with buttons to pause, resume and delete (the service's commands)."""

from __future__ import annotations

from datetime import date

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from ..names import Names
from ..notice_text import e
from ..service import UnknownWatch, WatchView
from .common import onboarded, acknowledge, chat_id_of, lang, mta, reply, say
from .outbox import keyboard
from .texts import t

STATE_WORDS = {"de": {"active": "aktiv", "paused": "pausiert", "booked": "gebucht", "expired": "abgelaufen"},
               "en": {"active": "active", "paused": "paused", "booked": "booked", "expired": "expired"}}
ACTION_WORDS = {"de": {"pause": "pausiert", "resume": "läuft wieder", "delete": "gelöscht"},
                "en": {"pause": "paused", "resume": "resumed", "delete": "deleted"}}


def watch_line(w: WatchView, language: str, names: Names) -> str:
    where = ", ".join(names.office(o, 30) for o in w.office_ids) or t(language, "any_office")
    dates = f"{date.fromisoformat(w.date_from):%d.%m.}–{date.fromisoformat(w.date_to):%d.%m.%Y}"
    return t(language, "watch_line", watch_id=w.id, service=names.service(w.service_id),
             count=w.count, offices=where, dates=dates, times=f"{w.time_from}–{w.time_to}",
             mode=t(language, "mode_auto" if w.mode == "auto" else "mode_notify"),
             state=STATE_WORDS[language].get(w.state, w.state))


def listing(views: list[WatchView], language: str, names: Names) -> tuple[str, list[list[tuple[str, str]]]]:
    if not views:
        return t(language, "no_watches"), []
    rows = []
    for w in views:
        row = []
        if w.state == "active":
            row.append((t(language, "pause", watch_id=w.id), f"wl:pause:{w.id}"))
        elif w.state == "paused":
            row.append((t(language, "resume", watch_id=w.id), f"wl:resume:{w.id}"))
        row.append((t(language, "delete", watch_id=w.id), f"wl:delete:{w.id}"))
        rows.append(row)
    return "\n".join(watch_line(w, language, names) for w in views), rows


async def show(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    bot = mta(context)
    key = await onboarded(update, context)
    if key is None:
        return
    language = lang(update, context)
    text, rows = listing(bot.service.list_watches(person_key=key), language, await bot.service.names())
    await reply(update, context, text, rows)


async def act(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await acknowledge(update)
    bot = mta(context)
    _, action, raw_id = update.callback_query.data.split(":")
    watch_id = int(raw_id)
    key = bot.chats.person_key(chat_id_of(update))
    language = lang(update, context)
    mine = {w.id for w in bot.service.list_watches(person_key=key)} if key else set()
    if watch_id not in mine:  # another person's watch, or gone: same answer, nothing revealed
        await say(update, context, "not_yours")
        return
    try:
        if action == "delete":
            await bot.service.delete(watch_id)
        else:
            await getattr(bot.service, action)(watch_id)
    except (UnknownWatch, ValueError) as exc:
        await reply(update, context, f"⚠️ {e(exc)}")
        return
    text, rows = listing(bot.service.list_watches(person_key=key), language, await bot.service.names())
    try:
        await update.callback_query.edit_message_text(text, parse_mode="HTML", reply_markup=keyboard(rows))
    except BadRequest:  # the list message is gone or unchanged: say it instead
        pass
    await say(update, context, "watch_done", watch_id=watch_id, action=ACTION_WORDS[language][action])


def handlers() -> list:
    return [CommandHandler("watches", show),
            CallbackQueryHandler(act, pattern=r"^wl:(pause|resume|delete):\d{1,10}$")]
