"""One booking attempt, end to end: guard, record, browser, trace, flow, close.

This is the "book → record" part of the data path; the watcher (and ``mta
book``) call :func:`run_booking`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from loguru import logger
from playwright.async_api import async_playwright
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from flows.booking import BookingFlow, BookingObserver, Target
from flows.locators import SelectorBook, load_selector_book
from flows.outcomes import Outcome, OutcomeKind
from flows.request import BookingRequest, Contact
from flows.site_errors import SiteMeaning

from playwright.async_api import Error as PlaywrightError

from .attempts import AttemptRecorder, SqlPatternStore
from .budget import BOOKING, BudgetConfig, RateBudget
from .gate import PageGate
from .pool import BrowserPool
from .site_page import SitePage, flow_on
from .browser import launch_chromium, new_site_context
from .budget_ledger import FileLedger, ledger_path
from .config import Settings
from .models import OrphanReservation
from .recovery import Held, activation_deadline, keep_or_give_back
from .site_api import SiteApi, SiteUnavailable
from .tracing import prepare_recordings, start_trace, stop_trace

SELECTOR_FILE = "munich.toml"


@dataclass
class AttemptResult:
    attempt_id: int
    outcome: Outcome
    trace_path: Path | None
    step_seconds: dict[str, float]
    tries: list[dict]


def budget_for(settings: Settings) -> RateBudget:
    """The one rate budget for the configured site, its books shared by every agent process of this data
    directory (the site counts per IP, so ``mta book`` beside ``mta run`` spends the same budget)."""
    return RateBudget(BudgetConfig(
        requests=settings.budget_requests, window_s=settings.budget_window_s,
        booking_burst=settings.budget_booking_burst, site_limit=settings.site_limit,
        site_window_s=settings.site_window_s, backoff_s=settings.backoff_s, backoff_max_s=settings.backoff_max_s,
    ), ledger=FileLedger(ledger_path(settings.data_dir, settings.api_url)))


def selector_book(settings: Settings) -> SelectorBook:
    return load_selector_book(settings.selectors_dir / SELECTOR_FILE)


def held_by_orphans(sessions: sessionmaker[Session], now: float | None = None) -> set[tuple[int, int]]:
    """Slots a lost reserve answer may still hold: never reserve them before they lapse."""
    now = time.time() if now is None else now
    with sessions() as session:
        rows = session.scalars(select(OrphanReservation).where(OrphanReservation.hold_until > now))
        return {(o.office_id, o.slot_ts) for o in rows if o.office_id and o.slot_ts}


class _Fanout:
    """Passes each observer call to the recorder and to an optional progress display."""

    def __init__(self, *observers: BookingObserver) -> None:
        self.observers = [o for o in observers if o is not None]

    def __getattr__(self, name: str):
        def call(*args: object) -> None:
            for observer in self.observers:
                method = getattr(observer, name, None)  # observers implement what they care about
                if method is not None:
                    method(*args)
        return call


async def run_booking(settings: Settings, sessions: sessionmaker[Session], request: BookingRequest,
                      progress: BookingObserver | None = None, watch_id: int | None = None,
                      budget: RateBudget | None = None, pool: BrowserPool | None = None,
                      first_day_hint: date | None = None) -> AttemptResult:
    """A cold booking: a fresh context (from the agent's pool, or a Chromium of its own for ``mta book``)."""
    recorder = AttemptRecorder.begin(sessions, Target(settings.booking_url, settings.api_url).site, request,
                                     watch_id=watch_id)
    if pool is not None:
        pooled = await pool.new_context()
        try:
            outcome, trace_path = await _walk_cold(settings, sessions, pooled.context, recorder, request, progress,
                                                   budget, first_day_hint)
        finally:
            await pool.retire(pooled)
        return await _finish(settings, recorder, outcome, trace_path, budget, request.contact)
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright, settings)
        try:
            context = await new_site_context(browser)
            context.set_default_timeout(settings.step_timeout_s * 1000)
            outcome, trace_path = await _walk_cold(settings, sessions, context, recorder, request, progress, budget,
                                                   first_day_hint)
            await context.close()
        finally:
            await browser.close()
    return await _finish(settings, recorder, outcome, trace_path, budget, request.contact)


