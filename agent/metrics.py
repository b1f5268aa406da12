"""Prometheus metrics of the agent: one sink for events, one collector for state.

Two kinds of figures, two mechanisms:

- **Events** (a poll ended, a booking ended, a step took so long, a captcha
  was solved, the site answered 429, a request waited in the budget) are told
  to a :class:`Metrics` sink by the component where they happen. Components
  get the sink injected and default to :data:`NULL_METRICS`, so they work the
  same without metrics (``mta book``, tests of one component).
- **State** (the budget's counts and circuit, Chromium up and its relaunches,
  contexts open and retired, warm pages, the last good poll of each query) is
  read when Prometheus scrapes, by :class:`AgentCollector`, from the objects
  that own it; nothing has to remember to update a gauge.

Labels stay low-cardinality: results, outcomes, step names, request kinds and
the query (service × count × offices, a handful per agent). Never a person,
slot, process or attempt id.

The rate budget is observed, not edited: :func:`instrument_budget` wraps the
``acquire`` and ``observe`` methods of the one budget instance (time spent
waiting for a place; 429 answers), so the budget's own module stays free of
metrics and keeps working without them.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from loguru import logger
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from flows.booking import BookingObserver

if TYPE_CHECKING:  # pragma: no cover
    from .service import AgentService

# Buckets (seconds): a step or a captcha takes from a tenth of a second to a minute; a budget wait up to a window.
STEP_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120)
FLOW_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)
LATENCY_BUCKETS = (0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300)
WAIT_BUCKETS = (0.001, 0.01, 0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120)


class Metrics:
    """The events the components report. This base class is the null sink: every method does nothing."""

    def poll(self, query: str, result: str, new_slots: int = 0) -> None:
        """A poll of a query ended: ``ok`` (slots visible), ``empty`` or a trouble kind; new slots first seen."""

    def booking(self, outcome: str, warm: bool, seconds: float, release_to_reserved_s: float | None) -> None:
        """An attempt of the running agent ended (its outcome kind, whole duration, release → reserved)."""

    def step(self, name: str, seconds: float, ok: bool) -> None:
        """One step of the booking flow (also while a page is prepared)."""

    def captcha(self, method: str, seconds: float) -> None:
        """A captcha was solved."""

    def budget_wait(self, kind: str, seconds: float) -> None:
        """A request waited this long for its place in the rate budget."""

    def rate_limited(self) -> None:
        """The site answered 429 / rateLimitExceeded."""

    def observer(self) -> BookingObserver:
        """A flow observer that reports steps and captcha solves here."""
        return MetricsObserver(self)


NULL_METRICS = Metrics()


class MetricsObserver(BookingObserver):
    """Passes a flow's step timings and captcha solves to the sink."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def step_done(self, name: str, seconds: float) -> None:
        self.metrics.step(name, seconds, True)

    def step_failed(self, name: str, seconds: float) -> None:
        self.metrics.step(name, seconds, False)

    def captcha_solved(self, method: str, seconds: float) -> None:
        self.metrics.captcha(method, seconds)


class PrometheusMetrics(Metrics):
    """The sink backed by prometheus-client, in a registry of its own (not the process-global one:
    two agents in one process, as in tests, do not clash)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.polls = Counter("mta_polls", "Polls of a query by result", ["result"], registry=r)
        self.slots_seen = Counter("mta_slots_seen", "Slots seen for the first time by a poll", registry=r)
        self.bookings = Counter("mta_bookings", "Booking attempts of the running agent by outcome",
                                ["outcome", "warm"], registry=r)
        self.flow_seconds = Histogram("mta_booking_duration_seconds", "Whole booking attempts", ["warm"],
                                      buckets=FLOW_BUCKETS, registry=r)
        self.step_seconds = Histogram("mta_booking_step_duration_seconds", "Steps of the booking flow",
                                      ["step", "result"], buckets=STEP_BUCKETS, registry=r)
        self.latency = Histogram("mta_release_to_reserved_seconds",
                                 "From a slot's release (first seen, site time) to holding it", buckets=LATENCY_BUCKETS,
                                 registry=r)
        self.captcha_seconds = Histogram("mta_captcha_solve_seconds", "Captcha solves", ["method"],
                                         buckets=STEP_BUCKETS, registry=r)
        self.waits = Histogram("mta_budget_wait_seconds", "Time a request waited for its place in the rate budget",
                               ["kind"], buckets=WAIT_BUCKETS, registry=r)
        self.limited = Counter("mta_site_rate_limited", "Answers 429 / rateLimitExceeded from the site", registry=r)
        for result in ("ok", "empty"):
            self.polls.labels(result)  # the usual series exist from the start (at 0)
        self.limited.inc(0)

    def poll(self, query: str, result: str, new_slots: int = 0) -> None:
        self.polls.labels(result).inc()
        if new_slots:
            self.slots_seen.inc(new_slots)

    def booking(self, outcome: str, warm: bool, seconds: float, release_to_reserved_s: float | None) -> None:
        self.bookings.labels(outcome, str(warm).lower()).inc()
        self.flow_seconds.labels(str(warm).lower()).observe(seconds)
        if release_to_reserved_s is not None and release_to_reserved_s >= 0:
            self.latency.observe(release_to_reserved_s)

    def step(self, name: str, seconds: float, ok: bool) -> None:
        self.step_seconds.labels(name, "ok" if ok else "failed").observe(seconds)

    def captcha(self, method: str, seconds: float) -> None:
        self.captcha_seconds.labels(method).observe(seconds)

    def budget_wait(self, kind: str, seconds: float) -> None:
        self.waits.labels(kind).observe(seconds)

    def rate_limited(self) -> None:
        self.limited.inc()


def instrument_budget(budget: Any, metrics: Metrics) -> Callable[[], None]:
    """Report the budget's waits and the site's 429s to ``metrics``; returns the undo.

    Wraps the instance's ``acquire(kind)`` and ``observe(status, headers, error_codes)``."""
    acquire, observe = budget.acquire, budget.observe

    @functools.wraps(acquire)
    async def timed_acquire(kind: str, *args: Any, **kwargs: Any):
        started = time.monotonic()
        try:
            return await acquire(kind, *args, **kwargs)
        finally:
            metrics.budget_wait(str(kind), time.monotonic() - started)

    @functools.wraps(observe)
    def counted_observe(status: int, *args: Any, **kwargs: Any):
        codes = args[1] if len(args) > 1 else kwargs.get("error_codes")
        if status == 429 or "rateLimitExceeded" in (codes or []):
            metrics.rate_limited()
        return observe(status, *args, **kwargs)

    try:
        budget.acquire, budget.observe = timed_acquire, counted_observe
    except (AttributeError, TypeError):  # a budget that takes no instance attributes (slots): no wait/429 figures
        logger.warning("the rate budget cannot be observed; budget waits and 429s are not counted")
        return lambda: None

    def undo() -> None:
        budget.__dict__.pop("acquire", None)
        budget.__dict__.pop("observe", None)

    return undo


