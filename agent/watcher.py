"""The long-running agent: watch → poll → match → book → record → notify.

Watches with the same query share one :class:`PollStream`. APScheduler runs
one job per stream; after each poll the job re-arms itself so that all
streams together use ``poll_share`` of the rate budget, spread evenly, denser
in the hours the release-pattern analyzer found hot and sparser elsewhere.
New slots are matched against the stream's watches: auto-book watches book
on the stream's warm page, notify-only watches get a message.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from loguru import logger
from playwright.async_api import Playwright
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from flows.outcomes import OutcomeKind
from flows.timezone import BERLIN

from .attempts import BookingBlocked
from .budget import CircuitOpen, RateBudget
from .config import Settings
from .models import Attempt, Observation, Person, Watch
from .notifier import Notice, Notifier
from .patterns import ReleasePattern, learn_from_db
from .pool import BrowserPool
from .poller import PollResult, PollStream, SiteTrouble, StreamKey
from .recovery import settle_unfinished
from .runner import budget_for, run_warm_booking, selector_book
from .site_api import SiteApi
from .watches import active_watches, expire_past, mark_booked, to_request


@dataclass
class StreamState:
    stream: PollStream
    watch_ids: set[int] = field(default_factory=set)
    status: str = "starting"  # watching | rate_limited | site_error | handoff | booking
    detail: str = ""
    next_poll: float = 0.0
    cost: int = 1  # requests the latest poll took (the overview and its day reads)


@dataclass
class Stats:
    polls: int = 0
    new_slots: int = 0
    bookings: list[dict] = field(default_factory=list)
    errors: int = 0


class Watcher:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session], notifier: Notifier,
                 budget: RateBudget | None = None) -> None:
        self.settings, self.sessions, self.notifier = settings, sessions, notifier
        self.budget = budget or budget_for(settings)
        self.book = selector_book(settings)
        self.streams: dict[StreamKey, StreamState] = {}
        self.stats = Stats()
        self.pattern: ReleasePattern = learn_from_db(sessions)
        self.scheduler = AsyncIOScheduler(timezone=BERLIN)
        self.pool: BrowserPool | None = None
        self._booking_lock = asyncio.Lock()
        self._running: set[asyncio.Task] = set()
        self._stopping = False
        self._last_notice: dict[tuple[str, str], float] = {}

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self, playwright: Playwright, schedule: bool = True) -> None:
        """Settle old attempts, open the pool, create the streams and (unless told not to) start polling."""
        async with SiteApi(self.settings.api_url, self.budget) as api:
            for line in await settle_unfinished(self.sessions, api):
                logger.warning("settled {}", line)
        expire_past(self.sessions, date.today())
        self.pool = BrowserPool(playwright, self.settings, self.settings.context_max_uses,
                                self.settings.context_max_age_s)
        self.refresh_streams()
        if schedule:
            self.scheduler.start()
            self.scheduler.add_job(self.refresh_streams, "interval", seconds=30, id="refresh-watches")
            self.scheduler.add_job(self._relearn, "interval", minutes=10, id="relearn-patterns")

    async def stop(self) -> None:
        """Clean shutdown: no new polls; an attempt in flight finishes and is recorded."""
        self._stopping = True
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
        async with self._booking_lock:
            for state in self.streams.values():
                await state.stream.retire()
        if self.pool is not None:
            await self.pool.close()

    def _relearn(self) -> None:
        self.pattern = learn_from_db(self.sessions)

    relearn = _relearn

    # -- streams ---------------------------------------------------------------------------
    def refresh_streams(self) -> None:
        """One stream per distinct query of the active watches."""
        assert self.pool is not None
        wanted: dict[StreamKey, set[int]] = {}
        for watch, _ in active_watches(self.sessions):
            key = StreamKey(watch.service_id, watch.count, tuple(sorted(watch.office_ids)))
            wanted.setdefault(key, set()).add(watch.id)
        for key in list(self.streams):
            if key not in wanted:
                state = self.streams.pop(key)
                if self.scheduler.get_job(self._job_id(key)):
                    self.scheduler.remove_job(self._job_id(key))
                self._spawn(state.stream.retire())
        new_keys = [k for k in wanted if k not in self.streams]
        for key, ids in wanted.items():
            if key in self.streams:
                self.streams[key].watch_ids = ids
        for index, key in enumerate(new_keys):
            stream = PollStream(key, self.settings, self.pool, self.budget, self.book)
            self.streams[key] = StreamState(stream, wanted[key])
            offset = index * self.interval() / max(1, len(new_keys))
            self.scheduler.add_job(self._poll_job, "date", id=self._job_id(key), args=[key],
                                   run_date=datetime.now(BERLIN) + timedelta(seconds=offset))

    @staticmethod
    def _job_id(key: StreamKey) -> str:
        return f"poll:{key.service_id}:{key.count}:{','.join(map(str, key.office_ids))}"

    def interval(self, at: float | None = None) -> float:
        """Seconds between two polls of one stream so that all streams share the poll budget."""
        at = time.time() if at is None else at
        per_second = self.budget.config.requests / self.budget.config.window_s
        share = self.settings.poll_share * self.pattern.density(at)
        requests_per_round = sum(max(1, state.cost) for state in self.streams.values())
        return max(0.2, requests_per_round / (per_second * share)) if self.streams else 60.0

    def _spawn(self, coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _poll_job(self, key: StreamKey) -> None:
        if self._stopping or key not in self.streams:
            return
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            await self.poll_once(key)
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            return  # shutting down mid-poll: nothing was booked, nothing to record
        finally:
            if task is not None:
                self._running.discard(task)
            if not self._stopping and key in self.streams:
                state = self.streams[key]
                delay = self.interval()
                if state.status == "rate_limited" and self.budget.circuit_open:
                    delay = max(delay, self.budget.open_until - time.time())
                state.next_poll = time.time() + delay
                self.scheduler.add_job(self._poll_job, "date", id=self._job_id(key), args=[key],
                                       replace_existing=True,
                                       run_date=datetime.now(BERLIN) + timedelta(seconds=delay))

    # -- poll → match → book → record → notify ---------------------------------------------
    async def poll_once(self, key: StreamKey) -> None:
        state = self.streams[key]
        async with self._booking_lock:  # one Chromium page at a time per booking; polls wait for a booking
            try:
                result = await state.stream.poll(self._wanted_days(state))
            except CircuitOpen as exc:
                await self._trouble(state, "rate_limited", str(exc))
                return
            except SiteTrouble as trouble:
                kind = "rate_limited" if trouble.kind == "rate_limited" else trouble.kind
                await self._trouble(state, kind, str(trouble))
                return
            except Exception as exc:  # noqa: BLE001 - a crashed browser, a closed page: start over next time
                self.stats.errors += 1
                logger.warning("poll of {} failed: {}", key.label(), (str(exc) or type(exc).__name__).splitlines()[0])
                await state.stream.retire()
                state.status, state.detail = "site_error", "the browser failed; retrying"
                return
        self.stats.polls += 1
        state.status, state.detail = "watching", ""
        state.cost = result.requests
        stream = state.stream
        vanished = {slot for slot in stream.known if _day_of(slot) not in result.days}
        refreshed = {slot for slot in stream.known if _day_of(slot) in result.read}
        new = result.slots - stream.known
        gone = vanished | (refreshed - result.slots)
        stream.known = (stream.known - gone) | result.slots
        self._record_observations(key.service_id, new, gone, result.site_time)
        if new:
            self.stats.new_slots += len(new)
            await self._match(state, new, result)

    def _wanted_days(self, state: StreamState):
        """Whether any active watch of the stream could want a slot on a day with these offices."""
        requests = [to_request(w, p) for w, p in active_watches(self.sessions) if w.id in state.watch_ids]

        def wanted(day: date, offices: set[int]) -> bool:
            return any(r.wants_day(day) and any(r.wants_office(o) for o in offices) for r in requests)

        return wanted

    def _record_observations(self, service_id: int, new: set, gone: set, site_time: float) -> None:
        with self.sessions.begin() as session:
            for office_id, slot in new:
                session.add(Observation(service_id=service_id, office_id=office_id, slot_ts=slot,
                                        first_seen=site_time))
            for office_id, slot in gone:
                session.execute(update(Observation)
                                .where(Observation.service_id == service_id, Observation.office_id == office_id,
                                       Observation.slot_ts == slot, Observation.gone_at.is_(None))
                                .values(gone_at=site_time))

    async def _match(self, state: StreamState, new: set[tuple[int, int]], result: PollResult) -> None:
        site_time = result.site_time
        watches = {w.id: (w, p) for w, p in active_watches(self.sessions) if w.id in state.watch_ids}
        for watch_id, (watch, person) in sorted(watches.items()):
            request = to_request(watch, person)
            matches = sorted((ts, office) for office, ts in new if request.accepts(office, ts))
            if not matches:
                continue
            when = datetime.fromtimestamp(matches[0][0], BERLIN).strftime("%a %d.%m. %H:%M")
            if watch.mode == "notify":
                await self._notify(person.key, "found", f"watch {watch_id}: {len(matches)} matching slot(s), "
                                   f"earliest {when}", state.stream.target.deep_link(watch.service_id))
                continue
            first_day = _first_unchecked_day(request, matches[0][0], result)
            await self._book(state, watch, person, request, site_time, first_day)
            if self._stopping:
                return

    async def _book(self, state: StreamState, watch: Watch, person, request, first_seen: float,
                    first_day: date | None = None) -> None:
        async with self._booking_lock:
            state.status = "booking"
            try:
                result = await run_warm_booking(self.settings, self.sessions, state.stream, request,
                                                first_seen=first_seen, watch_id=watch.id, first_day_hint=first_day)
            except BookingBlocked as blocked:
                state.status = "watching"
                logger.info("watch {}: {}", watch.id, blocked)
                return
            state.status = "watching"
        outcome = result.outcome
        latency = None
        with self.sessions() as session:
            attempt = session.get(Attempt, result.attempt_id)
            if attempt is not None and attempt.reserved_at and attempt.slot_first_seen:
                latency = attempt.reserved_at - (attempt.slot_first_seen - state.stream.site_offset)
        self.stats.bookings.append({"watch": watch.id, "attempt": result.attempt_id, "outcome": outcome.kind.value,
                                    "detectionToReserved": latency, "steps": result.step_seconds})
        if outcome.kind.succeeded:
            paused = mark_booked(self.sessions, watch.id, f"attempt {result.attempt_id}: {outcome.reason}")
            when = datetime.fromtimestamp(outcome.slot_ts or 0, BERLIN).strftime("%a %d.%m.%Y %H:%M")
            extra = f"; paused your other watches {paused} for this service" if paused else ""
            await self._notify(person.key, "booked", f"watch {watch.id}: reserved {when} at {outcome.office_name}. "
                               f"Open the activation link in the city's e-mail{extra}.")
            self.refresh_streams()
        elif outcome.kind is OutcomeKind.CAPTCHA_HANDOFF:
            await self._notify(person.key, "handoff", f"watch {watch.id}: {outcome.reason}", outcome.handoff_link)
        elif outcome.kind is OutcomeKind.RATE_LIMITED:
            await self._trouble(state, "rate_limited", outcome.reason)
        elif outcome.kind in (OutcomeKind.SITE_CHANGED, OutcomeKind.SITE_ERROR):
            await self._notify(person.key, "failed", f"watch {watch.id}: {outcome.kind.value}: {outcome.reason} "
                               f"(mta trace {result.attempt_id})")

    async def _trouble(self, state: StreamState, status: str, detail: str) -> None:
        state.status, state.detail = status, detail
        self.stats.errors += 1
        text = {"rate_limited": "the site is rate-limiting us; pausing politely (this is not 'no slots')",
                "handoff": "the captcha refuses automated browsers; finish on your device",
                "captcha_handoff": "the captcha refuses automated browsers; finish on your device"}.get(status, detail)
        with self.sessions() as session:
            people = {p.key for w, p in session.execute(select(Watch, Person).join(Person, Watch.person_id == Person.id)
                                                        .where(Watch.id.in_(state.watch_ids))).all()}
        link = state.stream.target.deep_link(state.stream.key.service_id) if "handoff" in status else None
        for person_key in sorted(people):
            await self._notify(person_key, status, f"{state.stream.key.label()}: {text}", link)

    async def _notify(self, person_key: str, kind: str, text: str, link: str | None = None) -> None:
        """Send a notice, at most once per 10 minutes for the same kind of trouble."""
        if kind in ("rate_limited", "site_error", "handoff", "captcha_handoff", "token"):
            last = self._last_notice.get((person_key, kind), 0)
            if time.time() - last < 600:
                return
            self._last_notice[(person_key, kind)] = time.time()
        await self.notifier.send(Notice(person_key, kind, text, link))

    def status(self) -> list[dict]:
        return [{"stream": k.label(), "watches": sorted(s.watch_ids), "status": s.status, "detail": s.detail,
                 "polls": s.stream.polls, "warmups": s.stream.warmups} for k, s in self.streams.items()]


def _first_unchecked_day(request, earliest_match: int, result: PollResult) -> date:
    """Where the booking's calendar walk may start: the earliest matching slot's day, or an earlier day
    this watch could want whose times the poll did not read now (a slot may have appeared there)."""
    day = datetime.fromtimestamp(earliest_match, BERLIN).date()
    unread = [d for d, offices in result.days.items()
              if d < day and d not in result.read and request.wants_day(d)
              and any(request.wants_office(o) for o in offices)]
    return min(unread, default=day)


def _day_of(slot: tuple[int, int]) -> date:
    return datetime.fromtimestamp(slot[1], BERLIN).date()


def watch_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return len(session.scalars(select(Watch.id).where(Watch.state == "active")).all())