def record_unstarted(settings: Settings, sessions: sessionmaker[Session], request: BookingRequest,
                     trouble: SiteUnavailable, watch_id: int | None = None) -> AttemptResult:
    """The site could not be used before the walk began (maintenance, a 429, failures, an IP block):
    an attempt row all the same, closed with the outcome that says so (never "no slots")."""
    recorder = AttemptRecorder.begin(sessions, Target(settings.booking_url, settings.api_url).site, request,
                                     watch_id=watch_id)
    kind = OutcomeKind.RATE_LIMITED if trouble.meaning is SiteMeaning.RATE_LIMITED else OutcomeKind.SITE_ERROR
    outcome = Outcome(kind, f"{trouble}; nothing was booked ({_advice(trouble.meaning, settings.api_url)})")
    recorder.close(outcome)
    return AttemptResult(recorder.id, outcome, None, {}, [])


def _advice(what: SiteMeaning, api_url: str) -> str:
    return {
        SiteMeaning.RATE_LIMITED: "the site asks for a pause; the agent keeps to it, try again later",
        SiteMeaning.MAINTENANCE: "the site is under maintenance; try again later",
        SiteMeaning.BLOCKED: "the site refuses this IP address; do not retry from it",
    }.get(what, f"check MTA_API_URL, now {api_url}, and MTA_BOOKING_URL (for the local replica, the two "
                "settings mta replica prints), or try again later")


def _set_up_for_attempt(settings: Settings, sessions: sessionmaker[Session], flow: BookingFlow, observer: BookingObserver,
              first_day_hint: date | None) -> BookingFlow:
    flow.observer = observer
    flow.patterns = SqlPatternStore(sessions)
    flow.excluded_slots = held_by_orphans(sessions)
    flow.max_slot_tries = settings.max_slot_tries
    flow.max_day_reads = settings.max_day_reads
    flow.first_day_hint = first_day_hint
    return flow


async def _walk_cold(settings: Settings, sessions: sessionmaker[Session], context, recorder: AttemptRecorder,
                     request: BookingRequest, progress: BookingObserver | None, budget: RateBudget | None,
                     first_day_hint: date | None) -> tuple[Outcome, Path | None]:
    prepare_recordings(settings.recordings_dir, settings.trace_retention_days, settings.recordings_max_mb)
    if settings.trace_attempts:
        await start_trace(context, recorder.id, settings.trace_screenshots)
    page = await context.new_page()
    if budget is not None:
        await PageGate(budget, settings.api_url, BOOKING).attach(page)
    flow = _set_up_for_attempt(settings, sessions, flow_on(page, settings, selector_book(settings)),
                     _Fanout(recorder, progress), first_day_hint)
    try:
        outcome = await flow.run(request)
    except Exception as exc:  # noqa: BLE001 - every attempt ends in a named outcome
        logger.exception("attempt {} failed unexpectedly", recorder.id)
        outcome = Outcome(OutcomeKind.SITE_ERROR, f"unexpected error: {type(exc).__name__}")
    trace_path = await _stop_trace(settings, context, recorder.id, outcome) if settings.trace_attempts else None
    return outcome, trace_path


async def _stop_trace(settings: Settings, context, attempt_id: int, outcome: Outcome) -> Path | None:
    keep = not outcome.kind.succeeded or settings.keep_traces_on_success
    try:
        return await stop_trace(context, settings.recordings_dir, attempt_id, keep)
    except PlaywrightError:
        return None  # the browser went away with the trace


