"""The Bot API stand-in, driven by python-telegram-bot's own client over real HTTP.

Every test talks to the stand-in the way the bot will: through ``telegram.Bot`` or a polling
``telegram.ext.Application`` pointed at ``base_url``. Expected refusals are Telegram's words (sources in
``tests/botapi_standin.py`` and ``docs/telegram.md``); python-telegram-bot rewords a ``BadRequest``
(drops "Bad Request: ", capitalizes), so exact texts are checked on the recorded call.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import socket
import struct
import threading
import time
import zlib

import httpx
import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, EndPointNotFound, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from tests.botapi_rules import RuleError, check_link, parse_html, parse_markdown_v2
from tests.botapi_standin import BotApiStandIn

CHAT = 4242


@pytest.fixture
async def bot(standin: BotApiStandIn):
    async with telegram.Bot(standin.token, base_url=standin.base_url, base_file_url=standin.base_file_url) as b:
        yield b


@contextlib.asynccontextmanager
async def polling_app(api: BotApiStandIn, *handlers):
    """A real Application polling the stand-in; handler errors fail the test instead of vanishing in the log."""
    app = Application.builder().token(api.token).base_url(api.base_url).base_file_url(api.base_file_url).build()
    errors: list[BaseException] = []

    async def on_error(update, context):
        errors.append(context.error)

    for handler in handlers:
        app.add_handler(handler)
    app.add_error_handler(on_error)
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()
    assert not errors, f"handlers raised: {errors!r}"


def last_call(api: BotApiStandIn, method: str):
    return [c for c in api.calls if c.method == method][-1]


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x20\x60\xa0" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


# --- the server ------------------------------------------------------------------------------------------------------

def test_stop_closes_the_port_and_joins_the_thread():
    api = BotApiStandIn().start()
    port = api.port
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    api.stop()
    assert not [t for t in threading.enumerate() if t.name == "botapi-standin"]
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


async def test_wrong_token_is_unauthorized(standin: BotApiStandIn):
    stranger = telegram.Bot("123456:another-token-of-the-right-form-0000",
                            base_url=standin.base_url, base_file_url=standin.base_file_url)
    with pytest.raises(InvalidToken):
        await stranger.initialize()
    assert (last_call(standin, "getMe").status, last_call(standin, "getMe").description) == (401, "Unauthorized")
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"{standin.base_url}0123:abc/getMe")
    assert answer.status_code == 401
    assert answer.json() == {"ok": False, "error_code": 401, "description": "Unauthorized: invalid token specified"}


async def test_unknown_method_is_404_and_an_unserved_one_501(standin: BotApiStandIn, bot: telegram.Bot):
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")
    assert last_call(standin, "noSuchMethod").response == {"ok": False, "error_code": 404, "description": "Not Found"}
    with pytest.raises(NetworkError, match="Not Implemented"):
        await bot.send_dice(CHAT)  # a real Bot API method the stand-in does not serve: never a false 404 or ok
    assert last_call(standin, "sendDice").status == 501


async def test_parameters_arrive_by_every_transport_and_are_checked(standin: BotApiStandIn):
    standin.register_chat(CHAT)
    url = f"{standin.base_url}{standin.token}"
    async with httpx.AsyncClient() as http:
        as_json = await http.post(f"{url}/sendMessage", json={"chat_id": CHAT, "text": "json", "unknown": [1]})
        as_form = await http.post(f"{url}/SENDMESSAGE", data={"chat_id": str(CHAT), "text": "form"})
        as_query = await http.get(f"{url}/sendMessage", params={"chat_id": CHAT, "text": "query"})
        no_chat = await http.post(f"{url}/sendMessage", json={"text": "nobody"})
        unknown_chat = await http.post(f"{url}/sendMessage", json={"chat_id": 777, "text": "stranger"})
        bad_markup = await http.post(f"{url}/sendMessage", json={
            "chat_id": CHAT, "text": "x", "reply_markup": {"inline_keyboard": [[{"text": 1, "callback_data": []}]]}})
        not_json = await http.post(f"{url}/sendMessage", data={"chat_id": CHAT, "text": "x", "reply_markup": "{"})
    assert [r.json()["result"]["text"] for r in (as_json, as_form, as_query)] == ["json", "form", "query"]
    assert no_chat.json()["description"] == "Bad Request: chat_id is empty"
    assert unknown_chat.json()["description"] == "Bad Request: chat not found"
    assert bad_markup.json()["description"] == (
        'Bad Request: can\'t parse inline keyboard button: Field "callback_data" must be of type String')
    assert not_json.json()["description"] == "Bad Request: can't parse reply keyboard markup JSON object"
    assert standin.messages_text(CHAT) == ["json", "form", "query"]


# --- getUpdates and feeding -------------------------------------------------------------------------------------

async def test_long_poll_returns_when_an_update_arrives_and_honours_the_timeout(standin: BotApiStandIn,
                                                                                 bot: telegram.Bot):
    feeder = threading.Timer(0.4, standin.send_text, args=(CHAT, "hallo"))
    feeder.start()
    started = time.monotonic()
    updates = await bot.get_updates(timeout=5)
    took = time.monotonic() - started
    feeder.join()
    assert [u.message.text for u in updates] == ["hallo"]
    assert 0.3 < took < 2.0, f"the long poll answered after {took:.2f} s"

    started = time.monotonic()
    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=1) == ()
    assert 0.9 < time.monotonic() - started < 2.5


async def test_offsets_confirm_older_updates_and_ids_are_consecutive(standin: BotApiStandIn, bot: telegram.Bot):
    ids = [standin.send_text(CHAT, f"m{i}") for i in range(4)]
    assert ids == list(range(ids[0], ids[0] + 4))
    assert [u.update_id for u in await bot.get_updates()] == ids
    assert [u.message.text for u in await bot.get_updates(offset=ids[2])] == ["m2", "m3"]
    assert [u.update_id for u in await bot.get_updates(offset=1)] == ids[2:]  # m0 and m1 are gone for good
    assert [u.message.text for u in await bot.get_updates(offset=-1)] == ["m3"]  # keeps only the last one
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count) == ("", 1)


async def test_commands_get_their_entities_and_messages_share_one_id_counter(standin: BotApiStandIn,
                                                                              bot: telegram.Bot):
    standin.send_text(CHAT, "/start@mta_test_bot abc", first_name="Erika", username="erika")
    standin.send_text(CHAT + 1, "ohne Befehl")
    first, second = await bot.get_updates()
    assert first.message.entities == (telegram.MessageEntity("bot_command", 0, 19),)
    assert first.message.parse_entity(first.message.entities[0]) == "/start@mta_test_bot"
    assert (first.effective_user.first_name, first.effective_user.username, first.effective_user.language_code) == (
        "Erika", "erika", "de")
    assert second.message.entities == ()
    assert second.message.message_id == first.message.message_id + 1  # one message box for all private chats


async def test_allowed_updates_filter_updates_when_they_are_created(standin: BotApiStandIn, bot: telegram.Bot):
    assert await bot.get_updates(allowed_updates=["callback_query"]) == ()
    assert standin.send_text(CHAT, "dropped") is None
    await bot.get_updates(offset=1, allowed_updates=[])  # an empty list means the default again
    assert standin.send_text(CHAT, "kept") is not None
    assert [u.message.text for u in await bot.get_updates(offset=2)] == ["kept"]


async def test_a_second_bot_instance_ends_the_first_poll_with_a_conflict(standin: BotApiStandIn, bot: telegram.Bot):
    first = asyncio.create_task(bot.get_updates(timeout=5))
    while not standin.poll_waiting:  # the first poll is waiting now
        await asyncio.sleep(0.01)
    async with telegram.Bot(standin.token, base_url=standin.base_url) as other_instance:
        started = time.monotonic()
        second = asyncio.create_task(other_instance.get_updates(offset=5, timeout=1))
        with pytest.raises(telegram.error.Conflict, match="terminated by other getUpdates request"):
            await first
        assert time.monotonic() - started < 4.0  # ended by the second poll, not by its own 5 s
        assert await second == ()


async def test_application_long_polling_delivers_fed_updates(standin: BotApiStandIn):
    async def start(update: telegram.Update, context):
        await update.message.reply_text(f"Hallo {update.effective_user.first_name}!")

    async with polling_app(standin, CommandHandler("start", start)):
        n = len(standin.calls)
        standin.send_text(CHAT, "/start", first_name="Erika")
        call = await standin.await_for(lambda c: c.method == "sendMessage", since=n)
    assert call.ok and call.chat_id == CHAT
    assert call.message.text == "Hallo Erika!"
    assert standin.messages_text(CHAT) == ["Hallo Erika!"]
    assert [c.method for c in standin.calls[:2]] == ["getMe", "deleteWebhook"]


async def test_keyboard_press_reaches_the_callback_handler_and_is_answered(standin: BotApiStandIn):
    async def offer(update: telegram.Update, context):
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Buchen", callback_data="book:102522"),
                                          InlineKeyboardButton("Termin ansehen", url="http://127.0.0.1:8765/t")]])
        await update.message.reply_text("Freier Termin: <b>Mo 08:30</b>", parse_mode="HTML", reply_markup=keyboard)

    async def booked(update: telegram.Update, context):
        await update.callback_query.answer("Wird gebucht …")
        await update.callback_query.edit_message_text(f"Gebucht ({update.callback_query.data})")

    async with polling_app(standin, CommandHandler("termine", offer), CallbackQueryHandler(booked)):
        standin.send_text(CHAT, "/termine")
        offered = await standin.await_for(lambda c: c.method == "sendMessage")
        markup = offered.parsed["reply_markup"]
        assert isinstance(markup, InlineKeyboardMarkup)
        assert markup.inline_keyboard[0][0].callback_data == "book:102522"
        assert offered.message.reply_markup.inline_keyboard[0][1].url == "http://127.0.0.1:8765/t"
        with pytest.raises(ValueError, match="no button with callback_data 'cancel'"):
            standin.press(CHAT, "cancel", offered.message.message_id)
        standin.press(CHAT, "book:102522", offered.message.message_id)
        answer = await standin.await_for(lambda c: c.method == "answerCallbackQuery")
        edit = await standin.await_for(lambda c: c.method == "editMessageText")
    assert answer.ok and answer.parsed["text"] == "Wird gebucht …"
    assert edit.ok and edit.message.text == "Gebucht (book:102522)"
    assert standin.message(CHAT, offered.message.message_id).reply_markup is None  # an edit without markup drops it
    assert standin.unanswered_callbacks == []


async def test_answer_callback_query_refuses_unknown_and_repeated_ids(standin: BotApiStandIn, bot: telegram.Bot):
    standin.register_chat(CHAT)
    sent = await bot.send_message(CHAT, "?", reply_markup=InlineKeyboardMarkup.from_button(
        InlineKeyboardButton("ja", callback_data="yes")))
    standin.press(CHAT, "yes", sent.message_id)
    (update,) = await bot.get_updates()
    assert [q.data for q in standin.unanswered_callbacks] == ["yes"]
    with pytest.raises(BadRequest):
        await bot.answer_callback_query(update.callback_query.id, text="x" * 201)
    assert last_call(standin, "answerCallbackQuery").description == "Bad Request: MESSAGE_TOO_LONG"
    assert await bot.answer_callback_query(update.callback_query.id) is True
    for query_id in (update.callback_query.id, "12345"):
        with pytest.raises(BadRequest):
            await bot.answer_callback_query(query_id)
        assert last_call(standin, "answerCallbackQuery").description == (
            "Bad Request: query is too old and response timeout expired or query ID is invalid")


# --- texts ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, description", [
    ("<b>fett", "can't parse entities: Can't find end tag corresponding to start tag b"),
    ("Termin <br> morgen", 'can\'t parse entities: Unsupported start tag "br" at byte offset 7'),
    ("1 < 2", 'can\'t parse entities: Unsupported start tag "" at byte offset 2'),
    ("<b>a</i>", 'can\'t parse entities: Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
    ('<a href="x>y</a>', "can't parse entities: Unclosed start tag at byte offset 0"),
    ('<span class="x">s</span>', 'can\'t parse entities: Tag "span" must have class "tg-spoiler" at byte offset 0'),
])
async def test_malformed_html_is_refused_in_telegrams_words(standin: BotApiStandIn, bot: telegram.Bot,
                                                           text: str, description: str):
    standin.register_chat(CHAT)
    with pytest.raises(BadRequest):
        await bot.send_message(CHAT, text, parse_mode="HTML")
    assert last_call(standin, "sendMessage").description == f"Bad Request: {description}"
    assert standin.messages_text(CHAT) == []


async def test_formatted_texts_become_entities(standin: BotApiStandIn, bot: telegram.Bot):
    standin.register_chat(CHAT)
    html = await bot.send_message(CHAT, '<b>Mo</b> &amp; <a href="example.org">Di</a> &lt;3 <code>x</code>',
                                  parse_mode="HTML")
    assert html.text == "Mo & Di <3 x"
    assert [(e.type, e.offset, e.length, e.url) for e in html.entities] == [
        ("bold", 0, 2, None), ("text_link", 5, 2, "http://example.org/"), ("code", 11, 1, None)]
    v2 = await bot.send_message(CHAT, r"*08:30* \- frei\!", parse_mode="MarkdownV2")
    assert (v2.text, v2.entities[0].type) == ("08:30 - frei!", "bold")
    with pytest.raises(BadRequest):
        await bot.send_message(CHAT, "08:30 - frei!", parse_mode="MarkdownV2")
    assert last_call(standin, "sendMessage").description == (
        "Bad Request: can't parse entities: Character '-' is reserved and must be escaped with the preceding '\\'")
    with pytest.raises(BadRequest):
        await bot.send_message(CHAT, "x", parse_mode="Markdownv3")
    assert last_call(standin, "sendMessage").description == "Bad Request: unsupported parse_mode"


async def test_text_limits(standin: BotApiStandIn, bot: telegram.Bot):
    standin.register_chat(CHAT)
    assert len((await bot.send_message(CHAT, "ä" * 4096)).text) == 4096
    assert (await bot.send_message(CHAT, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")).text == "x" * 4096
    assert (await bot.send_message(CHAT, "\n  trimmed  \n")).text == "trimmed"
    for text, description in [("ä" * 4097, "message is too long"), ("😀" * 2049, "message is too long"),
                              (" \n ", "message must be non-empty"), ("<b> </b>", "message must be non-empty")]:
        with pytest.raises(BadRequest):
            await bot.send_message(CHAT, text, parse_mode="HTML")
        assert last_call(standin, "sendMessage").description == f"Bad Request: {description}"
    with pytest.raises(BadRequest):
        await bot.send_document(CHAT, b"x", filename="a.txt", caption="c" * 1025)
    assert last_call(standin, "sendDocument").description == "Bad Request: message caption is too long"


# --- keyboards -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("button, description", [
    (InlineKeyboardButton("Öffnen", url="http://localhost:8765/t"),
     "Bad Request: inline keyboard button URL 'http://localhost:8765/t' is invalid: Wrong HTTP URL"),
    (InlineKeyboardButton("Öffnen", url="ftp://example.org"),
     "Bad Request: inline keyboard button URL 'ftp://example.org' is invalid: Unsupported URL protocol"),
    (InlineKeyboardButton("Buchen", callback_data="b" * 65), "Bad Request: BUTTON_DATA_INVALID"),
    (InlineKeyboardButton("Nur Text"),
     "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"),
])
async def test_bad_buttons_are_refused(standin: BotApiStandIn, bot: telegram.Bot, button, description: str):
    standin.register_chat(CHAT)
    with pytest.raises(BadRequest):
        await bot.send_message(CHAT, "Termin", reply_markup=InlineKeyboardMarkup([[button]]))
    assert last_call(standin, "sendMessage").description == description


async def test_buttons_come_back_as_telegram_keeps_them(standin: BotApiStandIn, bot: telegram.Bot):
    standin.register_chat(CHAT)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("", callback_data="gone"),
                                    InlineKeyboardButton("Web", url="Example.org"),
                                    InlineKeyboardButton("ok", callback_data="b" * 64)]])
    sent = await bot.send_message(CHAT, "x", reply_markup=markup)
    (row,) = sent.reply_markup.inline_keyboard
    assert [(b.text, b.url, b.callback_data) for b in row] == [("Web", "http://example.org/", None),
                                                               ("ok", None, "b" * 64)]
    plain = await bot.send_message(CHAT, "y", reply_markup=telegram.ReplyKeyboardMarkup([["Ja", "Nein"]]))
    assert plain.reply_markup is None  # reply keyboards are not echoed in the message
    assert isinstance(last_call(standin, "sendMessage").parsed["reply_markup"], telegram.ReplyKeyboardMarkup)


# --- edits and deletes -------------------------------------------------------------------------------------------

async def test_edits_follow_telegrams_rules(standin: BotApiStandIn, bot: telegram.Bot):
    standin.send_text(CHAT, "hallo")
    keyboard = InlineKeyboardMarkup.from_button(InlineKeyboardButton("ja", callback_data="y"))
    sent = await bot.send_message(CHAT, "Termin frei", reply_markup=keyboard)
    cases = [
        (dict(text="x", chat_id=CHAT, message_id=9999), "Bad Request: message to edit not found"),
        (dict(text="Termin frei", chat_id=CHAT, message_id=sent.message_id, reply_markup=keyboard),
         "Bad Request: message is not modified: specified new message content and reply markup are exactly the same "
         "as a current content and reply markup of the message"),
        (dict(text="x", chat_id=CHAT, message_id=sent.message_id - 1), "Bad Request: message can't be edited"),
        (dict(text="x", chat_id=CHAT + 1, message_id=sent.message_id), "Bad Request: chat not found"),
    ]
    for kwargs, description in cases:
        with pytest.raises(BadRequest):
            await bot.edit_message_text(**kwargs)
        assert last_call(standin, "editMessageText").description == description
    edited = await bot.edit_message_text("Termin vergeben", CHAT, sent.message_id, reply_markup=keyboard)
    assert (edited.text, edited.reply_markup, edited.edit_date is not None) == ("Termin vergeben", keyboard, True)
    assert (await bot.edit_message_reply_markup(CHAT, sent.message_id)).reply_markup is None
    with pytest.raises(BadRequest):
        await bot.edit_message_reply_markup(CHAT, sent.message_id)
    assert "message is not modified" in last_call(standin, "editMessageReplyMarkup").description
    assert await bot.delete_message(CHAT, sent.message_id) is True
    with pytest.raises(BadRequest):
        await bot.delete_message(CHAT, sent.message_id)
    assert last_call(standin, "deleteMessage").description == "Bad Request: message to delete not found"
    assert standin.message(CHAT, sent.message_id) is None


# --- faults -------------------------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # RetryAfter's int -> timedelta
async def test_429_carries_retry_after_once(standin: BotApiStandIn, bot: telegram.Bot):
    standin.register_chat(CHAT)
    standin.fail_next("sendMessage", retry_after=7)
    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(CHAT, "Termin!")
    retry_after = raised.value.retry_after
    assert (retry_after.total_seconds() if isinstance(retry_after, dtm.timedelta) else retry_after) == 7
    assert last_call(standin, "sendMessage").response == {
        "ok": False, "error_code": 429, "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7}}
    assert (await bot.send_message(CHAT, "Termin!")).text == "Termin!"
    standin.fail_next("sendMessage", status=502)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(CHAT, "Termin!")
    assert last_call(standin, "sendMessage").response is None  # nginx's HTML page, as from api.telegram.org


async def test_403_when_the_user_blocked_the_bot(standin: BotApiStandIn, bot: telegram.Bot):
    standin.send_text(CHAT, "/start")
    await bot.get_updates()
    standin.block(CHAT)
    for send in (bot.send_message(CHAT, "Termin!"), bot.send_chat_action(CHAT, "typing")):
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await send
    (update,) = await bot.get_updates(offset=-1)
    change = update.my_chat_member
    assert (change.old_chat_member.status, change.new_chat_member.status) == ("member", "kicked")
    standin.unblock(CHAT)
    assert (await bot.send_message(CHAT, "wieder da")).text == "wieder da"


# --- files ---------------------------------------------------------------------------------------------------------

async def test_send_document_records_the_uploaded_bytes(standin: BotApiStandIn, bot: telegram.Bot):
    standin.register_chat(CHAT)
    content = b"%PDF-1.4\n" + bytes(range(256)) * 4
    sent = await bot.send_document(CHAT, content, filename="Terminbestaetigung.pdf", caption="<i>Ihr Termin</i>",
                                   parse_mode="HTML")
    call = last_call(standin, "sendDocument")
    assert call.files == {"document": content} and call.filenames == {"document": "Terminbestaetigung.pdf"}
    assert (sent.document.file_name, sent.document.mime_type, sent.document.file_size) == (
        "Terminbestaetigung.pdf", "application/pdf", len(content))
    assert sent.caption == "Ihr Termin" and sent.caption_entities[0].type == "italic"
    again = await bot.send_document(CHAT, sent.document.file_id)  # a file_id the stand-in issued
    assert again.document.file_unique_id == sent.document.file_unique_id
    file = await bot.get_file(sent.document.file_id)
    assert bytes(await file.download_as_bytearray()) == content
    for document, description in [("no-such-file-id", "Bad Request: wrong file identifier/HTTP URL specified"),
                                  (b"", "Bad Request: file must be non-empty")]:
        with pytest.raises(BadRequest):
            await bot.send_document(CHAT, document, filename="x.txt")
        assert last_call(standin, "sendDocument").description == description


async def test_send_photo_takes_pictures_only(standin: BotApiStandIn, bot: telegram.Bot):
    standin.register_chat(CHAT)
    with pytest.raises(BadRequest):
        await bot.send_photo(CHAT, b"%PDF-1.4 this is no picture", filename="photo.jpg")
    assert last_call(standin, "sendPhoto").description == "Bad Request: IMAGE_PROCESS_FAILED"
    with pytest.raises(BadRequest):
        await bot.send_photo(CHAT, png(420, 20))
    assert last_call(standin, "sendPhoto").description == "Bad Request: PHOTO_INVALID_DIMENSIONS"
    photo = await bot.send_photo(CHAT, png(400, 300), caption="Lageplan")
    assert (photo.photo[-1].width, photo.photo[-1].height) == (400, 300)
    assert photo.photo[0].width == 90 and photo.caption == "Lageplan"
    with pytest.raises(BadRequest):
        await bot.send_document(CHAT, photo.photo[-1].file_id)
    assert last_call(standin, "sendDocument").description == "Bad Request: type of file mismatch"


async def test_users_send_files_the_bot_can_download(standin: BotApiStandIn, bot: telegram.Bot):
    standin.send_document(CHAT, "einladung.txt", b"Hallo", mime="text/plain")
    (update,) = await bot.get_updates()
    document = update.message.document
    assert (document.file_name, document.mime_type, document.file_size) == ("einladung.txt", "text/plain", 5)
    assert bytes(await (await document.get_file()).download_as_bytearray()) == b"Hallo"


async def test_raw_updates_are_delivered_as_given(standin: BotApiStandIn):
    first_id = standin.push_raw({"surprise": {"x": [1, 2]}})
    hostile = {"update_id": first_id + 5, "message": {"message_id": "not-a-number", "chat": {"id": CHAT}}}
    assert standin.push_raw(hostile) == first_id + 5
    standin.push_raw({"update_id": "x", "message": None})
    with pytest.raises(ValueError, match="update ids only grow"):
        standin.push_raw({"update_id": first_id, "message": {}})
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{standin.base_url}{standin.token}/getUpdates", data={"offset": "0"})
    assert answer.json()["result"] == [{"update_id": first_id, "surprise": {"x": [1, 2]}}, hostile,
                                       {"update_id": "x", "message": None}]


# --- commands and the rest -------------------------------------------------------------------------------------

async def test_commands_are_kept_per_scope_and_checked(standin: BotApiStandIn, bot: telegram.Bot):
    assert await bot.set_my_commands([("start", "Starten"), ("termine", "Freie Termine")]) is True
    assert [c.command for c in await bot.get_my_commands()] == ["start", "termine"]
    assert await bot.get_my_commands(language_code="en") == ()
    with pytest.raises(BadRequest):
        await bot.set_my_commands([("Start", "Starten")])
    assert last_call(standin, "setMyCommands").description == "Bad Request: BOT_COMMAND_INVALID"
    assert await bot.delete_my_commands() is True
    assert await bot.get_my_commands() == ()
    with pytest.raises(BadRequest):
        await bot.send_chat_action(CHAT, "typing")  # no user opened this chat
    assert last_call(standin, "sendChatAction").description == "Bad Request: chat not found"


async def test_wait_for_reports_the_recent_calls(standin: BotApiStandIn, bot: telegram.Bot):
    standin.register_chat(CHAT)
    await bot.send_message(CHAT, "nur das")
    with pytest.raises(AssertionError, match=r"sendMessage\(chat_id=4242\) 'nur das' -> ok"):
        standin.wait_for(lambda c: c.method == "sendPhoto", timeout=0.2)


# --- the ported rules against TDLib's own test vectors (td/test/message_entities.cpp) -------------------------

@pytest.mark.parametrize("text, error", [
    ("🏟 🏟&lt;<abacaba", "Unclosed start tag at byte offset 13"),
    ("🏟 🏟&lt;<abac aba>", 'Unsupported start tag "abac" at byte offset 13'),
    ("🏟 🏟&lt;<i   =aba>", 'Empty attribute name in the tag "i" at byte offset 13'),
    ("🏟 🏟&lt;<i    aba>", 'Expected equal sign in declaration of an attribute of the tag "i" at byte offset 13'),
    ("🏟 🏟&lt;<i    aba  =  ", 'Unclosed start tag "i" at byte offset 13'),
    ("🏟 🏟&lt;<i    aba  =  190azAz-.,", "Unexpected end of name token at byte offset 27"),
    ("🏟 🏟&lt;</", "Unexpected end tag at byte offset 13"),
    ("🏟 🏟&lt;<i>a</i   ", "Unclosed end tag at byte offset 17"),
    ("&#57311;", "Text contains invalid Unicode characters after decoding HTML entities, check for unmatched "
                 "surrogate code units"),
])
def test_html_errors_match_tdlib(text: str, error: str):
    with pytest.raises(RuleError) as raised:
        parse_html(text)
    assert raised.value.message == error


def test_html_and_markdown_v2_results_match_tdlib():
    text, entities = parse_html("🏟 🏟<i>🏟 &gt;<b aba   =   caba>&lt🏟</b></i>")
    assert (text, [(e.type, e.offset, e.length) for e in entities]) == ("🏟 🏟🏟 ><🏟", [("italic", 5, 7),
                                                                                  ("bold", 9, 3)])
    text, entities = parse_html("&lt;&gt;&amp;&quot;&laquo;&raquo;&#12345678;")
    assert (text, entities) == ('<>&"&laquo;&raquo;&#12345678;', [])
    text, entities = parse_markdown_v2("🏟 🏟_🏟 __🏟___")
    assert (text, [(e.type, e.offset, e.length) for e in entities]) == ("🏟 🏟🏟 🏟", [("italic", 5, 5),
                                                                                ("underline", 8, 2)])
    with pytest.raises(RuleError, match="Can't find end of PreCode entity at byte offset 9"):
        parse_markdown_v2("🏟 🏟```a ")
    assert check_link("HTTPS://Grammy.dev/Docs?page=1") == "https://grammy.dev/Docs?page=1"
    with pytest.raises(RuleError, match="Wrong tg URL"):
        check_link("tg://resolve:80?domain=grammy_bot")
