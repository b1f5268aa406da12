"""The Telegram bot: real python-telegram-bot over real HTTP to the Bot API stand-in, real SQLite, the replica."""

from __future__ import annotations

import time
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from sqlalchemy import select

from agent.bot import TelegramRefused
from agent.models import Attempt, Chat, Observation, Person, Watch
from agent.notices import Notice, Reserved, SlotFound
from agent.states import NoticeKind
from agent.watches import add_watch
from flows.request import Contact
from tests.agent_helpers import agent_settings
from tests.bot_helpers import (ADMIN, ANNA, STRANGER, bot_alone, bot_overrides, buttons_of, message_id_of, onboard,
                               press_and_wait, say_and_wait, text_of, to)
from tests.watch_helpers import running_agent, wait_for, watcher_settings

ANNA_CONTACT = Contact("Anna", "Muster", "anna@example.org")


def settings_for(server, tmp_path, standin, **extra):
    return agent_settings(server, tmp_path, **bot_overrides(standin, **extra))


async def test_a_stranger_gets_one_polite_refusal_and_nothing_is_stored(server, tmp_path, standin) -> None:
    settings = settings_for(server, tmp_path, standin)
    async with bot_alone(settings) as (service, _):
        standin.send_text(STRANGER, "/start")
        await standin.await_for(to(STRANGER, "privat"))  # a German-speaking client
        standin.send_text(STRANGER, "hello?")
        standin.send_text(ANNA, "/help")  # processed after the stranger's second message
        await standin.await_for(to(ANNA, "/watch"))
        with service.sessions() as session:
            assert session.get(Chat, STRANGER) is None
            assert session.scalars(select(Person)).all() == []
    assert len(standin.sent(STRANGER)) == 1


async def test_onboarding_stores_validated_contact_details(server, tmp_path, standin) -> None:
    settings = settings_for(server, tmp_path, standin)
    async with bot_alone(settings) as (service, _):
        consent = await say_and_wait(standin, ANNA, "/start", "agree")
        assert buttons_of(consent) == ["consent:yes", "consent:no"]
        await press_and_wait(standin, ANNA, "consent:yes", message_id_of(consent), "first name")
        await say_and_wait(standin, ANNA, "x" * 51, "At most 50")  # the site's own limit
        await say_and_wait(standin, ANNA, "Anna", "last name")
        await say_and_wait(standin, ANNA, "Muster", "e-mail")
        await say_and_wait(standin, ANNA, "anna@", "not a valid e-mail")
        await say_and_wait(standin, ANNA, "anna@example.org", "phone")
        await say_and_wait(standin, ANNA, "12ab", "Digits only")
        await say_and_wait(standin, ANNA, "+4989123456", "Saved")
        me = await say_and_wait(standin, ANNA, "/me", "Your details")
        assert "Anna Muster" in text_of(me) and "anna@example.org" in text_of(me)
        with service.sessions() as session:
            person = session.scalars(select(Person)).one()
            chat = session.get(Chat, ANNA)
        assert (person.first_name, person.phone, person.chat_id) == ("Anna", "+4989123456", ANNA)
        assert chat.person_key == person.key and chat.consented_at


async def test_declining_consent_stores_nothing(server, tmp_path, standin) -> None:
    settings = settings_for(server, tmp_path, standin)
    async with bot_alone(settings) as (service, _):
        consent = await say_and_wait(standin, ANNA, "/start", "agree")
        await press_and_wait(standin, ANNA, "consent:no", message_id_of(consent), "nothing was stored")
        with service.sessions() as session:
            assert session.scalars(select(Person)).all() == []


