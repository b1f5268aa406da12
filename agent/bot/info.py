"""``/status``, ``/history``, ``/patterns``, and the admin's ``/trace``, ``/allow``, ``/deny``."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import timezone

from sqlalchemy import select
from telegram import Update
from telegram.ext import CommandHandler, ContextTypes

from ..heatmap import heatmap_png
from ..models import Attempt, Observation
from ..notice_text import clock, e, when
from ..patterns import learn
from ..tracing import find_trace
from .common import onboarded, chat_id_of, lang, mta, reply, say
from .texts import t

WHY = {
    "de": {"rate_limited": "Anfragelimit der Seite", "quiet": "geplante Pause für den Zähler der Seite",
           "site_error": "Störung oder Wartung der Seite", "token": "Captcha wird erneuert",
           "handoff": "Captcha verlangt Sie", "booking": "bucht gerade", "starting": "startet",
           "watching": "sucht"},
    "en": {"rate_limited": "the site's rate limit", "quiet": "a planned pause for the site's counter",
           "site_error": "site trouble or maintenance", "token": "renewing the captcha",
           "handoff": "the captcha needs you", "booking": "booking now", "starting": "starting",
           "watching": "watching"},
}


async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    bot = mta(context)
    key = await onboarded(update, context)
    if key is None:
        return
    language = lang(update, context)
    views = bot.service.list_watches(person_key=key)
    if not views:
        await say(update, context, "no_watches")
        return
    watcher = bot.service.watcher
    if watcher is None:
        await say(update, context, "status_not_running")
        return
    lines = [t(language, "status_head")]
    for view in views:
        query = next((q for q in watcher.queries.values() if view.id in q.watch_ids), None)
        if query is None:
            lines.append(f"<b>{view.id}</b> {e(view.state)}")
            continue
        last = clock(query.last_ok) if query.last_ok else t(language, "never")
        upcoming = clock(query.next_poll) if query.next_poll > time.time() else "…"
        word = WHY[language].get(query.status.value, query.status.value)
        why = f" ({e(query.detail)})" if query.detail else ""
        lines.append(t(language, "status_line", watch_id=view.id, label=watcher.label(query.key), state=word,
                       last=last, next=upcoming) + why)
    budget = bot.service.budget.state()
    circuit = ""
    if budget["circuit"] == "open":
        circuit = f"; ⏸ {clock(budget['openUntil'])}"
    elif budget.get("quietUntil"):
        circuit = f"; 💤 {clock(budget['quietUntil'])}"
    lines.append(t(language, "budget_line", used=budget["inWindow"], limit=budget["limit"],
                   site=budget["siteCounter"], site_limit=budget["siteLimit"], circuit=circuit))
    await reply(update, context, "\n".join(lines))


async def history(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    bot = mta(context)
    key = await onboarded(update, context)
    if key is None:
        return
    language = lang(update, context)
    with bot.service.sessions() as session:
        attempts = list(session.scalars(select(Attempt).where(Attempt.person == key)
                                        .order_by(Attempt.id.desc()).limit(10)))
    if not attempts:
        await say(update, context, "no_history")
        return
    lines = [t(language, "history_head")]
    for a in attempts:
        slot = f", {when(a.slot_ts, language)}" if a.slot_ts else ""
        status = f" → {e(a.process_status)}" if a.process_status else ""
        started = a.created_at if a.created_at.tzinfo else a.created_at.replace(tzinfo=timezone.utc)  # SQLite: naive UTC
        lines.append(f"<b>{a.id}</b> {when(started.timestamp(), language)}: "
                     f"{e(a.outcome or a.phase)}{slot}{status}")
    await reply(update, context, "\n".join(lines))


async def patterns(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    bot = mta(context)
    key = await onboarded(update, context)
    if key is None:
        return
    language = lang(update, context)
    services = sorted({w.service_id for w in bot.service.list_watches(person_key=key)})
    with bot.service.sessions() as session:
        query = select(Observation.first_seen)
        if services:
            query = query.where(Observation.service_id.in_(services))
        seen = list(session.scalars(query))
    pattern = learn(seen)
    if not pattern.observations:
        await say(update, context, "no_patterns")
        return
    names = await bot.service.names()
    title = ", ".join(names.service(s) for s in services)[:60]
    png = await asyncio.to_thread(heatmap_png, pattern, title, language)  # matplotlib: not on the event loop
    await reply(update, context, t(language, "patterns_caption", n=pattern.observations), photo=png)


def _admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    return mta(context).chats.is_admin(chat_id_of(update))  # the gate lets private chats only through


async def trace(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not _admin(update, context):
        await say(update, context, "admin_only")
        return
    args = context.args or []
    if len(args) != 1 or not re.fullmatch(r"[0-9]{1,10}", args[0]):
        await say(update, context, "trace_usage")
        return
    attempt_id = int(args[0])
    bot = mta(context)
    with bot.service.sessions() as session:
        attempt = session.get(Attempt, attempt_id)
    found = find_trace(bot.settings.recordings_dir, attempt_id, attempt.trace_path if attempt else None)
    if found is None:
        await say(update, context, "no_trace", attempt=attempt_id)
        return
    language = lang(update, context)
    await reply(update, context, t(language, "trace_caption", attempt=attempt_id),
                document=(found.name, await asyncio.to_thread(found.read_bytes)))


async def _allow_or_deny(update: Update, context: ContextTypes.DEFAULT_TYPE, allowed: bool) -> None:
    command = "allow" if allowed else "deny"
    if not _admin(update, context):
        await say(update, context, "admin_only")
        return
    args = context.args or []
    if len(args) != 1 or not re.fullmatch(r"-?[0-9]{1,16}", args[0]):
        await say(update, context, "allow_usage", command=command)
        return
    chat_id = int(args[0])
    bot = mta(context)
    if not allowed and bot.chats.is_admin(chat_id):
        await say(update, context, "deny_self")
        return
    bot.chats.set_allowed(chat_id, allowed)
    await say(update, context, "allowed" if allowed else "denied", chat_id=chat_id)


async def allow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _allow_or_deny(update, context, True)


async def deny(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _allow_or_deny(update, context, False)


def handlers() -> list:
    return [CommandHandler("status", status), CommandHandler("history", history),
            CommandHandler("patterns", patterns), CommandHandler("trace", trace),
            CommandHandler("allow", allow), CommandHandler("deny", deny)]
