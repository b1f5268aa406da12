"""The Telegram bot: one more component of the agent's service, and a notifier.

Started and stopped by ``AgentService`` inside ``mta run``; its commands call
the service's (the same ones the CLI calls). It long-polls ``getUpdates`` on
``MTA_TELEGRAM_BASE_URL`` (the official Bot API by default; tests point it at
a local stand-in). Telegram's own trouble never reaches the watcher: sends go
through the outbox (``outbox.py``), and a Bot API that cannot be reached at
start is tried again in the background while notices go to the console.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from datetime import time as clock_time
from typing import TYPE_CHECKING

from loguru import logger
from sqlalchemy import func, select
from telegram import BotCommand, Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (Application, ApplicationHandlerStop, CallbackQueryHandler, CommandHandler,
                          ContextTypes, MessageHandler, TypeHandler, filters)

from flows.timezone import BERLIN

from ..config import Settings
from ..models import Attempt, Observation, Person, Watch
from ..notice_text import e, render
from ..notices import Digest, Notice, QueryDigest
from ..notifier import Notifier
from ..states import NoticeKind
from . import activation_chat, info, onboarding, watch_list, watch_setup
from .chats import ChatBook
from .common import BotContext, chat_id_of, lang, say
from .outbox import Outbox, Outgoing
from .texts import t

if TYPE_CHECKING:
    from ..service import AgentService

COMMANDS = [("watch", "new watch / neue Suche"), ("watches", "your watches / Ihre Suchen"),
            ("status", "what the agent does / Status"), ("history", "recent attempts / letzte Versuche"),
            ("patterns", "when slots appear / wann Termine erscheinen"), ("me", "your details / Ihre Angaben"),
            ("language", "Deutsch / English"), ("quiet", "quiet hours / Ruhezeit"),
            ("forget", "delete my data / Daten löschen"),
            ("help", "help / Hilfe")]
RETRY_START_S = 30.0
ALERT_CHECK_S = 30.0
STRANGERS_REMEMBERED = 10_000  # refusals answered once per chat per run; kept in memory only


class TelegramRefused(RuntimeError):
    """The Bot API refused the token: a clear error at start, nothing else runs."""


def base_urls(base: str) -> tuple[str, str]:
    """``https://api.telegram.org`` (or ``…/bot``) → the two URLs python-telegram-bot appends the token to."""
    root = base.rstrip("/")
    if root.endswith("/bot"):
        root = root[: -len("/bot")]
    return f"{root}/bot", f"{root}/file/bot"