async def test_a_watch_conversation_ends_in_one_watch_and_the_list_pauses_resumes_deletes(server, replica, tmp_path,
                                                                                         standin) -> None:
    settings = settings_for(server, tmp_path, standin)
    async with bot_alone(settings) as (service, bot):
        await onboard(standin)
        await say_and_wait(standin, ANNA, "/watch", "Which service")
        await say_and_wait(standin, ANNA, "zzzz-nothing", "No service matches")
        picks = await say_and_wait(standin, ANNA, "reisepass", "pick one")
        assert "svc:1063453" in buttons_of(picks)
        step = await press_and_wait(standin, ANNA, "svc:1063453", message_id_of(picks), "")
        if "cnt:1" in buttons_of(step):
            step = await press_and_wait(standin, ANNA, "cnt:1", message_id_of(step), "Which offices")
        assert "off:102522" in buttons_of(step) and "off:any" in buttons_of(step)
        offices_message = message_id_of(step)
        standin.press(ANNA, "off:any", offices_message)  # already "any": the same keyboard, Telegram says "not modified"
        standin.press(ANNA, "off:102522", offices_message)
        edited = await standin.await_for(lambda c: c.ok and c.method == "editMessageReplyMarkup" and c.chat_id == ANNA)
        toggled = [b for row in edited.parsed["reply_markup"].inline_keyboard for b in row
                   if b.callback_data == "off:102522"]
        assert toggled[0].text.startswith("✅")
        assert [c for c in standin.calls if c.method == "editMessageReplyMarkup" and not c.ok
                and "not modified" in (c.description or "")]  # the "any" tap: refused by Telegram, no error for her
        dates = await press_and_wait(standin, ANNA, "off:done", offices_message, "Which dates")
        await say_and_wait(standin, ANNA, "31.12.2020-01.01.2021", "in the past")
        days = await press_and_wait(standin, ANNA, "dt:28", message_id_of(dates), "Which weekdays")
        times = await press_and_wait(standin, ANNA, "wd:done", message_id_of(days), "What time")
        await say_and_wait(standin, ANNA, "12:00-08:00", "end after it starts")
        mode = await say_and_wait(standin, ANNA, "08:00-12:30", "book automatically")
        summary = await press_and_wait(standin, ANNA, "md:auto", message_id_of(mode), "New watch")
        assert "Leonrodstr" not in text_of(summary) and "08:00–12:30" in text_of(summary)
        await press_and_wait(standin, ANNA, "ws:save", message_id_of(summary), "saved")
        del times
        with service.sessions() as session:
            watch = session.scalars(select(Watch)).one()
        assert (watch.service_id, watch.office_ids, watch.weekdays, watch.time_from, watch.time_to, watch.mode) == (
            1063453, [102522], [0, 1, 2, 3, 4], "08:00", "12:30", "auto")
        today = replica.clock.now_berlin().date()
        assert watch.date_to == (today + timedelta(days=28)).isoformat() or watch.date_to > today.isoformat()

        listing = await say_and_wait(standin, ANNA, "/watches", f"{watch.id}")
        assert buttons_of(listing) == [f"wl:pause:{watch.id}", f"wl:delete:{watch.id}"]
        await press_and_wait(standin, ANNA, f"wl:pause:{watch.id}", message_id_of(listing), "paused")
        assert service.list_watches()[0].state == "paused"
        await press_and_wait(standin, ANNA, f"wl:resume:{watch.id}", message_id_of(listing), "resumed")
        assert service.list_watches()[0].state == "active"
        await press_and_wait(standin, ANNA, f"wl:delete:{watch.id}", message_id_of(listing), "deleted")
        assert service.list_watches() == []
    assert bot.handler_errors == 0


async def test_another_persons_watch_cannot_be_touched(server, replica, tmp_path, standin) -> None:
    settings = settings_for(server, tmp_path, standin, telegram_allowed_chat_ids=[ANNA, 1002])
    async with bot_alone(settings) as (service, _):
        await onboard(standin, ANNA)
        await onboard(standin, 1002, "Ben", "ben@example.org")
        with service.sessions() as session:
            anna = session.scalars(select(Person).where(Person.chat_id == ANNA)).one()
        today = replica.clock.now_berlin().date()
        watch_id = add_watch(service.sessions, ANNA_CONTACT, 1063453, [102522],
                             today, today + timedelta(days=10), key=anna.key)
        listing = await say_and_wait(standin, 1002, "/watches", "No watches")
        seen = len(standin.calls)  # a forged button (Telegram would never offer it): the data names Anna's watch
        standin.push_raw({"callback_query": {"id": "77", "from": {"id": 1002, "is_bot": False, "first_name": "Ben"},
                                             "chat_instance": "1", "data": f"wl:delete:{watch_id}",
                                             "message": listing.message.to_dict()}})
        await standin.await_for(to(1002, "does not exist"), since=seen)
        assert [w.id for w in service.list_watches()] == [watch_id]


