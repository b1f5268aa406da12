"""``/watch``: a conversation that ends in one watch, through the same command the CLI uses.

Service (found by name in the site's catalogue) → count (when the service
allows more than one) → offices (multi-select, or any) → dates → weekdays →
time of day → auto-book or notify only → summary and save. Every answer is
checked where it is given; the whole watch is checked again, with the site's
catalogue, before it is saved.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from telegram import Update
from telegram.error import BadRequest
from telegram.ext import (CallbackQueryHandler, CommandHandler, ContextTypes, ConversationHandler, MessageHandler,
                          filters)

from flows.request import BookingRequest, Contact, InvalidRequest, parse_time_window
from flows.timezone import BERLIN

from ..models import Watch
from ..site_api import SiteCatalogue, SiteUnavailable
from .common import acknowledge, conversation, chat_id_of, lang, mta, reply, say
from .onboarding import cancel, timed_out
from .outbox import keyboard
from .texts import WEEKDAY_NAMES, t

SERVICE, COUNT, OFFICES, DATES, WEEKDAYS, TIMES, MODE, CONFIRM = range(8)
MAX_CHOICES = 8  # service matches shown as buttons
COUNT_CHOICES = 5


def fold(text: str) -> str:
    """Lower case without accents, ß as ss, ä as a: "Wohnsitz" finds "Wohnsitzanmeldung", "pass" "Reisepaß"."""
    text = text.lower().replace("ß", "ss")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def find_services(catalogue: SiteCatalogue, query: str) -> list[tuple[int, str]]:
    """The services the site's own search would list whose names hold every word typed."""
    words = fold(query).split()
    hits = [(sid, name) for sid, name in catalogue.names.services.items()
            if words and catalogue.is_listed(sid) and all(w in fold(name) for w in words)]
    return sorted(hits, key=lambda hit: (not fold(hit[1]).startswith(words[0]), len(hit[1]), hit[0]))[:MAX_CHOICES]


DATE_RE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}\.\d{1,2}\.\d{2,4}")


def parse_dates(text: str, today: date) -> tuple[date, date]:
    """``01.12.2026-31.01.2027`` (or ISO dates, or ``bis``/``to`` between them) → (from, to)."""
    found = DATE_RE.findall(text)
    if len(found) != 2:
        raise InvalidRequest("two dates, from and to")
    days = []
    for part in found:
        for pattern in ("%d.%m.%Y", "%Y-%m-%d", "%d.%m.%y"):
            try:
                days.append(datetime.strptime(part, pattern).date())
                break
            except ValueError:
                continue
        else:
            raise InvalidRequest(f"{part!r} is not a date")
    start, end = days
    if end < start:
        raise InvalidRequest("the range ends before it starts")
    if end < today:
        raise InvalidRequest("the range lies in the past")
    if end > today + timedelta(days=366):
        raise InvalidRequest("the site books at most about six months ahead")
    return max(start, today), end


def _draft(context: ContextTypes.DEFAULT_TYPE) -> dict:
    return context.user_data.setdefault("watch", {})


async def _redraw(update: Update, rows: list[list[tuple[str, str]]]) -> None:
    """Show the toggled choice; an unchanged keyboard ("any" tapped twice) is no error."""
    try:
        await update.callback_query.edit_message_reply_markup(keyboard(rows))
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


def _step(*needed: str):
    """A step of the conversation that needs these answers in the draft; when the draft lost them (/forget
    meanwhile, the agent restarted) the person is told and the conversation ends, instead of an error."""
    def wrap(handler):
        @functools.wraps(handler)
        async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
            draft = context.user_data.get("watch")
            if draft is None or "catalogue" not in context.chat_data or any(k not in draft for k in needed):
                await acknowledge(update)
                await say(update, context, "stale_button")
                return ConversationHandler.END
            return await handler(update, context)
        return guarded
    return wrap


