"""``/start`` (consent, then contact details checked as the site checks them), ``/me``, ``/forget``,
``/language``."""

from __future__ import annotations

from sqlalchemy import func, select
from telegram import Update
from telegram.ext import (CallbackQueryHandler, CommandHandler, ContextTypes, ConversationHandler, MessageHandler,
                          filters)

from flows.request import EMAIL_RE, PHONE_RE, Contact, InvalidRequest

from ..forget import StillBooking, UnknownPerson, forget
from ..logs import remember_contact
from ..models import Watch
from ..quiet_hours import parse_quiet_hours
from ..watches import person_key, upsert_person
from .common import acknowledge, conversation, chat_id_of, lang, mta, reply, say
from .texts import t

CONSENT, FIRST, LAST, EMAIL, PHONE = range(5)
LIMIT = 50  # the site's form: at most 50 characters per field


def field_problem(field: str, value: str, lang_: str) -> str | None:
    """The site's client-side rules for one contact field (spec §3), in the person's language."""
    de = lang_ == "de"
    value = value.strip()
    if field in ("first", "last"):
        if not value:
            return "Bitte einen Namen eingeben" if de else "Please enter a name"
        if len(value) > LIMIT:
            return f"Höchstens {LIMIT} Zeichen" if de else f"At most {LIMIT} characters"
    if field == "email" and (not EMAIL_RE.match(value) or len(value) > LIMIT):
        return "Das ist keine gültige E-Mail-Adresse" if de else "That is not a valid e-mail address"
    if field == "phone" and not PHONE_RE.match(value):
        return ("Nur Ziffern, optional mit + am Anfang, 7 bis 15 lang" if de
                else "Digits only, optionally starting with +, 7 to 15 long")
    return None


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    bot = mta(context)
    language = lang(update, context)
    if bot.chats.person_key(chat_id_of(update)) is not None:
        await say(update, context, "help")
        return ConversationHandler.END
    await reply(update, context, t(language, "consent", retention=bot.settings.trace_retention_days),
                [[(t(language, "agree"), "consent:yes"), (t(language, "decline"), "consent:no")]])
    return CONSENT


async def consent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await acknowledge(update)
    if update.callback_query.data != "consent:yes":
        await say(update, context, "declined")
        return ConversationHandler.END
    context.user_data["contact"] = {}
    await say(update, context, "ask_first_name")
    return FIRST


def _step(field: str, next_key: str | None, next_state: int):
    async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        value = (update.message.text or "").strip()
        problem = field_problem(field, value, lang(update, context))
        if problem:
            await say(update, context, "invalid", problem=problem)
            return next_state - 1
        context.user_data.setdefault("contact", {})[field] = value
        if next_key == "ask_phone":
            language = lang(update, context)
            await reply(update, context, t(language, "ask_phone"), [[(t(language, "skip"), "phone:skip")]])
        elif next_key:
            await say(update, context, next_key)
        else:
            return await _finish(update, context)
        return next_state

    return handle