async def test_forget_removes_the_person_everywhere(server, replica, tmp_path, standin) -> None:
    settings = settings_for(server, tmp_path, standin)
    async with bot_alone(settings) as (service, _):
        await onboard(standin)
        with service.sessions() as session:
            key = session.scalars(select(Person)).one().key
        today = replica.clock.now_berlin().date()
        add_watch(service.sessions, ANNA_CONTACT, 1063453, [], today,
                  today + timedelta(days=5), key=key)
        with service.sessions.begin() as session:
            session.add(Attempt(site="x", person=key, service_id=1063453, request={}, phase="closed", outcome="reserved"))
        trace = settings.recordings_dir / "attempt-1.zip"
        trace.parent.mkdir(parents=True, exist_ok=True)
        trace.write_bytes(b"PK trace with Anna's data")
        await say_and_wait(standin, ANNA, "/quiet 21:30-06:15", "21:30-06:15")
        ask = await say_and_wait(standin, ANNA, "/forget", "Delete everything")
        await press_and_wait(standin, ANNA, "forget:yes", message_id_of(ask), "Deleted: 1 watch")
        with service.sessions() as session:
            assert session.scalars(select(Person)).all() == []
            assert session.scalars(select(Watch)).all() == []
            assert session.scalars(select(Attempt)).all() == []
            assert session.get(Chat, ANNA).person_key is None
            assert session.get(Chat, ANNA).quiet_hours is None  # the setting decides again
        assert not trace.exists()
        await say_and_wait(standin, ANNA, "/me", "/start first")


async def test_patterns_sends_a_png_heatmap(server, tmp_path, standin) -> None:
    settings = settings_for(server, tmp_path, standin)
    async with bot_alone(settings) as (service, _):
        await onboard(standin)
        now = time.time()
        with service.sessions.begin() as session:
            for n in range(40):
                session.add(Observation(service_id=1063453, office_id=102522, slot_ts=int(now) + 86400,
                                        first_seen=now - (n % 4) * 7 * 86400 - 3600))
        call = await say_and_wait(standin, ANNA, "/patterns", "observations")
    assert call.method == "sendPhoto"
    [photo] = call.files.values()
    assert photo.startswith(b"\x89PNG\r\n\x1a\n") and len(photo) > 5000


async def test_unknown_commands_and_free_text_get_help(server, tmp_path, standin) -> None:
    settings = settings_for(server, tmp_path, standin)
    async with bot_alone(settings):
        await say_and_wait(standin, ANNA, "/frobnicate", "don't understand")
        await say_and_wait(standin, ANNA, "hello there", "/watch")


async def test_admin_lets_a_chat_in_and_shuts_it_out(server, tmp_path, standin) -> None:
    settings = settings_for(server, tmp_path, standin)
    async with bot_alone(settings):
        await say_and_wait(standin, ANNA, "/allow 2002", "Admin only")
        await say_and_wait(standin, ADMIN, "/allow two", "Usage")
        await say_and_wait(standin, ADMIN, "/allow 2002", "may use the bot")
        await say_and_wait(standin, 2002, "/start", "agree")
        await say_and_wait(standin, ADMIN, f"/deny {ANNA}", "shut out")
        await say_and_wait(standin, ANNA, "/help", "private")
        await say_and_wait(standin, ADMIN, f"/deny {ADMIN}", "cannot be shut out")


@asynccontextmanager
async def onboarded_in_quiet_hours(server, tmp_path, standin):
    """The bot alone, quiet hours (the setting) from an hour ago to an hour ahead, Anna onboarded: yields
    the service, Anna's person key, the quiet hours and a slot time."""
    from datetime import datetime

    from flows.timezone import BERLIN

    now = datetime.now(BERLIN)
    quiet = f"{(now - timedelta(hours=1)):%H:%M}-{(now + timedelta(hours=1)):%H:%M}"
    settings = settings_for(server, tmp_path, standin, quiet_hours=quiet)
    async with bot_alone(settings) as (service, _):
        await onboard(standin)
        with service.sessions() as session:
            key = session.scalars(select(Person)).one().key
        yield service, key, quiet, int(time.time()) + 86400


async def test_quiet_hours_hold_found_slots_but_never_a_reservation(server, tmp_path, standin) -> None:
    async with onboarded_in_quiet_hours(server, tmp_path, standin) as (service, key, _, slot):
        await service.notifier.send(Notice(key, NoticeKind.FOUND, SlotFound(1, "Reisepass", ((slot, "Orleansplatz"),), 1)))
        await service.notifier.send(Notice(key, NoticeKind.BOOKED, Reserved(1, 7, slot, "Orleansplatz", time.time() + 900)))
        reserved = await standin.await_for(to(ANNA, "Reserved"))
        assert buttons_of(reserved) == ["act:7"]
        assert not [c for c in standin.sent(ANNA) if "Slot found" in text_of(c)]
        service.notifier.quiet = None  # the quiet hours end
        assert await service.notifier.flush() == 1
        await standin.await_for(to(ANNA, "Slot found"))


