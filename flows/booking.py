"""The booking flow: from a wanted appointment to a reserved one, through the site's own pages.

open the deep link → count → captcha → "Weiter" (calendar) → offices → earliest
matching day and slot → reserve → contact → consent → "Termin reservieren".
Every answer the page gets is checked: a rate limit ends as "rate limited",
maintenance and failures as "site error", a slot someone else took moves on
to the next match, an expired captcha token is solved again, and a control
that can no longer be found, or a step whose structure changed, ends as
"site changed" with a diff instead of a wrong booking.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime
from urllib.parse import urlsplit

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from .captcha import CaptchaMissing, detect_captcha
from .fingerprint import PatternStore, StepPrint, merge, print_diff, shape
from .locators import ControlNotFound, Resolver, SelectorBook
from .network import ApiCapture, PageGone
from .outcomes import FlowStop, Outcome, OutcomeKind
from .pages import AppointmentStep, ContactStep, ServiceStep, SummaryStep
from .pages.appointment_step import CalendarView
from .pages.base import CaptchaExpired
from .request import BookingRequest
from .timezone import BERLIN

CAPTCHA_ROUNDS = 3


def activation_minutes(process: dict | None) -> int:
    """Minutes the person has to open the activation link (the process's ``scope.activationDuration``)."""
    scope = (process or {}).get("scope")
    try:
        return int((scope if isinstance(scope, dict) else {}).get("activationDuration") or 60)
    except (TypeError, ValueError):
        return 60


class BookingObserver:
    """Told about every step as it happens (the attempt recorder, the progress display).

    Every method does nothing here: an observer overrides what it cares about,
    and a plain ``BookingObserver()`` ignores everything (a warm page's preparation
    is not an attempt).
    """

    def step_done(self, name: str, seconds: float) -> None: ...

    def step_failed(self, name: str, seconds: float) -> None: ...

    def reserving(self, office_id: int, slot_ts: int, reservation_minutes: int) -> None: ...

    def reserved(self, process: dict) -> None: ...

    def slot_taken(self, office_id: int, slot_ts: int) -> None: ...

    def reserve_refused(self, office_id: int, slot_ts: int, codes: list[str]) -> None:
        """The reserve was answered with an error: nothing is held."""

    def note(self, message: str) -> None: ...

    def captcha_solved(self, method: str, seconds: float) -> None: ...


NullObserver = BookingObserver


class _DaySearch:
    """Which calendar days the walk still has to read, and the cap on reads."""

    def __init__(self, request: BookingRequest, cap: int, hint: date | None) -> None:
        self.request, self.cap, self.hint = request, cap, hint
        self.read: set[str] = set()
        self.spent = 0
        self.last: str | None = None

    def days_to_read(self, view: CalendarView, shown: tuple[int, int] | None) -> list[str]:
        """Days of the shown month (only its tiles can be clicked) that may hold a match, in date order."""
        wanted = []
        for day, offices in sorted(view.offices_by_day.items()):
            d = date.fromisoformat(day)
            in_view = shown is None or (d.year, d.month) == shown
            after_hint = self.hint is None or d >= self.hint
            if day not in self.read and in_view and after_hint and self.request.could_match(d, offices):
                wanted.append(day)
        return wanted

    def spend(self, day: str) -> None:
        if self.spent >= self.cap:
            raise FlowStop(Outcome(
                OutcomeKind.SEARCH_LIMIT,
                f"read {self.spent} calendar days (up to {self.last or 'the first bookable day'}) without a matching "
                f"slot and stopped at the cap of {self.cap} day reads per attempt (MTA_MAX_DAY_READS; each read is "
                f"one request to the site). Later days in the range were not checked: narrow the range or raise "
                f"the cap."))
        self.spent += 1
        self.last = day

    def summary(self) -> str:
        return f"{len(self.read)} day(s) read, {self.spent} request(s)"


class SiteChanged(Exception):
    def __init__(self, diff: list[str]) -> None:
        super().__init__("; ".join(diff))
        self.diff = diff


@dataclass
class Target:
    booking_url: str
    api_url: str

    @property
    def site(self) -> str:
        return urlsplit(self.booking_url).netloc or self.booking_url

    def deep_link(self, service_id: int, office_id: int | None = None) -> str:
        base = self.booking_url.split("#", 1)[0]
        return f"{base}#/services/{service_id}" + (f"/locations/{office_id}" if office_id else "")


@dataclass
class Catalogue:
    service_name: str
    office_names: dict[int, str]
    offices_of_service: list[int]
    reservation_minutes: int = 15
    token_expires_at: float | None = None  # the captcha token's exp (site clock), when solved

    @classmethod
    def from_answer(cls, body: object, service_id: int) -> Catalogue:
        data = body if isinstance(body, dict) else {}
        service = next((s for s in data.get("services", []) if s.get("id") == service_id), None)
        if service is None:
            raise FlowStop(Outcome(OutcomeKind.NO_MATCH, f"the site does not offer service {service_id} (any more)"))
        offices = sorted({r["officeId"] for r in data.get("relations", []) if r.get("serviceId") == service_id})
        names = {o["id"]: o.get("name", str(o["id"])) for o in data.get("offices", [])}
        minutes = [int((o.get("scope") or {}).get("reservationDuration") or 15)
                   for o in data.get("offices", []) if o.get("id") in offices]
        return cls(service["name"], names, offices, max(minutes) if minutes else 15)


@dataclass
class BookingFlow:
    page: Page
    book: SelectorBook
    target: Target
    observer: BookingObserver
    patterns: PatternStore | None = None
    excluded_slots: set[tuple[int, int]] = field(default_factory=set)  # (officeId, unix) never to reserve
    max_slot_tries: int = 5
    max_day_reads: int = 12  # calendar requests the walk may send after "Weiter" (each reads one day)
    first_day_hint: date | None = None  # the poll saw nothing matching before this day: start reading there
    control_timeout: float = 10.0
    api_timeout: float = 30.0  # include the rate budget's longest hold (its window)
    step_timeout: float = 30.0  # how long the loading page may take to send its first request to our API

    def __post_init__(self) -> None:
        self.capture = ApiCapture(self.page, self.target.api_url, timeout=self.api_timeout)
        self.locate = Resolver(self.page, self.book, timeout=self.control_timeout)

    async def run(self, request: BookingRequest) -> Outcome:
        return await self._guarded(lambda: self._walk(request), request)

    async def _guarded(self, first_try, request: BookingRequest) -> Outcome:
        """Run a walk; map every way it can end to one outcome. A refused token means a fresh full walk."""
        try:
            attempt = first_try
            for round_ in range(CAPTCHA_ROUNDS):
                try:
                    return await attempt()
                except CaptchaExpired as expired:
                    self.observer.note(f"the site refused the captcha token ({expired}); solving again "
                                       f"({round_ + 1}/{CAPTCHA_ROUNDS})")
                    attempt = lambda: self._walk(request)  # noqa: E731
            return Outcome(OutcomeKind.SITE_ERROR, "the site kept refusing fresh captcha tokens")
        except FlowStop as stop:
            return stop.outcome
        except SiteChanged as changed:
            return Outcome(OutcomeKind.SITE_CHANGED, "the site's structure changed; nothing was booked",
                           diff=changed.diff)
        except ControlNotFound as missing:
            state = await ServiceStep(self.page, self.locate, self.capture).site_state()
            if state is not None:
                return state.outcome
            return Outcome(OutcomeKind.SITE_CHANGED, f"the page no longer has the control {missing.control!r}; "
                           "nothing was booked", diff=[str(missing)])
        except PageGone as gone:
            return Outcome(OutcomeKind.SITE_ERROR, f"the browser could not complete the step: {gone}")
        except TimeoutError as exc:  # asyncio's is the same class; its message may be empty
            return Outcome(OutcomeKind.TIMEOUT, f"the site did not answer in time: {str(exc) or type(exc).__name__}")
        except PlaywrightError as exc:
            message = str(exc).splitlines()[0]
            kind = OutcomeKind.TIMEOUT if "Timeout" in message else OutcomeKind.SITE_ERROR
            return Outcome(kind, f"the browser could not complete the step: {message}")

    # -- the walk ---------------------------------------------------------------------
    async def _walk(self, request: BookingRequest) -> Outcome:
        catalogue = await self.prepare(request)
        return await self.complete(request, catalogue)

    async def prepare(self, request: BookingRequest) -> Catalogue:
        """Open the deep link, set the count and solve the captcha: the page then waits at "Weiter".

        A page kept in this state (warm) books a detected slot without the load and captcha cost.
        """
        service = ServiceStep(self.page, self.locate, self.capture)
        single = request.office_ids[0] if len(request.office_ids) == 1 else None

        async with self._step("open") as s:
            opened = self.capture.mark()
            answer = await service.open(self.target.booking_url, request.service_id, single,
                                        send_timeout=self.step_timeout)
            catalogue = Catalogue.from_answer(answer.body, request.service_id)
            s.api("offices-and-services/", answer.body)

        async with self._step("service"):
            await service.set_count(request.service_id, catalogue.service_name, request.count)
            try:
                handler = await detect_captcha(self.locate, self.capture, request.service_id, since=opened,
                                               widget_timeout=self.control_timeout)
            except CaptchaMissing as missing:
                raise FlowStop(Outcome(OutcomeKind.SITE_CHANGED, f"{missing}; nothing was booked",
                                       diff=[f"service: {missing}"])) from missing
            solving = time.perf_counter()
            result = await handler.solve()
            if result.kind == "handoff":
                raise FlowStop(Outcome(OutcomeKind.CAPTCHA_HANDOFF,
                                       f"{result.reason}. Please finish on your own device: open the link, solve the "
                                       "captcha and pick a slot.",
                                       handoff_link=self.target.deep_link(request.service_id, single)))
            if result.kind == "failed":
                raise FlowStop(Outcome(OutcomeKind.SITE_ERROR, result.reason))
            if result.kind == "solved":
                self.observer.note(f"captcha solved ({handler.name})")
                self.observer.captcha_solved(handler.name, time.perf_counter() - solving)
            catalogue.token_expires_at = result.token_expires_at
        return catalogue

    async def complete(self, request: BookingRequest, catalogue: Catalogue) -> Outcome:
        """From a prepared page: calendar, earliest matching slot, reserve, contact, preconfirm."""
        service = ServiceStep(self.page, self.locate, self.capture)
        single = request.office_ids[0] if len(request.office_ids) == 1 else None
        appointment = AppointmentStep(self.page, self.locate, self.capture)
        async with self._step("calendar") as s:
            answers = await service.proceed()
            if any("noAppointmentForThisScope" in a.error_codes for a in answers[-1:]):
                raise FlowStop(Outcome(OutcomeKind.NO_MATCH, "the site has no free appointment for this service"))
            if request.office_ids and not single:
                await appointment.restrict_offices(set(request.office_ids), catalogue.office_names,
                                                   catalogue.offices_of_service)
            s.api("available-calendar/", appointment.latest_calendar().body if appointment.latest_calendar() else None)

        process = await self._reserve_earliest(request, appointment, catalogue)

        contact = ContactStep(self.page, self.locate, self.capture)
        async with self._step("contact") as s:
            await contact.fill(request.contact)
            answer = await contact.submit()
            if answer.error_codes:
                raise FlowStop(Outcome(OutcomeKind.SITE_ERROR, f"the site refused the contact details: "
                                       f"{', '.join(answer.error_codes)}", process_id=process.get("processId")))
            s.api("update-appointment/", answer.body)

        async with self._step("preconfirm") as s:
            answer = await SummaryStep(self.page, self.locate, self.capture).reserve()
            if answer.error_codes:
                raise FlowStop(Outcome(OutcomeKind.SITE_ERROR, f"the site refused the reservation: "
                                       f"{', '.join(answer.error_codes)}", process_id=process.get("processId")))
            s.api("preconfirm-appointment/", answer.body)
        body = answer.body if isinstance(answer.body, dict) else {}
        minutes = activation_minutes(body)
        office_id = int(body.get("officeId") or process["officeId"])
        slot_ts = int(body.get("timestamp") or process["timestamp"])
        when = datetime.fromtimestamp(slot_ts, BERLIN).strftime("%a %d.%m.%Y %H:%M")
        return Outcome(
            OutcomeKind.RESERVED,
            f"{when} at {catalogue.office_names.get(office_id, office_id)}; the city e-mailed an activation link: "
            f"open it within {minutes} minutes (or hand it to mta activate)",
            office_id=office_id,
            office_name=catalogue.office_names.get(office_id),
            slot_ts=slot_ts,
            process_id=int(body.get("processId") or process["processId"]),
            activation_deadline=time.time() + minutes * 60,
        )

    async def run_prepared(self, request: BookingRequest, catalogue: Catalogue) -> Outcome:
        """Book on a page :meth:`prepare` left warm; falls back to a full walk if its token was refused."""
        return await self._guarded(lambda: self.complete(request, catalogue), request)

    async def _reserve_earliest(self, request: BookingRequest, appointment: AppointmentStep,
                                catalogue: Catalogue) -> dict:
        """Walk the calendar as a person does and reserve the earliest matching slot in the range.

        The painted month's days first (a click each: one request, that day's times), then the chevron
        to the next bookable day, month after month until the range ends. Days outside the range or the
        weekdays, or without a wanted office, are never read. Every read counts against ``max_day_reads``.
        """
        search = _DaySearch(request, self.max_day_reads, self.first_day_hint)
        tries = 0
        async with self._step("reserve") as s:
            while True:
                view = appointment.view()
                shown = await appointment.month_of(view, timeout=self.control_timeout)
                if shown is None and view.offices_by_day:
                    raise SiteChanged(["calendar: the month caption does not show the month of the site's answer"])
                for day in search.days_to_read(view, shown):
                    slots = view.slots if day == view.slot_day else None
                    if slots is None:
                        search.spend(day)
                        slots = await appointment.open_day(day)
                    if slots is None:
                        continue  # the page showed another day's times: not read, not matched
                    search.read.add(day)
                    candidates = sorted(
                        (ts, office)
                        for office, stamps in slots.items()
                        for ts in stamps
                        if request.accepts(office, ts) and (office, ts) not in self.excluded_slots
                    )
                    for ts, office in candidates:
                        await appointment.pick_slot(office, catalogue.office_names.get(office, ""), ts)
                        self.observer.reserving(office, ts, catalogue.reservation_minutes)
                        answer = await appointment.reserve()
                        if "appointmentNotAvailable" in answer.error_codes:
                            tries += 1
                            self.observer.slot_taken(office, ts)
                            if tries >= self.max_slot_tries:
                                raise FlowStop(Outcome(OutcomeKind.SLOT_TAKEN,
                                                       f"{tries} matching slots were taken by others first"))
                            continue
                        if answer.error_codes:
                            self.observer.reserve_refused(office, ts, answer.error_codes)
                            raise FlowStop(Outcome(OutcomeKind.SITE_ERROR, "the site refused the reservation: "
                                                   + ", ".join(answer.error_codes)))
                        process = answer.body if isinstance(answer.body, dict) else {}
                        if "processId" not in process:
                            raise SiteChanged(["reserve: API reserve-appointment/ answered without processId"])
                        self.observer.reserved(process)
                        s.api("reserve-appointment/", process)
                        return process
                    view = appointment.view()
                following = appointment.view().next_bookable
                if not following or date.fromisoformat(following) > request.date_to:
                    break
                search.spend(following)
                landed = await appointment.jump(forward=True)
                if landed is None:
                    break
        if tries:
            raise FlowStop(Outcome(OutcomeKind.SLOT_TAKEN, f"all {tries} matching slots were taken by others first"))
        raise FlowStop(Outcome(OutcomeKind.NO_MATCH, "no free slot matches the wanted offices, dates and times "
                               f"({search.summary()})"))

    # -- steps: timing and fingerprints ------------------------------------------------
    def _step(self, name: str) -> _Step:
        return _Step(self, name)

    def _describe(self, control: str, index: int) -> str:
        strategies = self.book.strategies(control)
        return f"strategy {index} {strategies[index].describe()}" if index < len(strategies) else f"strategy {index}"


class _Step:
    """Times a step and checks its fingerprint against the last good one."""

    def __init__(self, flow: BookingFlow, name: str) -> None:
        self.flow, self.name = flow, name
        self.print = StepPrint(step=name)

    def api(self, endpoint: str, body: object) -> None:
        if body is not None:
            self.print.api[endpoint] = shape(body)

    async def __aenter__(self) -> _Step:
        self.started = time.perf_counter()
        self.flow.locate.matched = {}
        await self._trace_group(start=True)
        return self

    async def _trace_group(self, start: bool) -> None:
        """Name the step in the trace, so the viewer lists the steps and where one failed."""
        tracing = self.flow.page.context.tracing
        try:
            await (tracing.group(f"step: {self.name}") if start else tracing.group_end())
        except PlaywrightError:
            pass  # not tracing

    async def __aexit__(self, exc_type, exc, tb) -> None:
        await self._trace_group(start=False)
        seconds = time.perf_counter() - self.started
        if exc_type is None:
            self.flow.observer.step_done(self.name, seconds)
        else:
            self.flow.observer.step_failed(self.name, seconds)
        self.print.controls = dict(self.flow.locate.matched)
        store = self.flow.patterns
        if store is None or exc_type is not None:
            return
        known = store.load(self.flow.target.site, self.name)
        if known is not None:
            diff = print_diff(known, self.print, self.flow._describe)
            if diff:
                raise SiteChanged(diff)
            merged = merge(known, self.print)
            if merged.to_json() != known.to_json():  # a write (and its fsync) only when something was learned
                store.save(self.flow.target.site, self.name, merged)
        else:
            store.save(self.flow.target.site, self.name, self.print)
