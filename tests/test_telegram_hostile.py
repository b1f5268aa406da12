"""A burst of random and malformed updates crashes nothing: every one is refused, answered with help or
ignored, no handler fails, and the bot still answers afterwards (hypothesis)."""

from __future__ import annotations

import asyncio
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.config import Settings
from tests.bot_helpers import ADMIN, ANNA, STRANGER, bot_alone, bot_overrides, to
from tests.botapi_standin import BotApiStandIn

CHATS = st.sampled_from([ANNA, ANNA, ANNA, ADMIN, ADMIN, STRANGER, -100123, 0, 2**40])
WORDS = st.sampled_from(["/start", "/watch", "/watches", "/status", "/history", "/patterns", "/trace", "/trace 1",
                         "/allow", "/allow 5", "/deny abc", "/forget", "/me", "/language", "/cancel", "/help", "/x",
                         "#/appointment/confirm/", "http://127.0.0.1/#/appointment/confirm/eyJpZCI6MX0=",
                         "wl:delete:1", "act:99"])
TEXT = st.one_of(WORDS, st.text(max_size=80), st.lists(WORDS | st.text(max_size=10), max_size=4).map(" ".join))
DATA = st.one_of(st.sampled_from(["consent:yes", "consent:no", "svc:1063453", "cnt:9", "off:any", "off:done",
                                  "off:999999", "dt:999", "wd:7", "wd:done", "tm:25:00-26:00", "md:auto",
                                  "ws:save", "wl:pause:1", "wl:delete:abc", "act:0", "act:123", "forget:yes",
                                  "lang:xx", "phone:skip"]), st.text(min_size=1, max_size=64))


def _user(chat: int) -> dict:
    return {"id": chat, "is_bot": False, "first_name": "X", "language_code": "en"}


def _text(text: str) -> dict:
    """A text as Telegram delivers it: a leading /command carries its bot_command entity."""
    if text.startswith("/") and len(text) > 1 and not text[1].isspace():
        command = text.split()[0]
        return {"text": text, "entities": [{"type": "bot_command", "offset": 0,
                                            "length": len(command.encode("utf-16-le")) // 2}]}
    return {"text": text}


@st.composite
def updates(draw) -> dict:
    chat = draw(CHATS)
    kind = draw(st.sampled_from(["text", "text", "text", "callback", "callback", "edited", "sticker", "group",
                                 "empty"]))
    message = {"message_id": draw(st.integers(1, 10**6)), "date": 1_700_000_000,
               "chat": {"id": chat, "type": "private"}, "from": _user(chat)}
    if kind == "text":
        return {"message": {**message, **_text(draw(TEXT))}}
    if kind == "callback":
        return {"callback_query": {"id": str(draw(st.integers(1, 10**9))), "from": _user(chat), "chat_instance": "1",
                                   "data": draw(DATA), "message": {**message, "text": "old"}}}
    if kind == "edited":
        return {"edited_message": {**message, "text": draw(TEXT), "edit_date": 1_700_000_001}}
    if kind == "sticker":
        return {"message": {**message, "sticker": {"file_id": "s", "file_unique_id": "u", "width": 1, "height": 1,
                                                   "is_animated": False, "is_video": False, "type": "regular"}}}
    if kind == "group":
        return {"message": {**message, "chat": {"id": -abs(chat) - 1, "type": "group", "title": "g"},
                            **_text(draw(TEXT))}}
    return {"message": message}  # no text, nothing


class BotInThread:
    """The bot running in an event loop of its own (hypothesis' examples are synchronous)."""

    def __init__(self, agent_settings: Settings) -> None:
        self.settings = agent_settings
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self.loop.run_forever, name="bot-under-test", daemon=True)

    def __enter__(self):
        self.thread.start()
        self.context = bot_alone(self.settings)
        self.service, self.bot = asyncio.run_coroutine_threadsafe(self.context.__aenter__(), self.loop).result(30)
        return self

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self.context.__aexit__(None, None, None), self.loop).result(60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def running_bot(server, tmp_path):
    from tests.agent_helpers import agent_settings

    with BotApiStandIn() as standin:
        with BotInThread(agent_settings(server, tmp_path, **bot_overrides(standin))) as running:
            running.standin = standin
            yield running


def test_random_and_malformed_updates_crash_nothing(running_bot) -> None:
    standin, bot = running_bot.standin, running_bot.bot

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(updates(), min_size=1, max_size=12))
    def burst(batch: list[dict]) -> None:
        for update in batch:
            standin.push_raw(update)
        seen = len(standin.calls)
        standin.send_text(ANNA, "/help", language_code="en")  # answered after the burst: the bot still serves
        standin.wait_for(to(ANNA, "Commands"), 20, since=seen)

    burst()
    assert bot.handler_errors == 0
    assert standin.sent(STRANGER) == [] or all("private" in (c.params.get("text") or "") for c in standin.sent(STRANGER))