class TelegramBot:
    def __init__(self, service: AgentService, settings: Settings, fallback: Notifier) -> None:
        self.service = service
        self.settings = settings
        self.fallback = fallback  # people without a chat (added with the CLI) are told on the console
        self.chats = ChatBook(settings, service.sessions)
        base, files = base_urls(settings.telegram_base_url)
        self.app: Application = (
            Application.builder().token(settings.telegram_token.get_secret_value()).base_url(base)
            .base_file_url(files).connect_timeout(10).read_timeout(max(settings.telegram_poll_timeout_s, 10) + 10)
            .get_updates_read_timeout(settings.telegram_poll_timeout_s + 10).build())
        self.outbox = Outbox(self.app.bot, self.chats.blocked)
        self.app.bot_data["mta"] = BotContext(service, settings, self.chats, self.outbox)
        self._strangers: set[int] = set()
        self.handler_errors = 0  # handlers that raised (the error handler answered instead)
        self._started = False
        self._retry: asyncio.Task | None = None
        self._alerts: asyncio.Task | None = None
        self._digest_base: dict[str, int] = {}  # polls per query at the last digest
        self._open_since: float | None = None  # the circuit seen open since
        self._circuit_alerted = False
        self._crashes_seen = 0
        self._register()

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        self.outbox.start()
        try:
            await self._start_app()
        except InvalidToken as exc:
            await self.outbox.stop(0)
            raise TelegramRefused("the Bot API refused MTA_TELEGRAM_TOKEN (check it with BotFather)") from exc
        except (NetworkError, TelegramError) as exc:
            logger.warning("telegram: the Bot API cannot be reached ({}); notices go to the console until it can",
                           type(exc).__name__)
            self._retry = asyncio.create_task(self._keep_trying(), name="telegram-start")
        self._alerts = asyncio.create_task(self._watch_for_alerts(), name="telegram-alerts")

    async def _start_app(self) -> None:
        """Each step only if not done yet: a start that failed halfway is finished by the next try."""
        await self.app.initialize()  # getMe: checks the token (a no-op once initialized)
        await self.app.bot.set_my_commands([BotCommand(c, d) for c, d in COMMANDS])
        if not self.app.running:
            await self.app.start()
        if not self.app.updater.running:
            await self.app.updater.start_polling(poll_interval=0.0,
                                                 timeout=int(self.settings.telegram_poll_timeout_s),
                                                 drop_pending_updates=False,
                                                 allowed_updates=["message", "callback_query"],
                                                 error_callback=self._polling_error)
        self._schedule_digest()
        self._started = True
        logger.info("telegram: bot @{} is listening", self.app.bot.username)

    async def _keep_trying(self) -> None:
        while not self._started:
            await asyncio.sleep(RETRY_START_S)
            try:
                await self._start_app()
            except InvalidToken:
                logger.error("telegram: the Bot API refused MTA_TELEGRAM_TOKEN; notices stay on the console")
                return
            except Exception as exc:  # noqa: BLE001 - keep trying; the console has the notices meanwhile
                logger.warning("telegram: still unreachable ({})", type(exc).__name__)

    async def stop(self) -> None:
        for task in (self._retry, self._alerts):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        # no new updates; the handlers running finish (their answers still go out), also after a half start
        if self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.outbox.stop(self.settings.stop_grace_s if self._started else 0)
        try:
            await self.app.shutdown()
        except Exception:  # noqa: BLE001 - never initialized (Telegram was unreachable): nothing to shut down
            pass
        self._started = False

    @property
    def started(self) -> bool:
        return self._started

    def _polling_error(self, exc: TelegramError) -> None:
        logger.warning("telegram: getUpdates failed ({}); python-telegram-bot retries", type(exc).__name__)

    # -- handlers -------------------------------------------------------------------------------
    def _register(self) -> None:
        timeout = self.settings.telegram_conversation_timeout_s
        app = self.app
        app.add_handler(TypeHandler(Update, self._gate), group=-1)
        for handler in (onboarding.handlers(timeout) + watch_setup.handlers(timeout) + watch_list.handlers()
                        + info.handlers() + activation_chat.handlers()):
            app.add_handler(handler)
        app.add_handler(CommandHandler("help", self._help))
        app.add_handler(MessageHandler(filters.COMMAND, self._unknown))
        app.add_handler(MessageHandler(filters.ALL, self._help))
        app.add_handler(CallbackQueryHandler(self._stale_button))
        app.add_error_handler(self._error)

    async def _gate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Only allowed chats get further; a stranger gets one polite answer and nothing is stored."""
        chat = update.effective_chat
        if chat is None or chat.type != "private":
            raise ApplicationHandlerStop  # groups and channels: not for this bot (a person's data stays private)
        if self.chats.may_use(chat.id):
            self.chats.unblocked(chat.id)
            return
        if update.callback_query is not None:
            try:
                await update.callback_query.answer()
            except TelegramError:
                pass
        elif chat.id not in self._strangers and len(self._strangers) < STRANGERS_REMEMBERED:
            self._strangers.add(chat.id)
            user = update.effective_user
            language = "de" if user and (user.language_code or "").startswith("de") else "en"
            self.outbox.put(Outgoing(chat.id, t(language, "refused", chat_id=chat.id)))
        raise ApplicationHandlerStop

    async def _help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        language = lang(update, context)
        text = t(language, "help") + (t(language, "admin_help") if self.chats.is_admin(chat_id_of(update)) else "")
        await self.outbox.send_now(Outgoing(chat_id_of(update), text))

    async def _unknown(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await say(update, context, "unknown")
        await self._help(update, context)

    async def _stale_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button of an ended conversation (or one forged): answered, and said so."""
        try:
            await update.callback_query.answer()
        except TelegramError:
            pass
        await say(update, context, "stale_button")

    async def _error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A handler failed: logged without the update's content (it may hold personal data); the person is
        told something went wrong rather than left waiting."""
        exc = context.error
        self.handler_errors += 1
        logger.opt(exception=exc).error("telegram: a handler failed: {}", type(exc).__name__)
        if isinstance(update, Update) and update.effective_chat is not None:
            language = lang(update, context)
            self.outbox.put(Outgoing(update.effective_chat.id, "⚠️ Etwas ist schiefgegangen; bitte noch einmal."
                                     if language == "de" else "⚠️ Something went wrong; please try again."))

    # -- notifier ---------------------------------------------------------------------------------
    async def send(self, notice: Notice) -> None:
        """Render in the person's language and queue; no chat (or not reachable yet): the console."""
        target = self.chats.chat_of(notice.person_key) if notice.person_key else None
        if target is None or not self._started:
            await self.fallback.send(notice)
            return
        chat_id, language = target
        rendered = render(notice, language)
        document = None
        if notice.attachment is not None and notice.attachment.exists():
            document = (notice.attachment.name, notice.attachment.read_bytes())
        self.outbox.put(Outgoing(chat_id, rendered.html, rendered.buttons, document))

    async def alert(self, text: str) -> None:
        """An operational alert to the admin chat (site changed, circuit open for long, Chromium restarts)."""
        admin = self.settings.telegram_admin_chat_id
        if admin is None or not self._started:
            return
        self.outbox.put(Outgoing(admin, f"🛎 <b>Admin</b>: {e(text)}"))

    async def _watch_for_alerts(self) -> None:
        while True:
            await asyncio.sleep(ALERT_CHECK_S)
            try:
                await self.check_alerts()
            except Exception:  # noqa: BLE001
                logger.exception("telegram: checking for alerts failed")

    async def check_alerts(self, now: float | None = None) -> list[str]:
        """The circuit open longer than ``MTA_ALERT_CIRCUIT_S`` (once per opening); Chromium crashes."""
        now = time.time() if now is None else now
        sent = []
        budget = self.service.budget.state()
        if budget["circuit"] != "open":
            self._open_since = None
        else:
            self._open_since = self._open_since or now
            if now - self._open_since >= self.settings.alert_circuit_s and not self._circuit_alerted:
                until = datetime.fromtimestamp(budget["openUntil"], BERLIN)
                sent.append(f"the rate-limit circuit has been open for {int(now - self._open_since)} s "
                            f"({budget['reason']}); polls wait until {until:%H:%M}")
        self._circuit_alerted = self._open_since is not None and (self._circuit_alerted or bool(sent))
        pool = self.service.pool
        crashes = getattr(pool, "crash_relaunches", 0) if pool is not None else 0
        if crashes > self._crashes_seen:
            sent.append(f"Chromium crashed and was restarted ({crashes} time(s) since start)")
            self._crashes_seen = crashes
        for text in sent:
            await self.alert(text)
        return sent

    # -- digest -------------------------------------------------------------------------------------
    def _schedule_digest(self) -> None:
        if not self.settings.digest_time or self.app.job_queue is None:
            return
        hour, minute = map(int, self.settings.digest_time.split(":"))
        self.app.job_queue.run_daily(lambda _ctx: self.send_digests(), clock_time(hour, minute, tzinfo=BERLIN),
                                     name="digest")

    async def send_digests(self) -> int:
        """Each person with a chat and a watch: checks made since the last digest, the last successful
        check and slots seen in the last day, per query. Goes through cooldowns and quiet hours."""
        watcher = self.service.watcher
        day_ago = time.time() - 86400
        sent = 0
        with self.service.sessions() as session:
            people = list(session.scalars(select(Person).where(Person.chat_id.is_not(None))))
            for person in people:
                watch_ids = set(session.scalars(select(Watch.id).where(Watch.person_id == person.id,
                                                                         Watch.state == "active")))
                queries = []
                for query in (watcher.queries.values() if watcher else []):
                    if not query.watch_ids & watch_ids:
                        continue
                    key = query.key
                    seen_q = select(func.count(Observation.id)).where(Observation.service_id == key.service_id,
                                                                      Observation.first_seen >= day_ago)
                    if key.office_ids:
                        seen_q = seen_q.where(Observation.office_id.in_(key.office_ids))
                    queries.append(QueryDigest(watcher.label(key), query.poller.polls - self._digest_base.get(key.id, 0),
                                               query.last_ok or None, session.scalar(seen_q) or 0,
                                               query.status.value))
                if not queries:
                    continue
                booked = session.scalar(select(func.count(Attempt.id)).where(
                    Attempt.person == person.key, Attempt.outcome.in_(("reserved", "confirmed")),
                    Attempt.reserved_at >= day_ago)) or 0
                await self.service.notifier.send(Notice(person.key, NoticeKind.DIGEST,
                                                        Digest(tuple(queries), booked)))
                sent += 1
        if watcher is not None:
            self._digest_base = {q.key.id: q.poller.polls for q in watcher.queries.values()}
        return sent