class AgentCollector(Collector):
    """State of the running agent, read at scrape time from the objects that own it."""

    def __init__(self, agent: AgentService) -> None:
        self.agent = agent

    def collect(self):
        agent = self.agent
        budget, pool, watcher = agent.budget, agent.pool, agent.watcher
        state = budget.state()
        yield GaugeMetricFamily("mta_site_counter", "The site's per-IP request counter as the agent models it",
                                value=state.get("siteCounter", 0))
        yield GaugeMetricFamily("mta_budget_quiet", "1 during a planned quiet gap (the site's counter resets)",
                                value=1 if state.get("quietUntil") else 0)
        sent = CounterMetricFamily("mta_budget_requests", "Requests that took a place in the rate budget, by kind",
                                   labels=["kind"])
        for kind, count in sorted((state.get("sent") or {}).items()):
            sent.add_metric([kind], count)
        yield sent
        yield CounterMetricFamily("mta_budget_refused", "Requests refused while the circuit was open",
                                  value=state.get("refusedWhileOpen", 0))
        yield GaugeMetricFamily("mta_budget_requests_in_window", "Requests in the current budget window",
                                value=state.get("inWindow", 0))
        yield GaugeMetricFamily("mta_circuit_open", "1 while the site's rate limit holds (no requests at all)",
                                value=1 if budget.circuit_open else 0)
        yield GaugeMetricFamily("mta_chromium_up", "1 while the agent's Chromium is connected or closed on "
                                "purpose while no page is needed",
                                value=1 if pool is not None and (pool.alive or pool.resting) else 0)
        yield CounterMetricFamily("mta_chromium_restarts", "Chromium relaunched after it was gone",
                                  value=pool.crash_relaunches if pool is not None else 0)
        yield GaugeMetricFamily("mta_browser_contexts_open", "Browser contexts handed out and not retired",
                                value=pool.open_contexts if pool is not None else 0)
        yield CounterMetricFamily("mta_browser_contexts_recycled", "Browser contexts retired (worn, failed, done)",
                                  value=pool.retired if pool is not None else 0)
        yield GaugeMetricFamily("mta_warm_pages", "Pages kept ready to book",
                                value=len(watcher.warm.pages) if watcher is not None else 0)
        yield CounterMetricFamily("mta_warm_pages_prepared", "Warm pages prepared",
                                  value=watcher.warm.prepared if watcher is not None else 0)
        queries = watcher.queries if watcher is not None else {}
        yield GaugeMetricFamily("mta_queries", "Distinct queries polled", value=len(queries))
        yield GaugeMetricFamily("mta_slots_visible", "Slots the latest polls saw, over all queries",
                                value=sum(len(q.poller.known) for q in queries.values()))
        last = GaugeMetricFamily("mta_last_successful_poll_timestamp_seconds",
                                 "Unix time of the latest poll of a query that got an answer", labels=["query"])
        for key, query in sorted(queries.items(), key=lambda kv: kv[0].id):
            if query.last_ok:
                last.add_metric([key.id], query.last_ok)
        yield last