async def test_a_person_sets_their_own_quiet_hours(server, tmp_path, standin) -> None:
    """/quiet off: found slots come at once although the setting's quiet hours are on; a bad window is
    refused with the usage; /quiet default returns to the setting (held again, sent when it ends)."""
    async with onboarded_in_quiet_hours(server, tmp_path, standin) as (service, key, quiet, slot):
        def found(watch_id: int) -> Notice:
            return Notice(key, NoticeKind.FOUND, SlotFound(watch_id, "Reisepass", ((slot, "Orleansplatz"),), 1))

        shown = await say_and_wait(standin, ANNA, "/quiet", "/quiet off")
        assert quiet in text_of(shown)
        await say_and_wait(standin, ANNA, "/quiet 25:00-07:00", "23:00-07:00")  # refused: the usage again
        await say_and_wait(standin, ANNA, "/quiet 07:00-07:00", "23:00-07:00")  # no window: refused too
        await say_and_wait(standin, ANNA, "/quiet off", "No quiet hours")
        await service.notifier.send(found(1))
        await standin.await_for(to(ANNA, "Slot found"))
        await say_and_wait(standin, ANNA, "/quiet default", quiet)
        await service.notifier.send(found(2))
        assert len(service.notifier.waiting) == 1  # held for the end of the setting's quiet hours
        assert await service.notifier.flush() == 0
        await say_and_wait(standin, ANNA, "/quiet off", "No quiet hours")
        assert await service.notifier.flush() == 1  # the person turned them off: what waited goes now
        await say_and_wait(standin, ANNA, "/quiet default", quiet)
        await service.notifier.send(found(3))  # held ...
        await say_and_wait(standin, ANNA, "/quiet off", "No quiet hours")
        await service.notifier.send(found(3))  # ... and superseded by a newer one about the same watch
        assert await service.notifier.flush() == 0  # the older one is never sent after the newer
        with service.sessions() as session:
            assert session.get(Chat, ANNA).quiet_hours == ""


async def test_flood_control_and_a_blocked_chat_never_stop_the_sender(server, tmp_path, standin) -> None:
    settings = settings_for(server, tmp_path, standin)
    async with bot_alone(settings) as (service, bot):
        await onboard(standin)
        with service.sessions() as session:
            key = session.scalars(select(Person)).one().key
        standin.fail_next("sendMessage", status=429, retry_after=1)
        slot = int(time.time()) + 86400
        await service.notifier.send(Notice(key, NoticeKind.BOOKED, Reserved(1, 7, slot, "Orleansplatz", None)))
        delivered = await standin.await_for(to(ANNA, "Reserved"))
        [refused] = [c for c in standin.calls if c.status == 429]
        assert "Reserved" in text_of(refused)
        assert delivered.at - refused.at >= 1.0  # the same message again, after the retry_after Telegram named
        assert bot.outbox.flood_waits == 1
        standin.block(ANNA)
        await service.notifier.send(Notice(key, NoticeKind.BOOKED, Reserved(2, 8, slot, "Orleansplatz", None)))
        await _until(lambda: bot.chats.chat_of(key) is None)
        sends = len(standin.sent(ANNA))
        await service.notifier.send(Notice(key, NoticeKind.BOOKED, Reserved(3, 9, slot, "Orleansplatz", None)))
        assert len(standin.sent(ANNA)) == sends  # no more sends to a chat that blocked the bot (console instead)
        standin.unblock(ANNA)
        await say_and_wait(standin, ANNA, "/help", "/watch")  # writing again lifts the block
        assert bot.chats.chat_of(key) is not None


async def test_a_refused_token_is_a_clear_error_at_start(server, tmp_path, standin) -> None:
    settings = settings_for(server, tmp_path, standin, telegram_token="123456:wrong-token-for-the-stand-in-00000")
    with pytest.raises(TelegramRefused, match="MTA_TELEGRAM_TOKEN"):
        async with bot_alone(settings):
            pass