async def skip_phone(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await acknowledge(update)
    context.user_data.setdefault("contact", {})["phone"] = ""
    return await _finish(update, context)


async def _finish(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    bot = mta(context)
    data = context.user_data.pop("contact", {})
    contact = Contact(data.get("first", ""), data.get("last", ""), data.get("email", ""), data.get("phone", ""))
    try:
        contact.validate()
    except InvalidRequest as exc:  # a conversation resumed oddly: start over rather than store half
        await say(update, context, "invalid", problem=str(exc))
        return ConversationHandler.END
    remember_contact(contact)  # masked in every log line from now on
    chat_id = chat_id_of(update)
    existing = bot.chats.person_key(chat_id)
    key = existing or person_key(contact.email)
    if existing is None and bot.chats.taken(key, chat_id):
        # someone else's e-mail: linking would hand this chat their watches, attempts and links
        await say(update, context, "email_taken")
        return ConversationHandler.END
    with bot.service.sessions.begin() as session:
        upsert_person(session, contact, chat_id, key=key)
    bot.chats.link_person(chat_id, key, lang(update, context))
    await say(update, context, "onboarded")
    return ConversationHandler.END


async def me(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    bot = mta(context)
    person = bot.chats.person(chat_id_of(update))
    if person is None:
        await say(update, context, "not_onboarded")
        return
    with bot.service.sessions() as session:
        watches = session.scalar(select(func.count(Watch.id)).where(Watch.person_id == person.id)) or 0
    await say(update, context, "me", first=person.first_name, last=person.last_name, email=person.email,
              phone=person.phone or "–", watches=watches)


async def ask_forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    language = lang(update, context)
    if mta(context).chats.person_key(chat_id_of(update)) is None:
        await say(update, context, "not_onboarded")
        return
    await reply(update, context, t(language, "forget_confirm"),
                [[(t(language, "forget_yes"), "forget:yes"), (t(language, "forget_no"), "forget:no")]])


async def do_forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await acknowledge(update)
    bot = mta(context)
    chat_id = chat_id_of(update)
    if update.callback_query.data != "forget:yes":
        await say(update, context, "cancelled")
        return
    key = bot.chats.person_key(chat_id)
    if key is None:
        await say(update, context, "not_onboarded")
        return
    language = lang(update, context)
    try:
        done = forget(bot.service.sessions, key, bot.settings.recordings_dir)
    except StillBooking:
        await say(update, context, "forget_busy")
        return
    except UnknownPerson:
        done = None
    bot.chats.forget(chat_id)
    context.user_data.clear()
    await bot.service.changed()
    await reply(update, context, t(language, "forgotten", watches=done.watches if done else 0,
                                   attempts=done.attempts if done else 0, traces=len(done.traces) if done else 0))


async def language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await reply(update, context, "Deutsch / English?", [[("Deutsch", "lang:de"), ("English", "lang:en")]])


async def set_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await acknowledge(update)
    choice = "de" if update.callback_query.data == "lang:de" else "en"
    mta(context).chats.set_language(chat_id_of(update), choice)
    await say(update, context, "language_set")


async def quiet(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/quiet`` shows this chat's quiet hours; ``/quiet 23:00-07:00`` sets them, ``/quiet off`` turns them
    off, ``/quiet default`` returns to the agent's setting. A reservation is told at any hour regardless."""
    chats = mta(context).chats
    chat_id = chat_id_of(update)
    language = lang(update, context)
    choice = " ".join(context.args or []).strip().lower()
    if choice:
        if choice in ("off", "aus", "none", "keine"):
            window: str | None = ""
        elif choice in ("default", "standard"):
            window = None
        else:
            try:
                parse_quiet_hours(choice)
            except ValueError:
                await say(update, context, "quiet_usage")
                return
            window = choice
        chats.set_quiet_hours(chat_id, window)
    own = chats.quiet_hours(chat_id)
    setting = mta(context).settings.quiet_hours
    if own is None:
        current = t(language, "quiet_default", window=setting) if setting else t(language, "quiet_none")
    else:
        current = t(language, "quiet_own", window=own) if own else t(language, "quiet_none")
    await reply(update, context, current + ("" if choice else "\n" + t(language, "quiet_usage")))


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    context.user_data.clear()
    await say(update, context, "cancelled")
    return ConversationHandler.END


async def timed_out(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    context.user_data.clear()
    if update is not None and update.effective_chat is not None:
        await say(update, context, "timeout")


def handlers(timeout_s: float) -> list:
    text = filters.TEXT & ~filters.COMMAND
    dialogue = conversation(
        entry_points=[CommandHandler("start", start)],
        states={
            CONSENT: [CallbackQueryHandler(consent, pattern=r"^consent:")],
            FIRST: [MessageHandler(text, _step("first", "ask_last_name", LAST))],
            LAST: [MessageHandler(text, _step("last", "ask_email", EMAIL))],
            EMAIL: [MessageHandler(text, _step("email", "ask_phone", PHONE))],
            PHONE: [MessageHandler(text, _step("phone", None, PHONE + 1)),
                    CallbackQueryHandler(skip_phone, pattern=r"^phone:skip$")],
            ConversationHandler.TIMEOUT: [MessageHandler(filters.ALL, timed_out),
                                          CallbackQueryHandler(timed_out)],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        conversation_timeout=timeout_s,
        name="onboarding",
    )
    return [
        dialogue,
        CommandHandler("me", me),
        CommandHandler("forget", ask_forget),
        CallbackQueryHandler(do_forget, pattern=r"^forget:"),
        CommandHandler("language", language),
        CommandHandler("quiet", quiet),
        CallbackQueryHandler(set_language, pattern=r"^lang:(de|en)$"),
    ]