async def begin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    bot = mta(context)
    person = bot.chats.person(chat_id_of(update))
    if person is None:
        await say(update, context, "not_onboarded")
        return ConversationHandler.END
    with bot.service.sessions() as session:
        count = session.scalar(select(func.count(Watch.id)).where(Watch.person_id == person.id,
                                                                  Watch.state.in_(("active", "paused")))) or 0
    if count >= bot.settings.telegram_max_watches:
        await say(update, context, "watch_limit", n=count, max=bot.settings.telegram_max_watches)
        return ConversationHandler.END
    try:
        catalogue = await bot.service.catalogue()
    except SiteUnavailable as exc:
        await say(update, context, "catalogue_unavailable", reason=str(exc))
        return ConversationHandler.END
    context.user_data["watch"] = {"offices": [], "weekdays": [0, 1, 2, 3, 4]}
    context.chat_data["catalogue"] = catalogue
    await say(update, context, "ask_service")
    return SERVICE


@_step()
async def service_typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = (update.message.text or "").strip()[:60]
    hits = find_services(context.chat_data["catalogue"], query)
    if not hits:
        await say(update, context, "no_service", query=query)
        return SERVICE
    await reply(update, context, t(lang(update, context), "pick_service"),
                [[(name[:60], f"svc:{sid}")] for sid, name in hits])
    return SERVICE