async def _finish(settings: Settings, recorder: AttemptRecorder, outcome: Outcome, trace_path: Path | None,
                  budget: RateBudget | None, contact: Contact) -> AttemptResult:
    outcome = await _keep_or_give_back(settings, recorder, outcome, budget, contact)
    recorder.close(outcome, str(trace_path) if trace_path else None)
    attempt = recorder.load()
    return AttemptResult(recorder.id, outcome, trace_path, dict(attempt.step_seconds), list(attempt.tries))


async def run_warm_booking(settings: Settings, sessions: sessionmaker[Session], warm: SitePage,
                           request: BookingRequest, pool: BrowserPool, budget: RateBudget,
                           first_seen: float | None = None, progress: BookingObserver | None = None,
                           watch_id: int | None = None, first_day_hint: date | None = None) -> AttemptResult:
    """Book on a warm page (captcha already solved): a detected slot is held in about a second.

    The booking owns the page it was handed and uses it up (it is retired here, whatever happens)."""
    try:
        recorder = AttemptRecorder.begin(sessions, warm.flow.target.site, request, watch_id=watch_id)
    except BaseException:
        await warm.retire(pool)
        raise
    recorder.update(slot_first_seen=first_seen, warm=True)
    prepare_recordings(settings.recordings_dir, settings.trace_retention_days, settings.recordings_max_mb)
    context = warm.pooled.context
    flow = _set_up_for_attempt(settings, sessions, warm.flow, _Fanout(recorder, progress), first_day_hint)
    warm.gate.kind = BOOKING
    trace_path: Path | None = None
    try:
        if settings.trace_attempts and not warm.tracing:
            await start_trace(context, recorder.id, settings.trace_screenshots)
        try:
            outcome = await flow.run_prepared(request, warm.catalogue)
        except Exception as exc:  # noqa: BLE001 - every attempt ends in a named outcome
            logger.exception("warm attempt {} failed unexpectedly", recorder.id)
            outcome = Outcome(OutcomeKind.SITE_ERROR, f"unexpected error: {type(exc).__name__}")
        if settings.trace_attempts:
            trace_path = await _stop_trace(settings, context, recorder.id, outcome)
    finally:
        await warm.retire(pool)
    return await _finish(settings, recorder, outcome, trace_path, budget, request.contact)


async def _keep_or_give_back(settings: Settings, recorder: AttemptRecorder, outcome: Outcome,
                             budget: RateBudget | None, contact: Contact) -> Outcome:
    """An attempt that held a slot but did not reach "reserved" (its page or browser was lost, a step
    failed): ask the site, then finish the booking with the page's own requests, or give the slot back."""
    attempt = recorder.load()
    if outcome.kind.succeeded or not attempt.process_id or not attempt.auth_key:
        return outcome
    async with SiteApi(settings.api_url, budget) as api:
        status = await api.appointment(attempt.process_id, attempt.auth_key)
        if status.status in ("preconfirmed", "confirmed"):
            held = Held(True, status.status, status.process, "")
        elif status.status == "reserved":
            held = await keep_or_give_back(api, attempt.process_id, attempt.auth_key, status, contact)
        else:
            ended = status.status in ("gone", "cancelled")
            recorder.update(process_status=status.status if ended else attempt.process_status)
            recorder.note(f"the held slot (process {attempt.process_id}) is {status.status} at the site")
            return outcome
    recorder.update(process_status=held.process_status)
    if not held.kept:
        recorder.note(f"could not keep the held slot (process {attempt.process_id}): {held.why}")
        return outcome
    process = held.process or {}
    recorder.note(f"kept the held slot (process {attempt.process_id}) after: {outcome.reason}")
    return Outcome(
        OutcomeKind.RESERVED,
        "reserved (finished with the page's own requests after the page failed: "
        f"{outcome.reason}); the city e-mailed an activation link",
        office_id=int(process.get("officeId") or attempt.office_id or 0) or None,
        slot_ts=int(process.get("timestamp") or attempt.slot_ts or 0) or None,
        process_id=attempt.process_id,
        activation_deadline=activation_deadline(process),
    )
