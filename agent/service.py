"""The agent as one object: it starts and stops every component, and owns the commands.

``async with AgentService(settings, notifier) as agent:`` opens, in order, the
database (settling attempts a crash left open), the rate budget, Playwright
and the browser pool, the scheduler, the poll page and warm pages (through the
watcher), and the notifier; leaving the block stops them in reverse order,
letting a booking in flight finish first (``MTA_STOP_GRACE_S``).

The watch commands (add, pause, resume, delete, list, status) live here: the
CLI and the Telegram bot call the same methods. They work on the database
whether or not the agent runs in this process; when it does, the change takes
effect at once (otherwise a running ``mta run`` picks it up within
``MTA_REFRESH_S``).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import date

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from loguru import logger
from playwright.async_api import Playwright, async_playwright
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from flows.links import parse_link
from flows.outcomes import Outcome, OutcomeKind
from flows.request import Contact
from flows.timezone import BERLIN

from .activation import activate_link, mark_process, record_activation
from .artifacts import clean_stale
from .budget import RateBudget
from .calendar_file import keep_calendar_file
from .config import Settings
from .db import open_database
from .mailbox_watcher import MailboxWatcher
from .models import Attempt, Person, Watch
from .names import Names, load_names, remember_names
from .notice_policy import NoticePolicy
from .notices import Confirmed, Notice
from .notifier import ConsoleNotifier, Notifier
from .logs import remember_contact
from .metrics import AgentCollector, PrometheusMetrics, instrument_budget
from .ops_server import OpsServer, ops_app
from .pool import BrowserPool
from .recovery import settle_unfinished
from .runner import budget_for, selector_book
from .site_api import SiteApi, SiteCatalogue, SiteUnavailable
from .states import NoticeKind
from .tracing import prepare_recordings
from .watcher import Watcher
from .watches import add_watch, expire_past, remember_people


class UnknownWatch(LookupError):
    pass


CATALOGUE_TTL_S = 3600.0


@dataclass(frozen=True)
class ActivationResult:
    confirmed: bool
    status: str  # confirmed | reserved | preconfirmed | cancelled | gone | refused | unknown
    reason: str


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class WatchView:
    """A watch as commands show it (no personal data)."""

    id: int
    person: str
    service_id: int
    count: int
    office_ids: list[int]
    date_from: str
    date_to: str
    weekdays: list[int]
    time_from: str
    time_to: str
    mode: str
    state: str
    reason: str | None


class AgentService:
    def __init__(self, settings: Settings, notifier: Notifier | None = None,
                 sessions: sessionmaker[Session] | None = None, budget: RateBudget | None = None) -> None:
        self.settings = settings
        self.channel: Notifier = notifier or ConsoleNotifier()  # where notices go without a bot
        self.notifier: Notifier = self.channel  # cooldowns and quiet hours in front of it while running
        self.bot = None  # the Telegram bot (agent/bot/), when MTA_TELEGRAM_TOKEN is set
        self._policy_task: asyncio.Task | None = None
        self._catalogue: tuple[float, SiteCatalogue] | None = None
        self._sessions = sessions
        self.budget = budget or budget_for(settings)
        self.playwright: Playwright | None = None
        self._playwright_cm = None
        self.pool: BrowserPool | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self.watcher: Watcher | None = None
        self.mailbox: MailboxWatcher | None = None  # reads the city's activation e-mail (MTA_IMAP_HOST set)
        self.settled: list[str] = []
        self.metrics: PrometheusMetrics | None = None
        self.ops: OpsServer | None = None  # /health, /ready, /metrics while running
        self._unmeter = lambda: None

    @property
    def sessions(self) -> sessionmaker[Session]:
        if self._sessions is None:
            self._sessions = open_database(self.settings.database_url)
        return self._sessions

    @property
    def running(self) -> bool:
        return self.watcher is not None

    # -- lifecycle --------------------------------------------------------------------------
    async def __aenter__(self) -> AgentService:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self, schedule: bool = True) -> None:
        sessions = self.sessions
        remember_people(sessions)  # their names and addresses are masked in every log line
        async with SiteApi(self.settings.api_url, self.budget) as api:
            self.settled = await settle_unfinished(sessions, api)
        for line in self.settled:
            logger.warning("settled {}", line)
        clean_stale(self.settings.recordings_dir)  # what a killed run left of its traces' parts
        expire_past(sessions, date.today())
        self.prune_recordings()
        self._name_console()
        try:
            await self._start_components(sessions, schedule)
        except BaseException:  # whatever started (the bot, Playwright, the mailbox) is stopped again
            await self.stop()
            raise

    async def _start_components(self, sessions: sessionmaker[Session], schedule: bool) -> None:
        await self._start_notices()
        if self.settings.mailbox_enabled:  # wrong credentials end the start here, before anything runs
            mailbox = MailboxWatcher(self.settings, sessions, self.notifier, self.budget)
            await mailbox.check_login()
            self.mailbox = mailbox
        self._playwright_cm = async_playwright()
        self.playwright = await self._playwright_cm.__aenter__()
        self.pool = BrowserPool(self.playwright, self.settings, self.settings.context_max_uses,
                                self.settings.context_max_age_s)
        # A job that falls due while the loop is busy (SQLite, a GC pause, a loaded machine) still runs, late,
        # once: APScheduler's default drops a run more than 1 s late, and a poll is a one-shot job that arms
        # its successor when it runs, so a dropped run would end that query's polling for good.
        self.scheduler = AsyncIOScheduler(timezone=BERLIN, job_defaults={"misfire_grace_time": None, "coalesce": True})
        self.metrics = PrometheusMetrics()
        self._unmeter = instrument_budget(self.budget, self.metrics)
        self.watcher = Watcher(self.settings, sessions, self.notifier, self.budget, self.pool,
                               selector_book(self.settings), self.scheduler, metrics=self.metrics)
        await self.watcher.refresh()
        if self.mailbox is not None:
            self.mailbox.start(self.pool)
        if schedule:
            s = self.settings
            self.scheduler.add_job(self.watcher.refresh, "interval", seconds=s.refresh_s, id="refresh-watches")
            self.scheduler.add_job(self.watcher.relearn, "interval", minutes=10, id="relearn-patterns")
            self.scheduler.add_job(self.prune_recordings, "interval", hours=1, id="prune-recordings")
            self.scheduler.add_job(self.watcher.maintain_warm_pages, "interval", seconds=s.warm_check_s,
                                   id="warm-pages", max_instances=1, coalesce=True)
            self.scheduler.start()
        await self._start_ops()

    async def _start_notices(self) -> None:
        """The Telegram bot when a token is set (it falls back to the console for people without a chat),
        else the console; cooldowns and quiet hours in front of either."""
        if self.settings.telegram_enabled:
            from .bot import TelegramBot

            self.bot = TelegramBot(self, self.settings, fallback=self.channel)
            await self.bot.start()  # a token Telegram refuses ends the start here
            self.notifier = NoticePolicy.for_bot(self.bot, self.settings)
        else:
            logger.debug("no MTA_TELEGRAM_TOKEN: notices go to the console")  # mta run says it once, in its own words
            self.notifier = NoticePolicy(self.channel, self.settings, quiet_hours=False)
        self._policy_task = asyncio.create_task(self.notifier.run_flusher(), name="notices-after-quiet-hours")

    def _name_console(self) -> None:
        """The console addresses people by first name (never a key in what a person reads)."""
        if isinstance(self.channel, ConsoleNotifier):
            self.channel.name_of = self.display_name

    def display_name(self, person_key: str) -> str:
        with self.sessions() as session:
            person = session.scalars(select(Person).where(Person.key == person_key)).first()
        return person.first_name if person is not None and person.first_name else "you"

    def prune_recordings(self) -> None:
        """Traces past their age, then the oldest over the size limit (also before every attempt)."""
        s = self.settings
        for path in prepare_recordings(s.recordings_dir, s.trace_retention_days, s.recordings_max_mb):
            logger.info("pruned {}", path.name)

    async def _start_ops(self) -> None:
        """The health/metrics endpoints (a component like the others), unless MTA_METRICS_PORT=-1."""
        assert self.metrics is not None
        self.metrics.registry.register(AgentCollector(self))
        if self.settings.metrics_port < 0:
            return
        self.ops = OpsServer(ops_app(self, self.metrics.registry, self.settings.ready_poll_age_s),
                             self.settings.metrics_host, self.settings.metrics_port)
        await self.ops.start()
        logger.info("health and metrics on {}/ready and /metrics", self.ops.url)

    async def stop(self) -> None:
        """Reverse order: the endpoints, the watcher (a booking in flight finishes), the mailbox (an activation
        in flight is dropped; its mail stays unseen for the next start), the scheduler, pages, pool, Playwright."""
        if self.ops is not None:
            await self.ops.stop()
            self.ops = None
        self._unmeter()
        if self.watcher is not None:
            await self.watcher.stop(self.settings.stop_grace_s)
        if self.mailbox is not None:
            await self.mailbox.stop()
            self.mailbox = None
        if self._policy_task is not None:
            self._policy_task.cancel()
            await asyncio.gather(self._policy_task, return_exceptions=True)
            self._policy_task = None
        if self.bot is not None:  # after the watcher: its last notices (stopped mid-booking) still go out
            await self.bot.stop()
            self.bot = None
        self.notifier = self.channel
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self.pool is not None:
            await self.pool.close()
        if self._playwright_cm is not None:
            await self._playwright_cm.__aexit__(None, None, None)
        self.watcher = self.scheduler = self.pool = self.playwright = self._playwright_cm = None

    # -- commands ------------------------------------------------------------------------------
    async def add_watch(self, contact: Contact, service_id: int, office_ids: list[int], date_from: date,
                        date_to: date, **options: object) -> int:
        remember_contact(contact)
        watch_id = add_watch(self.sessions, contact, service_id, office_ids, date_from, date_to, **options)
        await self.changed()
        return watch_id

    async def pause(self, watch_id: int) -> WatchView:
        return await self._set_state(watch_id, "paused", "paused by the person", only_from=("active",))

    async def resume(self, watch_id: int) -> WatchView:
        return await self._set_state(watch_id, "active", None, only_from=("paused",))

    async def delete(self, watch_id: int) -> None:
        with self.sessions.begin() as session:
            watch = session.get(Watch, watch_id)
            if watch is None:
                raise UnknownWatch(f"no watch {watch_id}")
            session.delete(watch)
        await self.changed()

    def list_watches(self, person_key: str | None = None) -> list[WatchView]:
        """Every watch, or one person's (the bot shows a person their own only)."""
        with self.sessions() as session:
            query = select(Watch).order_by(Watch.id)
            if person_key is not None:
                query = query.join(Person, Watch.person_id == Person.id).where(Person.key == person_key)
            return [_view(w) for w in session.scalars(query)]

    async def catalogue(self) -> SiteCatalogue:
        """The site's services and offices with their names (one budgeted request, kept for an hour)."""
        if self._catalogue is None or time.time() - self._catalogue[0] > CATALOGUE_TTL_S:
            async with SiteApi(self.settings.api_url, self.budget) as api:
                catalogue = await api.catalogue()
            remember_names(self.settings.data_dir, catalogue.names)
            self._catalogue = (time.time(), catalogue)
        return self._catalogue[1]

    async def names(self) -> Names:
        """Service and office names for people to read: the poll page's catalogue (free), else the cached
        catalogue (one budgeted request an hour), else what an earlier run kept; ids where none is known."""
        if self.watcher is not None and self.watcher.names():
            return self.watcher.names()
        try:
            return (await self.catalogue()).names
        except SiteUnavailable:
            return load_names(self.settings.data_dir)

    async def activate(self, link: str, attempt_id: int, via: str = "chat") -> ActivationResult:
        """Activate a held reservation through the page (as ``mta activate`` and the mailbox do); on
        "confirmed", the person is told with the appointment's ``.ics``."""
        process_id, _ = parse_link(link, self.settings.booking_url)
        outcome = await activate_link(self.settings, link, self.budget, self.pool)
        record_activation(self.sessions, process_id, outcome)
        if outcome.kind is not OutcomeKind.CONFIRMED:
            status = {"cancelled": "cancelled", "expired": "gone"}.get(outcome.process_status or "", "unknown")
            return ActivationResult(False, status, outcome.reason)
        await self._tell_confirmed(attempt_id, outcome, via)
        return ActivationResult(True, "confirmed", outcome.reason)

    async def check_activation(self, attempt_id: int) -> ActivationResult:
        """Ask the site's ``appointment/`` (one budgeted request) whether the person activated it."""
        with self.sessions() as session:
            attempt = session.get(Attempt, attempt_id)
            if attempt is None or attempt.process_id is None or not attempt.auth_key:
                return ActivationResult(False, "unknown", f"attempt {attempt_id} holds no reservation")
            process_id, auth_key = attempt.process_id, attempt.auth_key
        async with SiteApi(self.settings.api_url, self.budget) as api:
            answer = await api.appointment(process_id, auth_key)
        if answer.status in ("confirmed", "cancelled", "gone"):
            mark_process(self.sessions, process_id, answer.status)
        if answer.status != "confirmed":
            return ActivationResult(False, answer.status, answer.detail or answer.status)
        process = answer.process or {}
        outcome = Outcome(OutcomeKind.CONFIRMED, "the site reports the appointment confirmed",
                          office_id=process.get("officeId"), office_name=process.get("officeName"),
                          slot_ts=_int(process.get("timestamp")), process_id=process_id,
                          ics=process.get("icsContent") or None)
        await self._tell_confirmed(attempt_id, outcome, "check")
        return ActivationResult(True, "confirmed", outcome.reason)

    async def _tell_confirmed(self, attempt_id: int, outcome: Outcome, via: str) -> None:
        with self.sessions() as session:
            attempt = session.get(Attempt, attempt_id)
            person = attempt.person if attempt else ""
            slot_ts = outcome.slot_ts or (attempt.slot_ts if attempt else 0) or 0
        outcome.slot_ts = slot_ts
        ics = keep_calendar_file(self.settings, attempt_id, outcome)
        await self.notifier.send(Notice(person, NoticeKind.ACTIVATED,
                                        Confirmed(attempt_id, slot_ts, outcome.office_name or "", via),
                                        attachment=ics))

    def status(self) -> dict:
        """What the agent is doing (for status lines, the bot and health checks)."""
        queries = self.watcher.status() if self.watcher is not None else []
        return {"running": self.running, "budget": self.budget.state(), "queries": queries,
                "booking": self.watcher.booking_in_flight() if self.watcher is not None else False,
                "bookings": [{k: b[k] for k in ("watch", "attempt", "outcome")}
                             for b in (self.watcher.stats.bookings[-3:] if self.watcher is not None else [])],
                "warmPages": len(self.watcher.warm.pages) if self.watcher else 0,
                "openContexts": self.pool.open_contexts if self.pool else 0,
                "mailbox": self.mailbox.status() if self.mailbox else None}

    async def _set_state(self, watch_id: int, state: str, reason: str | None, only_from: tuple[str, ...]) -> WatchView:
        with self.sessions.begin() as session:
            watch = session.get(Watch, watch_id)
            if watch is None:
                raise UnknownWatch(f"no watch {watch_id}")
            if watch.state not in only_from:
                raise ValueError(f"watch {watch_id} is {watch.state}; only a watch that is "
                                 f"{' or '.join(only_from)} can be set {state}")
            watch.state, watch.state_reason = state, reason
            view = _view(watch)
        await self.changed()
        return view

    async def changed(self) -> None:
        """Watches changed (a command, /forget): a running watcher re-reads them now."""
        if self.watcher is not None:
            await self.watcher.refresh()


def _view(w: Watch) -> WatchView:
    return WatchView(w.id, f"person {w.person_id}", w.service_id, w.count, list(w.office_ids), w.date_from, w.date_to,
                     list(w.weekdays), w.time_from, w.time_to, w.mode, w.state, w.state_reason)
