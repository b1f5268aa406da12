"""The data path of the running agent: watch → poll → match → book → record → notify.

Watches with the same query share one :class:`~agent.poller.QueryPoller`; all
queries poll through the one :class:`~agent.poll_page.PollPage` (one captcha
token for the agent). Each query has a coroutine job on the scheduler that
re-arms itself so that all queries together use ``poll_share`` of the rate
budget, denser in the hours the release-pattern analyzer found hot. New slots
are matched against the query's watches: auto-book watches book on the
query's warm page when it has one (``agent/warm_pages.py``), cold otherwise;
notify-only watches get a message.

The components (pool, budget, scheduler, pages) are started and stopped by
``agent/service.py``; this module only uses them.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from loguru import logger
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from flows.booking import Target
from flows.locators import SelectorBook
from flows.outcomes import OutcomeKind
from flows.request import BookingRequest
from flows.timezone import BERLIN, berlin_day

from .attempts import BookingBlocked
from .budget import CircuitOpen, RateBudget
from .config import Settings
from .metrics import NULL_METRICS, Metrics
from .models import Attempt, Person, Watch
from .names import Names, load_names, remember_names
from .notices import Facts, Failed, Handoff, Notice, Reserved, SlotFound, Stopped
from .notices import Trouble as TroubleFacts
from .notifier import Notifier
from .patterns import ReleasePattern, learn_from_db
from .poll_page import PollPage
from .poller import PollResult, QueryPoller, Slot
from .pool import BrowserPool
from .releases import load_seen, record_poll
from .runner import run_booking, run_warm_booking
from .site_page import SiteTrouble, StreamKey
from .states import NoticeKind, StreamStatus, Trouble
from .warm_pages import WarmPages
from .watches import active_watches, mark_booked, to_request


@dataclass
class QueryState:
    poller: QueryPoller
    watch_ids: set[int] = field(default_factory=set)
    status: StreamStatus = StreamStatus.STARTING
    detail: str = ""
    next_poll: float = 0.0
    cost: int = 1  # requests the latest poll took (the overview and its day reads)
    handled: set[tuple[int, Slot]] = field(default_factory=set)  # (watch, slot) already acted on in this run
    since: float = field(default_factory=time.time)  # polled since (readiness counts a new query's age from here)
    last_ok: float = 0.0  # the latest poll that got an answer (Unix time)

    @property
    def key(self) -> StreamKey:
        return self.poller.key


@dataclass
class Stats:
    polls: int = 0
    new_slots: int = 0
    bookings: list[dict] = field(default_factory=list)
    errors: int = 0


class Watcher:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session], notifier: Notifier, budget: RateBudget,
                 pool: BrowserPool, book: SelectorBook, scheduler: AsyncIOScheduler,
                 metrics: Metrics = NULL_METRICS) -> None:
        self.settings, self.sessions, self.notifier = settings, sessions, notifier
        self.budget, self.pool, self.book, self.scheduler = budget, pool, book, scheduler
        self.metrics = metrics
        self.poll_page = PollPage(settings, pool, budget, book, metrics)
        self.warm = WarmPages(settings, pool, budget, book, site_now=self.poll_page.site_now, metrics=metrics)
        self.poll_page.borrow = self.warm.lend_token
        self.queries: dict[StreamKey, QueryState] = {}
        self.stats = Stats()
        self.pattern: ReleasePattern = learn_from_db(sessions)
        budget.release_hint = lambda now: self.pattern.seconds_to_window(now)
        self._page_lock = asyncio.Lock()  # polls and bookings take turns (one page action at a time)
        self._poll_tasks: dict[StreamKey, asyncio.Task] = {}
        self._side_tasks: set[asyncio.Task] = set()  # warm-page upkeep in progress
        self._booking: StreamKey | None = None
        self._stopping = False
        self._names = load_names(settings.data_dir)  # service and office names (the catalogue's), for people
        self._names_from: object = None  # the catalogue answer they were last taken from

    # -- queries ------------------------------------------------------------------------------
    async def refresh(self) -> None:
        """One query per distinct (service, count, offices) of the active watches; jobs follow."""
        wanted: dict[StreamKey, set[int]] = {}
        for watch, _ in active_watches(self.sessions):
            wanted.setdefault(StreamKey(*watch.query_key), set()).add(watch.id)
        for key in [k for k in self.queries if k not in wanted]:
            self.queries.pop(key)
            if self.scheduler.get_job(_job_id(key)):
                self.scheduler.remove_job(_job_id(key))
        new_keys = [k for k in wanted if k not in self.queries]
        for key, ids in wanted.items():
            if key in self.queries:
                self.queries[key].watch_ids = ids
                self._rearm_if_lost(key)
        for index, key in enumerate(new_keys):
            seen = load_seen(self.sessions, key)
            poller = QueryPoller(key, day_reads=self.settings.poll_day_reads, known=seen or set(),
                                 baseline=seen is None)
            self.queries[key] = QueryState(poller, wanted[key])
            offset = index * self.interval() / max(1, len(new_keys))
            self._arm(key, offset)
        self.warm.want(self.rank_for_warm_pages())
        if not self.queries:
            await self.poll_page.retire()

    def rank_for_warm_pages(self, now: float | None = None) -> list[StreamKey]:
        """Queries with auto-book watches, most likely to need a warm page first: only in or near a
        learned release window (anytime while nothing is learned), more auto-book watches first."""
        now = time.time() if now is None else now
        if self.pattern.hot and self.pattern.density(now) < self.pattern.HOT_DENSITY:
            return []
        autos: dict[StreamKey, int] = {}
        modes = {w.id: w.mode for w, _ in active_watches(self.sessions)}
        for key, state in self.queries.items():
            count = sum(1 for w in state.watch_ids if modes.get(w) == "auto")
            if count:
                autos[key] = count
        return sorted(autos, key=lambda k: (-autos[k], k.service_id, k.office_ids))

    def interval(self, at: float | None = None) -> float:
        """Seconds between two polls of one query so that all queries share the poll budget."""
        at = time.time() if at is None else at
        per_second = self.budget.config.requests / self.budget.config.window_s
        share = self.settings.poll_share * self.pattern.density(at)
        requests_per_round = sum(max(1, state.cost) for state in self.queries.values())
        return max(0.2, requests_per_round / (per_second * share)) if self.queries else 60.0

    def _rearm_if_lost(self, key: StreamKey) -> None:
        """A safety net: a query whose poll is long overdue, with neither a job nor a poll running, is armed
        again (a poll arms its successor as it ends; nothing else would ever poll that query again)."""
        state = self.queries[key]
        if self._stopping or key in self._poll_tasks or self.scheduler.get_job(_job_id(key)) is not None:
            return
        overdue = time.time() - (state.next_poll or 0.0)
        if overdue > self.interval() + self.settings.refresh_s:
            logger.warning("the poll of {} was lost ({:.0f} s overdue); armed again", key.label(), overdue)
            self._arm(key, 0.0)

    def _arm(self, key: StreamKey, delay: float) -> None:
        self.queries[key].next_poll = time.time() + delay
        self.scheduler.add_job(self._poll_job, "date", id=_job_id(key), args=[key], replace_existing=True,
                               run_date=datetime.now(BERLIN) + timedelta(seconds=delay))

    async def relearn(self) -> None:
        self.pattern = learn_from_db(self.sessions)
        self.warm.want(self.rank_for_warm_pages())

    def _quiet(self) -> tuple[float, str]:
        """The budget's quiet gap in force now, if any: (until, why)."""
        until, why = self.budget.quiet_until()
        return (until, why) if until > time.time() else (0.0, "")

    async def maintain_warm_pages(self) -> None:
        if self._stopping or self.budget.circuit_open or self._quiet()[0]:
            return
        self._side_tasks.add(asyncio.current_task())
        try:
            async with self._page_lock:
                await self.warm.maintain()
        except asyncio.CancelledError:
            if not self._stopping:
                raise  # stopping cancels it on purpose: not an error of the job
        finally:
            self._side_tasks.discard(asyncio.current_task())

    # -- poll → match → book → record → notify -----------------------------------------------
    async def _poll_job(self, key: StreamKey) -> None:
        if self._stopping or key not in self.queries:
            return
        task = asyncio.current_task()
        if task is not None:
            self._poll_tasks[key] = task
        try:
            await self.poll_once(key)
        except asyncio.CancelledError:
            if not self._stopping:
                raise  # stopping drops a poll in flight on purpose: nothing was booked, nothing to record
        finally:
            self._poll_tasks.pop(key, None)
            if not self._stopping and key in self.queries:
                state = self.queries[key]
                delay = self.interval()
                if state.status is StreamStatus.RATE_LIMITED and self.budget.circuit_open:
                    delay = max(delay, self.budget.open_until - time.time())
                quiet_until, _ = self._quiet()
                if quiet_until:
                    delay = max(delay, quiet_until - time.time() + 0.05)
                self._arm(key, delay)

    async def poll_once(self, key: StreamKey) -> None:
        state = self.queries[key]
        quiet_until, why = self._quiet()
        if quiet_until:
            until = datetime.fromtimestamp(quiet_until, BERLIN).strftime("%H:%M:%S")
            state.status, state.detail = StreamStatus.QUIET, f"{why}; polling again at {until}"
            return
        async with self._page_lock:
            try:
                result = await state.poller.poll(self.poll_page, list(self.queries), self._wanted_days(state))
            except CircuitOpen as exc:
                self.metrics.poll(key.id, Trouble.RATE_LIMITED.value)
                await self._trouble(state, Trouble.RATE_LIMITED, str(exc))
                return
            except SiteTrouble as trouble:
                self.metrics.poll(key.id, trouble.kind.value)
                await self._trouble(state, trouble.kind, str(trouble))
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a crashed browser, a closed page: start over next time
                self.stats.errors += 1
                self.metrics.poll(key.id, Trouble.BROWSER.value)
                logger.warning("poll of {} failed: {}", key.label(), (str(exc) or type(exc).__name__).splitlines()[0])
                await self.poll_page.retire()
                state.status, state.detail = StreamStatus.SITE_ERROR, "the browser failed; retrying"
                return
        self.stats.polls += 1
        state.status, state.detail, state.cost = StreamStatus.WATCHING, "", result.requests
        poller = state.poller
        vanished = {slot for slot in poller.known if berlin_day(slot[1]) not in result.days}
        refreshed = {slot for slot in poller.known if berlin_day(slot[1]) in result.read}
        new = result.slots - poller.known
        gone = vanished | (refreshed - result.slots)
        poller.known = (poller.known - gone) | result.slots
        released = set() if poller.baseline else new  # a first-ever poll sees slots of unknown age
        poller.baseline = False
        record_poll(self.sessions, key, poller.known, released, gone, result.site_time)
        self.stats.new_slots += len(new)
        state.last_ok = time.time()
        self.metrics.poll(key.id, "ok" if result.days else "empty", len(new))
        if result.slots:
            await self._match(state, result, first_seen={s: result.site_time for s in new})

    def _wanted_days(self, state: QueryState):
        """Whether any active watch of the query could want a slot on a day with these offices."""
        requests = [to_request(w, p) for w, p in active_watches(self.sessions) if w.id in state.watch_ids]

        def wanted(day: date, offices: set[int]) -> bool:
            return any(r.could_match(day, offices) for r in requests)

        return wanted

    async def _match(self, state: QueryState, result: PollResult, first_seen: dict[Slot, float]) -> None:
        """Every visible slot a watch wants and has not been acted on in this run (a watch added later,
        or a booking that failed, sees slots that were visible before)."""
        watches = {w.id: (w, p) for w, p in active_watches(self.sessions) if w.id in state.watch_ids}
        for watch_id, (watch, person) in sorted(watches.items()):
            request = to_request(watch, person)
            matches = sorted((ts, office) for office, ts in result.slots
                             if request.accepts(office, ts) and (watch_id, (office, ts)) not in state.handled)
            if not matches:
                continue
            state.handled.update((watch_id, (office, ts)) for ts, office in matches)
            if watch.mode == "notify":
                names = self.names()
                facts = SlotFound(watch_id, names.service(watch.service_id),
                                  tuple((ts, names.office(o)) for ts, o in matches[:3]), len(matches))
                await self._notify(person.key, NoticeKind.FOUND, facts, self.poll_page_link(watch.service_id),
                                   cooldown_key=f"watch {watch_id}")
                continue
            seen = first_seen.get((matches[0][1], matches[0][0]))
            await self._book(state, watch, person, request, seen, _first_unchecked_day(request, matches[0][0], result))
            if self._stopping:
                return

    def poll_page_link(self, service_id: int) -> str:
        return Target(self.settings.booking_url, self.settings.api_url).deep_link(service_id)

    async def _book(self, state: QueryState, watch: Watch, person: Person, request: BookingRequest,
                    first_seen: float | None, first_day: date) -> None:
        async with self._page_lock:
            state.status, self._booking = StreamStatus.BOOKING, state.key
            started = time.monotonic()
            try:
                warm = self.warm.take(state.key)
                if warm is not None:
                    result = await run_warm_booking(self.settings, self.sessions, warm, request, self.pool,
                                                    self.budget, first_seen=first_seen, watch_id=watch.id,
                                                    first_day_hint=first_day, progress=self.metrics.observer())
                else:
                    result = await run_booking(self.settings, self.sessions, request, watch_id=watch.id,
                                               budget=self.budget, pool=self.pool, first_day_hint=first_day,
                                               progress=self.metrics.observer())
            except BookingBlocked as blocked:
                logger.info("watch {}: {}", watch.id, blocked)
                return
            finally:
                state.status, self._booking = StreamStatus.WATCHING, None
        await self._after_booking(state, watch, person, result, time.monotonic() - started)

    async def _after_booking(self, state: QueryState, watch: Watch, person: Person, result,
                             seconds: float = 0.0) -> None:
        outcome = result.outcome
        latency = None
        with self.sessions() as session:
            attempt = session.get(Attempt, result.attempt_id)
            if attempt is not None and attempt.reserved_at and attempt.slot_first_seen:
                latency = attempt.reserved_at - (attempt.slot_first_seen - self.poll_page.site_offset)
        self.stats.bookings.append({"watch": watch.id, "attempt": result.attempt_id, "outcome": outcome.kind.value,
                                    "detectionToReserved": latency, "steps": result.step_seconds,
                                    "warm": bool(attempt.warm) if attempt is not None else False})
        self.metrics.booking(outcome.kind.value, self.stats.bookings[-1]["warm"], seconds, latency)
        if outcome.kind.succeeded:
            paused = mark_booked(self.sessions, watch.id, f"attempt {result.attempt_id}: {outcome.reason}")
            await self._notify(person.key, NoticeKind.BOOKED,
                               Reserved(watch.id, result.attempt_id, outcome.slot_ts or 0,
                                        outcome.office_name or f"office {outcome.office_id}",
                                        outcome.activation_deadline, tuple(paused)))
            await self.refresh()
        elif outcome.kind is OutcomeKind.CAPTCHA_HANDOFF:
            await self._notify(person.key, NoticeKind.HANDOFF, Handoff(self.label(state.key), outcome.reason, state.key.id),
                               outcome.handoff_link)
        elif outcome.kind is OutcomeKind.RATE_LIMITED:
            await self._trouble(state, Trouble.RATE_LIMITED, outcome.reason)
        elif outcome.kind is OutcomeKind.SITE_CHANGED:
            await self._notify(person.key, NoticeKind.SITE_CHANGED,
                               TroubleFacts(self.label(state.key), outcome.reason, attempt_id=result.attempt_id,
                                            query=state.key.id))
            await self.alert(f"site changed (attempt {result.attempt_id}, mta trace {result.attempt_id}): "
                             f"{outcome.reason}")
        elif outcome.kind in (OutcomeKind.SITE_ERROR, OutcomeKind.SEARCH_LIMIT):
            await self._notify(person.key, NoticeKind.FAILED,
                               Failed(result.attempt_id, outcome.kind.value, outcome.reason))

    async def _trouble(self, state: QueryState, trouble: Trouble, detail: str) -> None:
        state.status, state.detail = trouble.status, detail
        self.stats.errors += 1
        kind = {Trouble.RATE_LIMITED: NoticeKind.RATE_LIMITED, Trouble.HANDOFF: NoticeKind.HANDOFF,
                Trouble.MAINTENANCE: NoticeKind.MAINTENANCE}.get(trouble, NoticeKind.SITE_ERROR)
        label = self.label(state.key)
        if kind is NoticeKind.HANDOFF:
            facts: Facts = Handoff(label, detail, state.key.id)
        else:
            until = self.budget.open_until if kind is NoticeKind.RATE_LIMITED and self.budget.circuit_open else None
            facts = TroubleFacts(label, detail, until or (state.next_poll or None), query=state.key.id)
        link = self.poll_page_link(state.key.service_id) if kind is NoticeKind.HANDOFF else None
        for person_key in self._people_of(state.key):
            await self._notify(person_key, kind, facts, link)

    async def _notify(self, person_key: str, kind: NoticeKind, facts: Facts, link: str | None = None,
                      cooldown_key: str = "") -> None:
        """Send a notice (the channel applies cooldowns and quiet hours); never lets a failed send reach
        the watcher."""
        try:
            await self.notifier.send(Notice(person_key, kind, facts, link))
        except Exception:  # noqa: BLE001 - telling is best effort; watching goes on
            logger.exception("sending a {} notice failed", kind)

    async def alert(self, text: str) -> None:
        """An operational alert for the admin (the bot's admin chat; the log otherwise)."""
        alert = getattr(self.notifier, "alert", None)
        logger.warning("alert: {}", text)
        if alert is not None:
            try:
                await alert(text)
            except Exception:  # noqa: BLE001
                logger.exception("sending an alert failed")

    def label(self, key: StreamKey) -> str:
        """A query as a person reads it: the service's and offices' names where known."""
        return self.names().query(key.service_id, key.count, key.office_ids)

    # -- stopping -------------------------------------------------------------------------------
    async def stop(self, grace_s: float) -> None:
        """No new polls; a poll in flight is dropped (nothing to record), a booking in flight may finish
        and close its attempt within ``grace_s``; the person is told when it could not."""
        self._stopping = True
        if self.scheduler.running:
            self.scheduler.pause()  # no job starts any more
        for job in self.scheduler.get_jobs():
            if job.id.startswith("poll:"):
                job.remove()
        booking = self._booking
        for task in list(self._side_tasks):
            task.cancel()
        for key, task in list(self._poll_tasks.items()):
            if key != booking:
                task.cancel()
        if self._side_tasks:
            await asyncio.gather(*self._side_tasks, return_exceptions=True)
        pending = [t for t in self._poll_tasks.values() if not t.done()]
        if pending:
            done, late = await asyncio.wait(pending, timeout=grace_s)
            for task in late:
                task.cancel()
            if late and booking is not None:
                for person_key in self._people_of(booking):
                    await self._notify(person_key, NoticeKind.STOPPED, Stopped())
            await asyncio.gather(*pending, return_exceptions=True)
        await self.warm.close()
        await self.poll_page.close()

    def booking_in_flight(self) -> bool:
        return self._booking is not None

    def _people_of(self, key: StreamKey) -> list[str]:
        state = self.queries.get(key)
        if state is None:
            return []
        with self.sessions() as session:
            rows = session.execute(select(Person.key).join(Watch, Watch.person_id == Person.id)
                                   .where(Watch.id.in_(state.watch_ids))).all()
        return sorted({r[0] for r in rows})

    def names(self) -> Names:
        """Service and office names: the poll page's catalogue when it has one (kept in the data directory
        for the commands that do not ask the site), else what an earlier run kept."""
        token = self.poll_page.token
        body = token.catalogue_body if token is not None else None
        if body is not None and body is not self._names_from:
            self._names_from = body
            self._names = remember_names(self.settings.data_dir, Names.from_catalogue(body))
        return self._names

    def status(self) -> list[dict]:
        """One entry per query. ``lastOk`` and ``nextPoll`` are Unix times (``lastOk`` None before the first
        answered poll); ``slotsSeen`` counts the free slots the latest answered poll saw; ``label`` names the
        service and offices as the catalogue does (``stream`` is the id-based label)."""
        names = self.names()
        return [{"stream": k.label(), "label": names.query(k.service_id, k.count, k.office_ids, width=24),
                 "service": k.service_id, "count": k.count, "offices": list(k.office_ids),
                 "watches": sorted(s.watch_ids), "status": s.status.value, "detail": s.detail,
                 "polls": s.poller.polls, "nextPoll": s.next_poll, "lastOk": s.last_ok or None,
                 "slotsSeen": len(s.poller.known), "warm": k in self.warm.pages}
                for k, s in self.queries.items()]


def _job_id(key: StreamKey) -> str:
    return f"poll:{key.id}"


def _first_unchecked_day(request: BookingRequest, earliest_match: int, result: PollResult) -> date:
    """Where the booking's calendar walk may start: the earliest matching slot's day, or an earlier day
    this watch could want whose times the poll did not read now (a slot may have appeared there)."""
    day = berlin_day(earliest_match)
    unread = [d for d, offices in result.days.items()
              if d < day and d not in result.read and request.could_match(d, offices)]
    return min(unread, default=day)


def watch_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return len(session.scalars(select(Watch.id).where(Watch.state == "active")).all())