@_step()
async def service_picked(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await acknowledge(update)
    catalogue: SiteCatalogue = context.chat_data["catalogue"]
    service_id = int(update.callback_query.data.split(":")[1])
    if service_id not in catalogue.services:
        await say(update, context, "stale_button")
        return SERVICE
    draft = _draft(context)
    draft["service"] = service_id
    most = min(catalogue.services[service_id], COUNT_CHOICES)
    if most <= 1:
        draft["count"] = 1
        return await _ask_offices(update, context)
    await reply(update, context, t(lang(update, context), "ask_count", max=most),
                [[(str(n), f"cnt:{n}") for n in range(1, most + 1)]])
    return COUNT


@_step("service")
async def count_picked(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await acknowledge(update)
    draft = _draft(context)
    catalogue: SiteCatalogue = context.chat_data["catalogue"]
    count = int(update.callback_query.data.split(":")[1])
    if not 1 <= count <= catalogue.services.get(draft.get("service"), 1):
        await say(update, context, "stale_button")
        return COUNT
    draft["count"] = count
    return await _ask_offices(update, context)


def _office_buttons(context: ContextTypes.DEFAULT_TYPE, language: str) -> list[list[tuple[str, str]]]:
    draft = _draft(context)
    catalogue: SiteCatalogue = context.chat_data["catalogue"]
    chosen = set(draft["offices"])
    names = catalogue.names
    rows = [[(("✅ " if oid in chosen else "▫️ ") + names.office(oid, 50), f"off:{oid}")]
            for oid in sorted(catalogue.offices_of.get(draft["service"], set()), key=names.office)]
    rows.append([(("✅ " if not chosen else "") + t(language, "any_office"), "off:any"),
                 (t(language, "done"), "off:done")])
    return rows


async def _ask_offices(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    language = lang(update, context)
    await reply(update, context, t(language, "ask_offices"), _office_buttons(context, language))
    return OFFICES


@_step("service", "offices")
async def office_toggled(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await acknowledge(update)
    draft = _draft(context)
    choice = update.callback_query.data.split(":")[1]
    if choice == "done":
        return await _ask_dates(update, context)
    if choice == "any":
        draft["offices"] = []
    else:
        office = int(choice)
        catalogue: SiteCatalogue = context.chat_data["catalogue"]
        if office not in catalogue.offices_of.get(draft["service"], set()):
            await say(update, context, "stale_button")
            return OFFICES
        offices = set(draft["offices"]) ^ {office}
        draft["offices"] = sorted(offices)
    await _redraw(update, _office_buttons(context, lang(update, context)))
    return OFFICES


async def _ask_dates(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    language = lang(update, context)
    await reply(update, context, t(language, "ask_dates"),
                [[(t(language, "weeks", n=4), "dt:28"), (t(language, "months", n=3), "dt:91"),
                  (t(language, "months", n=6), "dt:182")]])
    return DATES


@_step("service")
async def dates_picked(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await acknowledge(update)
    days = int(update.callback_query.data.split(":")[1])
    today = datetime.now(BERLIN).date()
    draft = _draft(context)
    draft["from"], draft["to"] = today.isoformat(), (today + timedelta(days=min(days, 366))).isoformat()
    return await _ask_weekdays(update, context)


@_step("service")
async def dates_typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    try:
        start, end = parse_dates((update.message.text or "")[:60], datetime.now(BERLIN).date())
    except InvalidRequest as exc:
        await say(update, context, "bad_dates", problem=str(exc))
        return DATES
    draft = _draft(context)
    draft["from"], draft["to"] = start.isoformat(), end.isoformat()
    return await _ask_weekdays(update, context)


def _weekday_buttons(context: ContextTypes.DEFAULT_TYPE, language: str) -> list[list[tuple[str, str]]]:
    chosen = set(_draft(context)["weekdays"])
    names = WEEKDAY_NAMES[language]
    return [[(("✅" if d in chosen else "▫️") + names[d], f"wd:{d}") for d in range(4)],
            [(("✅" if d in chosen else "▫️") + names[d], f"wd:{d}") for d in range(4, 7)]
            + [(t(language, "done"), "wd:done")]]


async def _ask_weekdays(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    language = lang(update, context)
    await reply(update, context, t(language, "ask_weekdays"), _weekday_buttons(context, language))
    return WEEKDAYS


@_step("weekdays")
async def weekday_toggled(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await acknowledge(update)
    draft = _draft(context)
    choice = update.callback_query.data.split(":")[1]
    if choice == "done":
        if not draft["weekdays"]:
            await say(update, context, "no_weekday")
            return WEEKDAYS
        return await _ask_times(update, context)
    draft["weekdays"] = sorted(set(draft["weekdays"]) ^ {int(choice)})
    await _redraw(update, _weekday_buttons(context, lang(update, context)))
    return WEEKDAYS


async def _ask_times(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    language = lang(update, context)
    await reply(update, context, t(language, "ask_time"),
                [[(t(language, "any_time"), "tm:00:00-23:59")],
                 [(t(language, "morning"), "tm:00:00-12:00"), (t(language, "afternoon"), "tm:12:00-23:59")]])
    return TIMES


async def _set_times(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> int:
    try:
        start, end = parse_time_window(text[:20])
        if end <= start:
            raise InvalidRequest("the window must end after it starts")
    except InvalidRequest as exc:
        await say(update, context, "bad_time", problem=str(exc))
        return TIMES
    draft = _draft(context)
    draft["time"] = f"{start:%H:%M}-{end:%H:%M}"
    language = lang(update, context)
    await reply(update, context, t(language, "ask_mode"),
                [[(t(language, "mode_auto"), "md:auto"), (t(language, "mode_notify"), "md:notify")]])
    return MODE


@_step("weekdays")
async def times_picked(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await acknowledge(update)
    return await _set_times(update, context, update.callback_query.data[3:])


@_step("weekdays")
async def times_typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    return await _set_times(update, context, update.message.text or "")


def describe(draft: dict, catalogue: SiteCatalogue, language: str) -> dict[str, object]:
    offices = ", ".join(catalogue.names.office(o) for o in draft["offices"]) or t(language, "any_office")
    days = [WEEKDAY_NAMES[language][d] for d in draft["weekdays"]]
    start, end = date.fromisoformat(draft["from"]), date.fromisoformat(draft["to"])
    return {"service": catalogue.names.service(draft["service"]), "count": draft["count"],
            "offices": offices, "dates": f"{start:%d.%m.%Y}–{end:%d.%m.%Y}", "weekdays": ", ".join(days),
            "times": draft["time"].replace("-", "–"),
            "mode": t(language, "mode_auto" if draft["mode"] == "auto" else "mode_notify")}


@_step("time")
async def mode_picked(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await acknowledge(update)
    draft = _draft(context)
    draft["mode"] = "notify" if update.callback_query.data == "md:notify" else "auto"
    language = lang(update, context)
    await reply(update, context, t(language, "watch_summary", **describe(draft, context.chat_data["catalogue"],
                                                                         language)),
                [[(t(language, "save"), "ws:save"), (t(language, "forget_no"), "ws:cancel")]])
    return CONFIRM


@_step("mode")
async def confirmed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await acknowledge(update)
    if update.callback_query.data != "ws:save":
        context.user_data.pop("watch", None)
        await say(update, context, "cancelled")
        return ConversationHandler.END
    bot = mta(context)
    draft = context.user_data.pop("watch", {})
    catalogue: SiteCatalogue = context.chat_data.pop("catalogue")
    person = bot.chats.person(chat_id_of(update))
    if person is None:
        await say(update, context, "not_onboarded")
        return ConversationHandler.END
    contact = Contact(person.first_name, person.last_name, person.email, person.phone or "")
    start, end = (time.fromisoformat(x) for x in draft["time"].split("-"))
    request = BookingRequest(service_id=draft["service"], office_ids=tuple(draft["offices"]), count=draft["count"],
                             date_from=date.fromisoformat(draft["from"]), date_to=date.fromisoformat(draft["to"]),
                             weekdays=frozenset(draft["weekdays"]), time_from=start, time_to=end, contact=contact)
    try:
        request.validate(datetime.now(BERLIN).date(), catalogue.services, catalogue.offices_of)
    except InvalidRequest as exc:
        await say(update, context, "watch_invalid", problem=str(exc))
        return ConversationHandler.END
    watch_id = await bot.service.add_watch(contact, request.service_id, list(request.office_ids), request.date_from,
                                           request.date_to, count=request.count, weekdays=sorted(request.weekdays),
                                           time_from=f"{start:%H:%M}", time_to=f"{end:%H:%M}", mode=draft["mode"],
                                           chat_id=chat_id_of(update), key=person.key)
    await say(update, context, "watch_saved", watch_id=watch_id)
    return ConversationHandler.END


def handlers(timeout_s: float) -> list:
    text = filters.TEXT & ~filters.COMMAND
    return [conversation(
        entry_points=[CommandHandler("watch", begin)],
        states={
            SERVICE: [MessageHandler(text, service_typed), CallbackQueryHandler(service_picked, pattern=r"^svc:\d{1,10}$")],
            COUNT: [CallbackQueryHandler(count_picked, pattern=r"^cnt:\d{1,2}$")],
            OFFICES: [CallbackQueryHandler(office_toggled, pattern=r"^off:(\d{1,10}|any|done)$")],
            DATES: [CallbackQueryHandler(dates_picked, pattern=r"^dt:\d{1,3}$"), MessageHandler(text, dates_typed)],
            WEEKDAYS: [CallbackQueryHandler(weekday_toggled, pattern=r"^wd:([0-6]|done)$")],
            TIMES: [CallbackQueryHandler(times_picked, pattern=r"^tm:\d\d:\d\d-\d\d:\d\d$"),
                    MessageHandler(text, times_typed)],
            MODE: [CallbackQueryHandler(mode_picked, pattern=r"^md:(auto|notify)$")],
            CONFIRM: [CallbackQueryHandler(confirmed, pattern=r"^ws:(save|cancel)$")],
            ConversationHandler.TIMEOUT: [MessageHandler(filters.ALL, timed_out), CallbackQueryHandler(timed_out)],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        conversation_timeout=timeout_s,
        name="watch",
    )]