async def test_digest_tells_checks_and_slots_seen(server, replica, tmp_path, standin) -> None:
    replica.clock.unfreeze()
    settings = watcher_settings(server, tmp_path, **bot_overrides(standin))
    async with running_agent(settings) as (service, _):
        await onboard(standin)
        with service.sessions() as session:
            key = session.scalars(select(Person)).one().key
        today = replica.clock.now_berlin().date()
        add_watch(service.sessions, ANNA_CONTACT, 1063453, [102522], today, today + timedelta(days=20), mode="notify",
                  key=key)
        await service.changed()
        await wait_for(lambda: any(s.poller.polls >= 2 for s in service.watcher.queries.values()), 60)
        status = await say_and_wait(standin, ANNA, "/status", "Status")
        assert "last successful check" in text_of(status) and "Budget:" in text_of(status)
        assert await service.bot.send_digests() == 1
        digest = await standin.await_for(to(ANNA, "Daily summary"))
    assert "checks" in text_of(digest) and "last successful" in text_of(digest)


async def _until(condition, timeout: float = 10.0) -> None:
    import asyncio

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)



async def test_the_admin_gets_traces_and_operational_alerts(server, tmp_path, standin) -> None:
    settings = settings_for(server, tmp_path, standin, alert_circuit_s=60.0)
    async with bot_alone(settings) as (service, bot):
        with service.sessions.begin() as session:
            session.add(Attempt(site="x", person="p-someone", service_id=1063453, request={}, phase="closed",
                                outcome="site_changed"))
        trace = settings.recordings_dir / "attempt-1.zip"
        trace.parent.mkdir(parents=True, exist_ok=True)
        trace.write_bytes(b"PK\x03\x04 a trace")
        await say_and_wait(standin, ANNA, "/trace 1", "Admin only")
        sent = await say_and_wait(standin, ADMIN, "/trace 1", "Trace of attempt 1")
        assert sent.method == "sendDocument" and list(sent.files.values()) == [b"PK\x03\x04 a trace"]
        await say_and_wait(standin, ADMIN, "/trace 2", "kept no trace")

        service.budget.observe(429, {"x-ratelimit-reset": "600"}, ["rateLimitExceeded"])
        now = time.time()
        assert await bot.check_alerts(now) == []  # just opened: not yet worth an alert
        [alert] = await bot.check_alerts(now + 61)
        assert "circuit has been open" in alert
        assert await bot.check_alerts(now + 120) == []  # once per opening
        await standin.await_for(to(ADMIN, "circuit has been open"))
        await service.notifier.alert("site changed (attempt 1, mta trace 1): the contact form moved")
        await standin.await_for(to(ADMIN, "site changed"))
    assert not [c for c in standin.sent(ANNA) if "circuit" in text_of(c)]


async def test_doctor_checks_the_token_on_the_configured_bot_api(server, tmp_path, standin) -> None:
    from agent.doctor import telegram

    good = await telegram(settings_for(server, tmp_path, standin))
    assert good.ok and "@mta_test_bot" in good.detail and "admin chat set" in good.detail
    bad = await telegram(settings_for(server, tmp_path, standin, telegram_token="123456:" + "y" * 35))
    assert not bad.ok and "MTA_TELEGRAM_TOKEN" in bad.detail and "y" * 35 not in bad.detail


async def test_a_chat_cannot_take_over_another_persons_record_by_their_e_mail(server, tmp_path, standin) -> None:
    settings = settings_for(server, tmp_path, standin, telegram_allowed_chat_ids=[ANNA, 1002])
    async with bot_alone(settings) as (service, _):
        await onboard(standin, ANNA)
        consent = await say_and_wait(standin, 1002, "/start", "agree")
        await press_and_wait(standin, 1002, "consent:yes", message_id_of(consent), "first name")
        await say_and_wait(standin, 1002, "Mallory", "last name")
        await say_and_wait(standin, 1002, "Evil", "e-mail")
        phone = await say_and_wait(standin, 1002, "anna@example.org", "phone")
        await press_and_wait(standin, 1002, "phone:skip", message_id_of(phone), "already belongs to someone")
        with service.sessions() as session:
            [person] = session.scalars(select(Person)).all()
            assert (person.first_name, person.chat_id) == ("Anna", ANNA)
            assert session.get(Chat, 1002) is None or session.get(Chat, 1002).person_key is None
        await say_and_wait(standin, 1002, "/watches", "/start first")
