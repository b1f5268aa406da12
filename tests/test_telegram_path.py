"""The whole path through Telegram, in real Chromium against the replica: a slot appears → the agent books →
"reserved" in the chat → the person pastes the activation link → "confirmed" with an .ics that parses.
Also what the person is told when the site refuses the browser (FriendlyCaptcha) or rate-limits."""

from __future__ import annotations

from datetime import datetime, timedelta

from icalendar import Calendar
from sqlalchemy import select

from agent.models import Attempt, Person
from agent.watches import add_watch
from flows.links import activation_link
from flows.request import Contact
from flows.timezone import BERLIN
from replica.faults import FaultRule
from tests.bot_helpers import ANNA, bot_overrides, buttons_of, message_id_of, onboard, press_and_wait, say_and_wait, text_of, to
from tests.replica_helpers import berlin_slot
from tests.watch_helpers import running_agent, wait_for, watcher_settings

ANNA_CONTACT = Contact("Anna", "Muster", "anna@example.org")


async def _watch(service, replica, mode: str = "auto", offices=(102522,)) -> int:
    with service.sessions() as session:
        key = session.scalars(select(Person)).one().key
    today = replica.clock.now_berlin().date()
    watch_id = add_watch(service.sessions, ANNA_CONTACT, 1063453, list(offices), today, today + timedelta(days=30),
                         mode=mode, key=key)
    await service.changed()
    return watch_id


async def test_reserved_in_the_chat_then_the_pasted_link_confirms_with_a_calendar_file(server, replica, tmp_path,
                                                                                       standin) -> None:
    replica.clock.unfreeze()
    settings = watcher_settings(server, tmp_path, **bot_overrides(standin))
    async with running_agent(settings) as (service, console):
        await onboard(standin)
        await _watch(service, replica)
        await wait_for(lambda: any(s.poller.polls >= 1 for s in service.watcher.queries.values()), 60)
        slot = berlin_slot(replica, 3, 10)
        replica.desk.add_slots(102522, [slot])
        reserved = await standin.await_for(to(ANNA, "Reserved"), 90)
        with service.sessions() as session:
            attempt = session.scalars(select(Attempt).where(Attempt.outcome == "reserved")).one()
        assert buttons_of(reserved) == [f"act:{attempt.id}"]
        moment = datetime.fromtimestamp(slot, BERLIN)
        assert f"{moment:%d.%m.%Y %H:%M}" in text_of(reserved) and "activation link" in text_of(reserved)

        # "I activated it" before activating: the site is asked, and it says not yet
        await press_and_wait(standin, ANNA, f"act:{attempt.id}", message_id_of(reserved), "not activated yet")
        # the link from the city's e-mail, pasted into the chat with some words around it
        link = activation_link(settings.booking_url, attempt.process_id, attempt.auth_key)
        await say_and_wait(standin, ANNA, f"here it is: {link} thanks", "Activating")
        confirmed = await standin.await_for(to(ANNA, "Confirmed", method="sendDocument"), 90)
        assert console.notices == []  # everything went to the chat
    [(name, content)] = confirmed.files.items() if isinstance(confirmed.files, dict) else confirmed.files
    calendar = Calendar.from_ical(content)
    [event] = calendar.walk("VEVENT")
    assert int(event.decoded("dtstart").timestamp()) == slot
    with service.sessions() as session:
        assert session.get(Attempt, attempt.id).process_status == "confirmed"
    assert [p.status for p in replica.desk.live_processes()] == ["confirmed"]


async def test_a_link_to_someone_elses_reservation_is_not_opened(server, replica, tmp_path, standin) -> None:
    replica.clock.unfreeze()
    settings = watcher_settings(server, tmp_path, **bot_overrides(standin))
    async with running_agent(settings, schedule=False):
        await onboard(standin)
        foreign = activation_link(settings.booking_url, 4242, "abcdef")
        await say_and_wait(standin, ANNA, foreign, "no reservation I hold")
        elsewhere = activation_link("https://example.org/termin", 4242, "abcdef")
        await say_and_wait(standin, ANNA, elsewhere, "not a valid activation link")
    assert replica.requests.all() == [] or all("confirm" not in r.path for r in replica.requests.all())


async def test_friendlycaptcha_hands_the_step_to_the_person_with_a_deep_link(server, replica, tmp_path,
                                                                            standin) -> None:
    replica.clock.unfreeze()
    replica.set_captcha_mode("friendly")  # its browser check refuses headless Chromium, as on the site in 2025
    settings = watcher_settings(server, tmp_path, **bot_overrides(standin))
    async with running_agent(settings) as (service, _):
        await onboard(standin)
        await _watch(service, replica)
        handoff = await standin.await_for(to(ANNA, "Your turn"), 90)
    assert settings.booking_url.split("#")[0] in text_of(handoff)
    assert "refuses automated browsers" in text_of(handoff)


async def test_rate_limited_is_told_as_waiting_not_as_no_slots(server, replica, tmp_path, standin) -> None:
    replica.clock.unfreeze()
    settings = watcher_settings(server, tmp_path, **bot_overrides(standin))
    async with running_agent(settings) as (service, _):
        await onboard(standin)
        await _watch(service, replica, mode="notify")
        await wait_for(lambda: any(s.poller.polls >= 1 for s in service.watcher.queries.values()), 60)
        replica.settings.rate_window_s = 4
        replica.faults.add(FaultRule(kind="rate_limit"))
        notice = await standin.await_for(to(ANNA, "rate limited"), 60)
        replica.faults.clear()
    assert "not 'no slots'" in text_of(notice) and "I wait until" in text_of(notice)
