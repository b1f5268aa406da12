"""Activating a reservation through the city's page, as the person would by opening the e-mailed link.

One path for ``mta activate`` and the mailbox watcher: a fresh browser context (the agent's pool, or a
Chromium of its own for the CLI), every API request of the page through the rate budget (as a booking:
it has priority over polls), the flow in ``flows/follow_up.py``; then the attempts holding the process are
recorded, and the site's calendar file is kept for the person.
"""

from __future__ import annotations

import time

from playwright.async_api import async_playwright
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from flows.follow_up import activate as activate_flow
from flows.outcomes import Outcome, OutcomeKind

from .browser import launch_chromium, new_site_context
from .budget import BOOKING, RateBudget
from .config import Settings
from .gate import PageGate
from .models import Attempt
from .pool import BrowserPool
from .runner import selector_book


async def activate_link(settings: Settings, link: str, budget: RateBudget | None = None,
                        pool: BrowserPool | None = None) -> Outcome:
    """Open the activation link on a fresh page and return how it ended."""
    if pool is not None:
        pooled = await pool.new_context()
        try:
            return await _activate_in(settings, pooled.context, link, budget)
        finally:
            await pool.retire(pooled)
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright, settings)
        try:
            context = await new_site_context(browser)
            context.set_default_timeout(settings.step_timeout_s * 1000)
            return await _activate_in(settings, context, link, budget)
        finally:
            await browser.close()


async def _activate_in(settings: Settings, context, link: str, budget: RateBudget | None) -> Outcome:
    page = await context.new_page()
    if budget is not None:
        await PageGate(budget, settings.api_url, BOOKING).attach(page)
    return await activate_flow(page, selector_book(settings), settings.api_url, link)


def mark_process(sessions: sessionmaker[Session], process_id: int, status: str) -> list[int]:
    """Record what happened to a process in every attempt holding it; the attempt ids."""
    now = time.time()
    with sessions.begin() as session:
        attempts = list(session.scalars(select(Attempt).where(Attempt.process_id == process_id)))
        for attempt in attempts:
            attempt.process_status = status
            if status == "confirmed":
                attempt.outcome = "confirmed"
                attempt.activated_at = attempt.activated_at or now
        return [a.id for a in attempts]


def recorded_status(sessions: sessionmaker[Session], process_id: int) -> str | None:
    """What this data directory's attempts last recorded about a process (e.g. ``cancelled`` by mta cancel)."""
    with sessions() as session:
        statuses = [a.process_status for a in session.scalars(select(Attempt).where(Attempt.process_id == process_id)
                                                               .order_by(Attempt.id.desc()))]
    return next((s for s in statuses if s), None)


def record_activation(sessions: sessionmaker[Session], process_id: int, outcome: Outcome) -> list[int]:
    """``confirmed`` when the site said so; ``cancelled`` or ``gone`` when the appointment had ended (cancelled,
    or its activation lapsed); otherwise nothing changes."""
    if outcome.kind is OutcomeKind.CONFIRMED:
        return mark_process(sessions, process_id, "confirmed")
    if outcome.process_status == "cancelled":
        return mark_process(sessions, process_id, "cancelled")
    if outcome.process_status == "expired":
        known = recorded_status(sessions, process_id)  # cancelled by us a while ago: keep saying so
        return mark_process(sessions, process_id, "cancelled" if known == "cancelled" else "gone")
    return []
