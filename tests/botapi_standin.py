"""A local stand-in for the Telegram Bot API, for tests that run the real client code over real HTTP.

``BotApiStandIn`` is an HTTP server on 127.0.0.1 (Starlette under uvicorn, in a background thread) that
python-telegram-bot reaches through its ``base_url``. It records every call, feeds updates through
``getUpdates`` long polling, keeps the messages of each chat (so edits and button presses refer to real
messages) and refuses what Telegram refuses, in Telegram's words: it is never a blanket "ok".

    with BotApiStandIn() as api:
        bot = telegram.Bot(api.token, base_url=api.base_url, base_file_url=api.base_file_url)
        api.send_text(42, "/start")              # a user writes; getUpdates delivers it
        ...
        api.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == 42)

Where the rules come from. The Bot API server is open source (``tdlib/telegram-bot-api``,
``telegram-bot-api/Client.cpp``); it turns every call into TDLib requests (``tdlib/td``), and TDLib or
Telegram's servers refuse what is wrong. The stand-in follows that code, read through the search look-ups:

- Parameters: every parameter is a string, whatever the transport (query string, JSON body,
  ``application/x-www-form-urlencoded``, ``multipart/form-data``); in a JSON body a string stays itself,
  ``true``/``false`` and numbers become their JSON text and objects/arrays their JSON text. Integers are read
  leniently (``td::to_integer``: leading digits, else 0), booleans are ``true``/``yes``/``1``. Unknown
  parameters are ignored. JSON-valued parameters (``reply_markup``, ``entities``, ``reply_parameters``,
  ``link_preview_options``, ``commands``, ``scope``, ``allowed_updates``) are checked field by field with
  TDLib's messages (``Field "text" must be of type String``, ``Can't parse inline keyboard button: ...``).
- Method names are case-insensitive. A method Telegram does not have answers 404 ``Not Found`` (as
  api.telegram.org; the self-hosted server words it ``Not Found: method not found``). A method Telegram has
  but the stand-in does not implement answers **501** ``Not Implemented: <method> is not served by the
  stand-in``, so a test never mistakes a gap of the stand-in for a Telegram answer.
- Tokens: a malformed token (no ``:``, leading ``0``, ``/``, longer than 80) answers 401
  ``Unauthorized: invalid token specified`` (``ClientManager.cpp``); any other token but the stand-in's
  answers 401 ``Unauthorized``.
- Text: ``parse_mode`` HTML, MarkdownV2 and Markdown are ported from TDLib (``tests/botapi_rules.py``), with
  its error texts (``Bad Request: can't parse entities: Unsupported start tag "br" at byte offset 0``).
  A text is trimmed and must keep a visible character (``message must be non-empty``), be at most 4096
  UTF-16 code units after parsing (``message is too long``; captions 1024, ``message caption is too
  long``); an empty ``text`` is ``message text is empty``.
- Keyboards: ``reply_markup`` is read as ``Client.cpp`` reads it (an inline button needs a type:
  ``can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard``), then as
  TDLib's ``ReplyMarkup.cpp``: buttons with an empty text are dropped silently, at most 12 per row and 300
  in all are kept; ``callback_data`` above 64 bytes is ``BUTTON_DATA_INVALID``.
- Button and link URLs (``LinkManager::check_link``): ``http``/``https``/``tg`` only (``Unsupported URL
  protocol``), and the host must contain a dot: ``http://localhost:8080/x`` is refused with ``Bad Request:
  inline keyboard button URL 'http://localhost:8080/x' is invalid: Wrong HTTP URL``. **An IP address such
  as ``http://127.0.0.1:8765/...`` passes TDLib's check** (it has dots), so the stand-in accepts it, as the
  Bot API server would; whether Telegram's own servers then refuse a private address is not visible in
  any code we can read. Tests that put replica links on 127.0.0.1 into buttons therefore pass here; a bot
  meant for production should still not rely on private addresses in buttons. URLs come back normalized
  (``example.org`` -> ``http://example.org/``), as Telegram returns them. Links in ``<a href>`` that fail
  the check are dropped silently (``get_checked_link``); in an explicit ``text_link`` entity they are
  refused (``entity URL '...' is invalid: ...``).
- Messages: the message ids of private chats come from one counter for the whole bot (every account counts
  the messages of its private chats itself; see the explanation copied into Pyrogram's docs,
  https://telegramplayground.github.io/pyrogram/topics/message-identifiers.html), shared by what users
  send and what the bot sends, so a bot that keys messages by id without the chat is caught; editing a
  message the stand-in does not know is ``message to edit not found``, to identical content and keyboard
  ``message is not modified: ...``, a user's message ``message can't be edited``, a media message's text
  ``there is no text in the message to edit``. An edit without ``reply_markup`` removes the inline keyboard,
  as on Telegram. Sending to a chat no user opened is ``chat not found``; ``@username`` targets are
  ``chat not found`` too (users can't be addressed by username).
- Callback queries: ``answerCallbackQuery`` with an unknown id, or a second time, is ``query is too old and
  response timeout expired or query ID is invalid``; a text above 200 characters is ``MESSAGE_TOO_LONG``.
- Files: ``sendDocument``/``sendPhoto`` take a multipart upload (also ``attach://name``), a ``file_id`` the
  stand-in issued, or an http(s) URL (recorded, not fetched); anything else is ``wrong file identifier/HTTP
  URL specified``, no file at all ``there is no document in the request``, an empty upload ``file must be
  non-empty``, a ``file_id`` of another kind ``type of file mismatch``. A photo must be a picture (PNG,
  JPEG, GIF, WebP or BMP header; else ``IMAGE_PROCESS_FAILED``) with width + height <= 10000 and a side
  ratio <= 20 (``PHOTO_INVALID_DIMENSIONS``). ``getFile`` and downloads under ``base_file_url`` serve the
  stand-in's files.
- ``getUpdates``: ``offset`` confirms (drops) older updates, a negative offset keeps only the last
  ``-offset``, an offset more than 10 past the queue's end is ignored (``TQueue.cpp``); ``limit`` is
  clamped to 1..100 and ``timeout`` to 0..50 s; the call returns as soon as an update arrives; a second
  ``getUpdates`` while one waits ends the first with 409 ``Conflict: terminated by other getUpdates request;
  make sure that only one bot instance is running``. Two throttles of ``Client.cpp`` are kept: a repeated
  call with the same offset within 3 s waits at least 3 s, and within 0.5 s gets at most one update
  (``poll_throttle=False`` turns both off). ``allowed_updates`` is kept across calls and, as on Telegram,
  filters updates when they are created: a fed update of a type the bot did not ask for is dropped
  (the feeding method then returns ``None``).
- Faults: ``fail_next`` answers the next calls of a method with an error (429 with ``retry_after`` in
  ``parameters`` and a ``Retry-After`` header, 5xx; 502/504 come as nginx's HTML page, as from
  api.telegram.org); ``block(chat_id)`` makes sends, edits and chat actions there answer 403 ``Forbidden: bot
  was blocked by the user`` and feeds the ``my_chat_member`` update Telegram sends (status ``kicked``).

Not mirrored: webhooks (``setWebhook`` is 501), groups and channels (every chat is a private chat),
Telegram's own flood limits (use ``fail_next``), the entities Telegram detects by itself in the bot's own
texts (URLs, mentions, hashtags), the expiry of callback queries, media albums and inline mode.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import mimetypes
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

import telegram
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.botapi_rules import (
    PARSE_MODES,
    Entity,
    RuleError,
    check_link,
    fix_text,
    get_link_user_id,
    image_size,
    utf16_length,
)

DEFAULT_TOKEN = "123456:TEST-token-for-the-stand-in-000000000"

# Every method of the Bot API server (Client.cpp ``init_methods``, lowercased as the server compares them),
# so that a method the stand-in does not serve answers 501 instead of a false 404.
TELEGRAM_METHODS = frozenset("""
getme getmycommands setmycommands deletemycommands getmydefaultadministratorrights
setmydefaultadministratorrights getmyname setmyname getmydescription setmydescription getmyshortdescription
setmyshortdescription getchatmenubutton setchatmenubutton getuserprofilephotos sendmessage sendanimation
sendaudio senddice senddocument sendphoto sendsticker sendvideo sendvideonote sendvoice sendgame sendinvoice
sendlocation sendvenue sendcontact sendpoll stoppoll copymessage copymessages forwardmessage forwardmessages
sendmediagroup sendchataction setmessagereaction editmessagetext editmessagelivelocation
stopmessagelivelocation editmessagemedia editmessagecaption editmessagereplymarkup deletemessage
deletemessages createinvoicelink getstartransactions refundstarpayment setgamescore getgamehighscores
answerwebappquery answerinlinequery answercallbackquery answershippingquery answerprecheckoutquery
exportchatinvitelink createchatinvitelink editchatinvitelink revokechatinvitelink getbusinessconnection
getchat setchatphoto deletechatphoto setchattitle setchatpermissions setchatdescription pinchatmessage
unpinchatmessage unpinallchatmessages setchatstickerset deletechatstickerset getforumtopiciconstickers
createforumtopic editforumtopic closeforumtopic reopenforumtopic deleteforumtopic unpinallforumtopicmessages
editgeneralforumtopic closegeneralforumtopic reopengeneralforumtopic hidegeneralforumtopic
unhidegeneralforumtopic unpinallgeneralforumtopicmessages getchatmember getchatadministrators
getchatmembercount getchatmemberscount leavechat promotechatmember setchatadministratorcustomtitle
banchatmember kickchatmember restrictchatmember unbanchatmember banchatsenderchat unbanchatsenderchat
approvechatjoinrequest declinechatjoinrequest getuserchatboosts getstickerset getcustomemojistickers
uploadstickerfile createnewstickerset addstickertoset replacestickerinset setstickersettitle
setstickersetthumb setstickersetthumbnail setcustomemojistickersetthumbnail deletestickerset
setstickerpositioninset deletestickerfromset setstickeremojilist setstickerkeywords setstickermaskposition
setpassportdataerrors getupdates setwebhook deletewebhook getwebhookinfo getfile close logout
""".split())

UPDATE_TYPES = (
    "message", "edited_message", "channel_post", "edited_channel_post", "business_connection", "business_message",
    "edited_business_message", "deleted_business_messages", "message_reaction", "message_reaction_count",
    "inline_query", "chosen_inline_result", "callback_query", "shipping_query", "pre_checkout_query",
    "purchased_paid_media", "poll", "poll_answer", "my_chat_member", "chat_member", "chat_join_request",
    "chat_boost", "removed_chat_boost",
)
# "By default, all update types except chat_member, message_reaction, and message_reaction_count"
DEFAULT_ALLOWED_UPDATES = frozenset(UPDATE_TYPES) - {"chat_member", "message_reaction", "message_reaction_count"}

CHAT_ACTIONS = {
    "cancel", "typing", "record_video", "upload_video", "record_audio", "record_voice", "upload_audio",
    "upload_voice", "upload_photo", "upload_document", "choose_sticker", "pick_up_location", "find_location",
    "record_video_note", "upload_video_note",
}

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_CALLBACK_ANSWER = 200
LONG_POLL_MAX_TIMEOUT = 50

_NGINX_PAGE = (
    "<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n<center><h1>{status} {phrase}</h1>"
    "</center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n"
)


# --- calls and errors ---------------------------------------------------------------------------------------------

@dataclass
class Call:
    """One request the bot made, as the stand-in received and answered it.

    ``params`` are the raw string parameters (as Telegram sees them), ``parsed`` the same parameters in
    python-telegram-bot's types (``reply_markup`` an ``InlineKeyboardMarkup``, ``entities`` a list of
    ``MessageEntity``, integers and booleans converted), ``files`` the uploaded files' bytes by part name.
    ``message`` is the ``telegram.Message`` a send or edit produced; ``status`` the HTTP status answered and
    ``response`` the JSON body (None for a non-JSON answer). ``at`` is ``time.monotonic()`` at arrival.
    """

    method: str
    params: dict[str, str]
    parsed: object
    files: dict[str, bytes]
    chat_id: int | None
    at: float
    status: int = 200
    response: dict | None = None
    message: telegram.Message | None = None
    filenames: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def description(self) -> str | None:
        return (self.response or {}).get("description")

    @property
    def result(self) -> Any:
        return (self.response or {}).get("result")

    def brief(self) -> str:
        what = "ok" if self.ok else f"{self.status} {self.description or ''}".strip()
        text = self.params.get("text") or self.params.get("caption") or self.params.get("data") or ""
        text = f" {text[:60]!r}" if text else ""
        return f"{self.method}(chat_id={self.chat_id}){text} -> {what}"


class ApiError(Exception):
    """An error answer: HTTP status, Telegram's description and optional response parameters."""

    def __init__(self, status: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


_SERVER_TEXTS = {
    "MESSAGE_NOT_MODIFIED": "message is not modified: specified new message content and reply markup are exactly "
                            "the same as a current content and reply markup of the message",
    "QUERY_ID_INVALID": "query is too old and response timeout expired or query ID is invalid",
}


def bad(message: str) -> ApiError:
    """A 400 worded as Client.cpp's ``fail_query_with_error`` words it: "Bad Request: " and, unless the
    message is an error code such as ``BUTTON_DATA_INVALID``, its first letter lowered."""
    message = _SERVER_TEXTS.get(message, message)
    if message.startswith("Bad Request"):
        return ApiError(400, message)
    if len(message) >= 2 and (message[1] == "_" or "A" <= message[1] <= "Z"):
        return ApiError(400, f"Bad Request: {message}")
    return ApiError(400, f"Bad Request: {message[0].lower()}{message[1:]}")


def forbidden(message: str) -> ApiError:
    return ApiError(403, f"Forbidden: {message}")


def to_integer(s: str) -> int:
    """td::to_integer: an optional minus and the leading digits; 0 when there are none."""
    s = s or ""
    negative = s.startswith("-")
    digits = ""
    for ch in s[1:] if negative else s:
        if not ("0" <= ch <= "9"):
            break
        digits += ch
    value = int(digits) if digits else 0
    return -value if negative else value


def to_bool(s: str | None) -> bool:
    return (s or "").strip().lower() in ("true", "yes", "1")


def _json_text(value: Any) -> str:
    """A JSON body's value as the Bot API server keeps it: strings as they are, everything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass
class _Upload:
    filename: str
    data: bytes
    content_type: str


def _header_params(value: str) -> tuple[str, dict[str, str]]:
    """``form-data; name="x"; filename="y"`` -> ("form-data", {"name": "x", "filename": "y"})."""
    params: dict[str, str] = {}
    head, _, rest = value.partition(";")
    i = 0
    while i < len(rest):
        while i < len(rest) and rest[i] in " ;\t":
            i += 1
        j = i
        while j < len(rest) and rest[j] not in "=;":
            j += 1
        key = rest[i:j].strip().lower()
        if j >= len(rest) or rest[j] == ";":
            i = j + 1
            continue
        j += 1
        if j < len(rest) and rest[j] == '"':
            j += 1
            val = ""
            while j < len(rest) and rest[j] != '"':
                if rest[j] == "\\" and j + 1 < len(rest):
                    j += 1
                val += rest[j]
                j += 1
            j += 1
        else:
            k = j
            while j < len(rest) and rest[j] != ";":
                j += 1
            val = rest[k:j].strip()
        if key:
            params[key] = val
        i = j
    return head.strip().lower(), params


def parse_multipart(body: bytes, content_type: str) -> tuple[list[tuple[str, str]], dict[str, _Upload]]:
    _, params = _header_params(content_type)
    boundary = params.get("boundary", "").encode("latin-1")
    if not boundary:
        raise bad("Bad Request: can't parse multipart/form-data request")
    fields: list[tuple[str, str]] = []
    files: dict[str, _Upload] = {}
    for part in body.split(b"--" + boundary)[1:]:
        if part.startswith(b"--"):
            break
        if part.startswith(b"\r\n"):
            part = part[2:]
        if part.endswith(b"\r\n"):
            part = part[:-2]
        head, _, data = part.partition(b"\r\n\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        _, disposition = _header_params(headers.get("content-disposition", ""))
        name = disposition.get("name")
        if name is None:
            continue
        if "filename" in disposition:
            files[name] = _Upload(disposition["filename"], data,
                                  headers.get("content-type", "application/octet-stream"))
        else:
            fields.append((name, data.decode("utf-8", "replace")))
    return fields, files


# --- what the stand-in keeps ----------------------------------------------------------------------------------------

@dataclass
class _Message:
    chat_id: int
    message_id: int
    from_bot: bool
    data: dict  # the Bot API JSON of the message as it is now
    kind: str  # "text", "document", "photo", "other"


@dataclass
class _File:
    file_id: str
    file_unique_id: str
    kind: str  # "document" or "photo"
    data: bytes | None
    filename: str | None = None
    mime_type: str | None = None
    path: str = ""


@dataclass
class _Failure:
    status: int
    retry_after: int | None
    description: str | None
    times: int


@dataclass
class _Poll:
    event: asyncio.Event
    conflict: bool = False


class BotApiStandIn:
    """The Bot API on 127.0.0.1, with the recording, feeding and fault helpers tests need (see the module)."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "mta_test_bot",
        *,
        bot_first_name: str = "MTA Test Bot",
        poll_throttle: bool = True,
    ) -> None:
        if _token_problem(token):
            raise ValueError(f"not a token Telegram would accept: {token!r}")
        self.token = token
        self.bot_username = bot_username
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_first_name = bot_first_name
        self.poll_throttle = poll_throttle
        self.calls: list[Call] = []

        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._users: dict[int, dict] = {}
        self._blocked: set[int] = set()
        self._messages: dict[tuple[int, int], _Message] = {}
        self._last_message_id = 0
        self._queue: list[tuple[int, dict]] = []
        self._tail = random.randint(2_000_001, 2**30)  # TQueue starts at a random id
        self._allowed = DEFAULT_ALLOWED_UPDATES
        self._allowed_set_explicitly = False
        self._previous_poll_offset: int | None = None
        self._previous_poll_start = -100.0
        self._poll: _Poll | None = None
        self._callbacks: dict[str, dict] = {}
        self._files: dict[str, _File] = {}
        self._file_paths: dict[str, _File] = {}
        self._commands: dict[tuple, list[dict]] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False

        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

        self._methods: dict[str, Callable[[dict[str, str], dict[str, _Upload], Call], Any]] = {
            "getme": self._get_me,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "senddocument": self._send_document,
            "sendphoto": self._send_photo,
            "sendchataction": self._send_chat_action,
            "getfile": self._get_file,
            "close": lambda args, files, call: True,
            "logout": lambda args, files, call: True,
        }

    # --- addresses and lifecycle ----------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    def start(self) -> BotApiStandIn:
        """Serve on a free port of 127.0.0.1 from a background thread; returns once connections are accepted."""
        if self._thread is not None:
            raise RuntimeError("the stand-in is already started")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._socket = sock
        self.port = sock.getsockname()[1]
        app = Starlette(routes=[Route("/{path:path}", self._endpoint, methods=["GET", "POST"])])
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="botapi-standin", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the Bot API stand-in did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop the server (waiting long polls end at once) and join its thread."""
        with self._lock:
            self._stopping = True
        self._wake_pollers()
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            if self._thread.is_alive():
                raise RuntimeError("the Bot API stand-in's thread did not stop")
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> BotApiStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- feeding updates --------------------------------------------------------------------------------------------

    def register_chat(self, chat_id: int, *, first_name: str = "Anna", language_code: str | None = "de",
                      username: str | None = None, last_name: str | None = None) -> None:
        """Make ``chat_id`` a private chat of a user who has started the bot (``send_text`` does this too)."""
        with self._lock:
            self._users[chat_id] = {"id": chat_id, "first_name": first_name, "last_name": last_name,
                                    "username": username, "language_code": language_code}

    def send_text(self, chat_id: int, text: str, *, first_name: str = "Anna", language_code: str | None = "de",
                  username: str | None = None) -> int | None:
        """A user writes ``text`` in their private chat with the bot; returns the update_id.

        Bot commands (``/cmd``, ``/cmd@botname``) get their ``bot_command`` entities, as Telegram adds them."""
        with self._lock:
            self._remember_user(chat_id, first_name, language_code, username)
            message = self._user_message(chat_id, text=text, entities=_bot_command_entities(text))
            return self._push({"message": message})

    def send_document(self, chat_id: int, filename: str, content: bytes,
                      mime: str = "application/octet-stream", *, caption: str | None = None) -> int | None:
        """A user sends a file; the bot can ``getFile`` it and download it from ``base_file_url``."""
        with self._lock:
            user = self._users.get(chat_id) or {}
            self._remember_user(chat_id, user.get("first_name", "Anna"), user.get("language_code", "de"),
                                user.get("username"))
            stored = self._new_file("document", content, filename, mime)
            document = telegram.Document(stored.file_id, stored.file_unique_id, file_name=filename, mime_type=mime,
                                         file_size=len(content))
            message = self._user_message(chat_id, document=document, caption=caption)
            return self._push({"message": message})

    def press(self, chat_id: int, data: str, message_id: int) -> int | None:
        """The user presses the inline button with ``callback_data == data`` on a message the bot sent.

        As on Telegram, only a button the message carries now can be pressed (``ValueError`` otherwise; feed
        anything else with ``push_raw``)."""
        with self._lock:
            stored = self._messages.get((chat_id, message_id))
            if stored is None or not stored.from_bot:
                raise ValueError(f"the bot has no message {message_id} in chat {chat_id}")
            buttons = [b for row in (stored.data.get("reply_markup") or {}).get("inline_keyboard", [])
                       for b in row if "callback_data" in b]
            if not any(b["callback_data"] == data for b in buttons):
                offered = [b["callback_data"] for b in buttons]
                raise ValueError(f"message {message_id} in chat {chat_id} has no button with callback_data "
                                 f"{data!r} (it offers {offered})")
            query_id = str(random.randint(10**18, 9 * 10**18))
            user = self._user_object(chat_id)
            query = telegram.CallbackQuery(
                query_id, user, chat_instance=str(-(10**18) - chat_id),
                message=telegram.Message.de_json(stored.data, None), data=data,
            )
            query_dict = query.to_dict()
            update_id = self._push({"callback_query": query_dict})
            if update_id is not None:
                self._callbacks[query_id] = {"query": query_dict, "answered": False, "answer": None}
            return update_id

    def push_raw(self, update: dict) -> int | None:
        """Feed any JSON as an update (hostile-input tests); an ``update_id`` is assigned when missing.

        An integer ``update_id`` must follow the last one (Telegram's only grow; ``ValueError`` otherwise);
        a non-integer one is delivered as given. Returns the id the update is queued under."""
        with self._lock:
            update = json.loads(json.dumps(update))
            for key in ("message", "edited_message", "callback_query"):
                body = update.get(key)
                if isinstance(body, dict):
                    chat = body.get("chat") or body.get("from") or {}
                    if isinstance(chat, dict) and isinstance(chat.get("id"), int) and chat["id"] not in self._users:
                        self._users[chat["id"]] = {"id": chat["id"], "first_name": str(chat.get("first_name", "")),
                                                   "username": chat.get("username"), "language_code": None,
                                                   "last_name": None}
            return self._push(update, keep_id=True)

    # --- recording ----------------------------------------------------------------------------------------------------

    def sent(self, chat_id: int | None = None,
             methods: Iterable[str] = ("sendMessage", "sendDocument", "sendPhoto", "editMessageText")) -> list[Call]:
        """The successful calls of ``methods`` (to ``chat_id``, if given), in order."""
        wanted = {m.lower() for m in methods}
        with self._lock:
            return [c for c in self.calls if c.ok and c.method.lower() in wanted
                    and (chat_id is None or c.chat_id == chat_id)]

    def messages_text(self, chat_id: int) -> list[str]:
        """The texts (captions for media, "" for media without one) the bot sent to ``chat_id``, in order."""
        out = []
        for call in self.sent(chat_id, ("sendMessage", "sendDocument", "sendPhoto")):
            message = call.message
            out.append((message.text or message.caption or "") if message else "")
        return out

    def message(self, chat_id: int, message_id: int) -> telegram.Message | None:
        """The message as it is now (after edits), or None when unknown or deleted."""
        with self._lock:
            stored = self._messages.get((chat_id, message_id))
            return telegram.Message.de_json(stored.data, None) if stored else None

    @property
    def unanswered_callbacks(self) -> list[telegram.CallbackQuery]:
        with self._lock:
            return [telegram.CallbackQuery.de_json(c["query"], None)
                    for c in self._callbacks.values() if not c["answered"]]

    def wait_for(self, predicate: Callable[[Call], bool], timeout: float = 10.0, *, since: int = 0) -> Call:
        """The first recorded call (from index ``since``) that matches, waiting up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for call in self.calls[since:]:
                    if predicate(call):
                        return call
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(self._timeout_report(timeout))
                self._changed.wait(min(left, 0.1))

    async def await_for(self, predicate: Callable[[Call], bool], timeout: float = 10.0, *, since: int = 0) -> Call:
        """``wait_for`` for code running in the event loop the bot runs in (it never blocks the loop)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                for call in self.calls[since:]:
                    if predicate(call):
                        return call
            if time.monotonic() > deadline:
                raise AssertionError(self._timeout_report(timeout))
            await asyncio.sleep(0.01)

    def _timeout_report(self, timeout: float) -> str:
        with self._lock:
            recent = "\n".join(f"  {c.brief()}" for c in self.calls[-20:]) or "  (none)"
        return f"no matching Bot API call within {timeout} s; the last calls:\n{recent}"

    # --- faults -------------------------------------------------------------------------------------------------------

    def fail_next(self, method: str, *, status: int = 429, retry_after: int | None = None,
                  description: str | None = None, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with ``status`` (429: "Too Many Requests: retry after
        N" with ``parameters.retry_after``, default 1 s; 502/504 as nginx's HTML page; others JSON)."""
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._lock:
            self._failures.setdefault(method.lower(), []).append(_Failure(status, retry_after, description, times))

    def block(self, chat_id: int) -> int | None:
        """The user blocks the bot: sends to ``chat_id`` answer 403; feeds the ``my_chat_member`` update."""
        with self._lock:
            if chat_id not in self._users:
                raise ValueError(f"no user has opened chat {chat_id}")
            self._blocked.add(chat_id)
            return self._push_member_change(chat_id, blocked=True)

    def unblock(self, chat_id: int) -> int | None:
        with self._lock:
            if chat_id not in self._users:
                raise ValueError(f"no user has opened chat {chat_id}")
            self._blocked.discard(chat_id)
            return self._push_member_change(chat_id, blocked=False)

    # --- building Telegram objects --------------------------------------------------------------------------------

    def _bot_user(self) -> telegram.User:
        return telegram.User(self.bot_id, self.bot_first_name, True, username=self.bot_username)

    def _user_object(self, chat_id: int) -> telegram.User:
        u = self._users[chat_id]
        return telegram.User(chat_id, u["first_name"], False, last_name=u.get("last_name"),
                             username=u.get("username"), language_code=u.get("language_code"))

    def _chat_object(self, chat_id: int) -> telegram.Chat:
        u = self._users[chat_id]
        return telegram.Chat(chat_id, "private", first_name=u["first_name"], last_name=u.get("last_name"),
                             username=u.get("username"))

    def _remember_user(self, chat_id: int, first_name: str, language_code: str | None, username: str | None) -> None:
        known = self._users.get(chat_id, {})
        self._users[chat_id] = {"id": chat_id, "first_name": first_name, "last_name": known.get("last_name"),
                                "username": username, "language_code": language_code}

    def _now(self) -> dtm.datetime:
        return dtm.datetime.fromtimestamp(int(time.time()), tz=dtm.UTC)

    def _next_message_id(self) -> int:
        self._last_message_id += 1
        return self._last_message_id

    def _user_message(self, chat_id: int, **content: Any) -> dict:
        message = telegram.Message(self._next_message_id(), self._now(), self._chat_object(chat_id),
                                   from_user=self._user_object(chat_id), **content)
        data = message.to_dict()
        kind = "text" if "text" in data else "document" if "document" in data else "other"
        self._messages[(chat_id, message.message_id)] = _Message(chat_id, message.message_id, False, data, kind)
        return data

    def _push(self, update: dict, *, keep_id: bool = False) -> int | None:
        kind = next((k for k in update if k != "update_id"), None)
        if kind is not None and (kind not in self._allowed if kind in UPDATE_TYPES else self._allowed_set_explicitly):
            return None  # Telegram does not create updates the bot did not ask for
        given = update.get("update_id") if keep_id else None
        if isinstance(given, int) and not isinstance(given, bool):
            if given < self._tail:
                raise ValueError(f"update_id {given} does not follow the last one ({self._tail - 1}): "
                                 "Telegram's update ids only grow")
            update_id = given
        else:
            update_id = self._tail
            if not keep_id or "update_id" not in update:  # a hostile non-integer update_id is delivered as given
                update = {"update_id": update_id, **update}
        self._tail = update_id + 1
        self._queue.append((update_id, update))
        self._wake_pollers()
        return update_id

    def _push_member_change(self, chat_id: int, *, blocked: bool) -> int | None:
        bot = self._bot_user()
        member = telegram.ChatMemberMember(bot)
        kicked = telegram.ChatMemberBanned(bot, until_date=dtm.datetime.fromtimestamp(0, tz=dtm.UTC))
        change = telegram.ChatMemberUpdated(
            self._chat_object(chat_id), self._user_object(chat_id), self._now(),
            old_chat_member=member if blocked else kicked, new_chat_member=kicked if blocked else member,
        )
        data = change.to_dict()
        for key in ("old_chat_member", "new_chat_member"):
            if data[key]["status"] == "kicked":
                data[key]["until_date"] = 0
        return self._push({"my_chat_member": data})

    def _new_file(self, kind: str, data: bytes | None, filename: str | None, mime: str | None) -> _File:
        prefix = "BQAC" if kind == "document" else "AgAC"
        stored = _File(prefix + "AgIAAxkBAA" + secrets.token_urlsafe(40)[:50], "AgAD" + secrets.token_urlsafe(9)[:12],
                       kind, data, filename, mime)
        ext = (mimetypes.guess_extension(mime or "") or "") if kind == "document" else ".jpg"
        stored.path = f"{'documents' if kind == 'document' else 'photos'}/file_{len(self._files)}{ext}"
        self._files[stored.file_id] = stored
        self._file_paths[stored.path] = stored
        return stored

    # --- HTTP ---------------------------------------------------------------------------------------------------------

    @property
    def poll_waiting(self) -> bool:
        """A ``getUpdates`` long poll is waiting for updates now."""
        with self._lock:
            return self._poll is not None

    def _wake_pollers(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._set_poll_event)
            except RuntimeError:
                pass  # the loop is closing

    def _set_poll_event(self) -> None:
        poll = self._poll
        if poll is not None:
            poll.event.set()

    async def _endpoint(self, request: Request) -> Response:
        self._loop = asyncio.get_running_loop()
        path = request.url.path
        if path.startswith("/file/bot"):
            return self._download(path[len("/file/bot"):])
        if not path.startswith("/bot"):
            return _error_response(ApiError(404, "Not Found"))
        token, sep, method = path[len("/bot"):].partition("/")
        if not sep:
            return _error_response(ApiError(404, "Not Found"))
        try:
            args, files = await self._read_arguments(request)
        except ApiError as error:
            args, files = {}, {}
            call = self._record(method, args, files)
            return self._finish(call, error)
        call = self._record(method, args, files)
        try:
            problem = _token_problem(token)
            if problem:
                raise ApiError(401, problem)
            if token != self.token:
                raise ApiError(401, "Unauthorized")
            if not method:
                raise ApiError(404, "Not Found")
            injected = self._injected_failure(method)
            if injected is not None:
                return self._finish(call, injected)
            name = method.lower()
            if name == "getupdates":
                result = await self._get_updates(args, call)
                return self._finish(call, result)
            handler = self._methods.get(name)
            if handler is None:
                if name in TELEGRAM_METHODS:
                    raise ApiError(501, f"Not Implemented: {method} is not served by the stand-in")
                raise ApiError(404, "Not Found")
            with self._lock:
                result = handler(args, files, call)
            return self._finish(call, result)
        except ApiError as error:
            return self._finish(call, error)

    async def _read_arguments(self, request: Request) -> tuple[dict[str, str], dict[str, _Upload]]:
        args: dict[str, str] = {}
        files: dict[str, _Upload] = {}

        def add(name: str, value: str) -> None:
            args.setdefault(name, value)  # the first occurrence wins, as Query::arg finds it

        for name, value in parse_qsl(request.url.query, keep_blank_values=True):
            add(name, value)
        body = await request.body()
        content_type = request.headers.get("content-type", "")
        kind = content_type.split(";", 1)[0].strip().lower()
        if body and kind == "application/json":
            try:
                value = json.loads(body)
            except ValueError:
                raise bad("Bad Request: can't parse JSON object") from None
            if not isinstance(value, dict):
                raise bad("Bad Request: can't parse JSON object")
            for name, v in value.items():
                add(name, _json_text(v))
        elif body and kind == "application/x-www-form-urlencoded":
            for name, v in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
                add(name, v)
        elif kind == "multipart/form-data":
            fields, files = parse_multipart(body, content_type)
            for name, v in fields:
                add(name, v)
        return args, files

    def _record(self, method: str, args: dict[str, str], files: dict[str, _Upload]) -> Call:
        chat = args.get("chat_id")
        chat_id = to_integer(chat) if chat and not chat.startswith("@") else None
        call = Call(method, dict(args), _typed(args, files), {k: f.data for k, f in files.items()}, chat_id,
                    time.monotonic(), filenames={k: f.filename for k, f in files.items()})
        return call

    def _finish(self, call: Call, outcome: Any) -> Response:
        """Answer ``outcome`` (a result, an ApiError, or a (result, description) pair) and record the call."""
        if isinstance(outcome, ApiError):
            call.status = outcome.status
            if outcome.status in (502, 504) and outcome.parameters == {"html": True}:
                call.response = None
                response: Response = Response(
                    _NGINX_PAGE.format(status=outcome.status, phrase=HTTPStatus(outcome.status).phrase),
                    status_code=outcome.status, media_type="text/html")
            else:
                body: dict = {"ok": False, "error_code": outcome.status, "description": outcome.description}
                headers = {}
                if outcome.parameters:
                    body["parameters"] = outcome.parameters
                    if "retry_after" in outcome.parameters:
                        headers["Retry-After"] = str(outcome.parameters["retry_after"])
                call.response = body
                response = JSONResponse(body, status_code=outcome.status, headers=headers)
        else:
            description = None
            if isinstance(outcome, tuple):
                outcome, description = outcome
            body = {"ok": True, "result": outcome}
            if description:
                body["description"] = description
            call.status = 200
            call.response = body
            response = JSONResponse(body)
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()
        return response

    def _injected_failure(self, method: str) -> ApiError | None:
        with self._lock:
            pending = self._failures.get(method.lower())
            if not pending:
                return None
            failure = pending[0]
            failure.times -= 1
            if failure.times <= 0:
                pending.pop(0)
        status = failure.status
        if status == 429:
            return ApiError(429, failure.description or f"Too Many Requests: retry after {failure.retry_after}",
                            {"retry_after": failure.retry_after})
        if status in (502, 504) and failure.description is None:
            return ApiError(status, HTTPStatus(status).phrase, {"html": True})
        description = failure.description or {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
                                               404: "Not Found", 409: "Conflict",
                                               500: "Internal Server Error"}.get(status, HTTPStatus(status).phrase)
        parameters = {"retry_after": failure.retry_after} if failure.retry_after is not None else None
        return ApiError(status, description, parameters)

    def _download(self, rest: str) -> Response:
        token, _, path = rest.partition("/")
        with self._lock:
            stored = self._file_paths.get(path) if token == self.token else None
            if stored is None or stored.data is None:
                return _error_response(ApiError(404, "Not Found"))
            return Response(stored.data, media_type="application/octet-stream")

    # --- common parameter readers (Client.cpp) ------------------------------------------------------------------

    def _chat(self, args: dict[str, str]) -> int:
        """check_chat: the private chat of a user who opened it; blocked users refuse writes."""
        text = args.get("chat_id", "")
        if not text:
            raise bad("Bad Request: chat_id is empty")
        if text.startswith("@"):
            raise bad("Bad Request: chat not found")
        chat_id = to_integer(text)
        if chat_id not in self._users:
            raise bad("Bad Request: chat not found")
        return chat_id

    def _check_blocked(self, chat_id: int) -> None:
        if chat_id in self._blocked:
            raise forbidden("bot was blocked by the user")

    def _formatted(self, text: str, parse_mode: str, entities_json: str | None) -> tuple[str, list[Entity]]:
        """get_formatted_text: parse_mode parsing or explicit entities."""
        if len(text.encode("utf-8")) > (1 << 15):
            raise bad("Text is too long")
        mode = parse_mode.lower()
        if text and mode and mode != "none":
            parser = PARSE_MODES.get(mode)
            if parser is None:
                raise bad("Unsupported parse_mode")
            try:
                return parser(text)
            except RuleError as error:
                raise bad(f"Can't parse entities: {error.message}") from None
        entities: list[Entity] = []
        if entities_json:
            try:
                value = json.loads(entities_json)
            except ValueError:
                value = None  # get_input_entities ignores entities it can't parse
            if isinstance(value, list):
                for item in value:
                    try:
                        entity = _entity_from_json(item)
                    except RuleError as error:
                        raise bad(f"Can't parse MessageEntity: {error.message}") from None
                    if entity is not None:
                        entities.append(entity)
        return text, entities

    def _fixed(self, text: str, entities: list[Entity], *, caption: bool) -> tuple[str, list[Entity]]:
        """What TDLib keeps of a text (fix_formatted_text) and Telegram's length limits."""
        for entity in entities:
            if entity.type == "text_link" and entity.url is not None:
                try:
                    entity.url = check_link(entity.url)
                except RuleError as error:
                    raise bad(f"Entity {error.message}") from None
        try:
            text, entities = fix_text(text, entities, allow_empty=caption)
        except RuleError as error:
            raise bad(error.message) from None
        if utf16_length(text) > (MAX_CAPTION if caption else MAX_TEXT):
            raise bad("message caption is too long" if caption else "message is too long")
        return text, entities

    def _link_preview(self, args: dict[str, str]) -> dict | None:
        raw = args.get("link_preview_options", "")
        if not raw:
            return {"is_disabled": True} if to_bool(args.get("disable_web_page_preview")) else None
        try:
            value = json.loads(raw)
        except ValueError:
            raise bad("Can't parse link preview options JSON object") from None
        if not isinstance(value, dict):
            raise bad("Object expected as link preview options")
        for name in ("is_disabled", "prefer_small_media", "prefer_large_media", "show_above_text"):
            _opt_bool(value, name, bad)
        _opt_str(value, "url", bad)
        return value

    def _reply_to(self, args: dict[str, str], chat_id: int) -> dict | None:
        """get_reply_parameters + check_reply_parameters: the message replied to, as Telegram embeds it."""
        raw = args.get("reply_parameters")
        if raw is None:
            message_id = max(to_integer(args.get("reply_to_message_id", "")), 0)
            allow = to_bool(args.get("allow_sending_without_reply"))
            in_chat = None
        else:
            if not raw:
                return None
            try:
                value = json.loads(raw)
            except ValueError:
                raise bad("Can't parse reply parameters JSON object") from None
            if not isinstance(value, dict):
                raise bad("Object expected as reply parameters")
            if not value:
                return None
            in_chat = _opt_str(value, "chat_id", bad) or None
            message_id = max(_req_int(value, "message_id", bad), 0)
            allow = _opt_bool(value, "allow_sending_without_reply", bad)
        if message_id <= 0:
            return None
        target_chat = chat_id
        if in_chat is not None and in_chat != args.get("chat_id"):
            target_chat = self._chat({"chat_id": in_chat})
        stored = self._messages.get((target_chat, message_id))
        if stored is None:
            if allow:
                return None
            raise bad("message to be replied not found")
        reply = dict(stored.data)
        reply.pop("reply_to_message", None)
        return reply

    # --- keyboards (Client.cpp get_reply_markup, then ReplyMarkup.cpp) -----------------------------------------

    def _markup_structure(self, raw: str) -> dict | None:
        if not raw:
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            raise bad("Can't parse reply keyboard markup JSON object") from None
        if not isinstance(value, dict):
            raise bad("Object expected as reply markup")
        rows: list[list[dict]] = []
        keyboard = _opt_field(value, "keyboard", list, bad)
        if keyboard is not None:
            for row in keyboard:
                if not isinstance(row, list):
                    raise bad('Field "keyboard" must be an Array of Arrays')
                new_row = []
                for button in row:
                    try:
                        new_row.append(_keyboard_button(button))
                    except RuleError as error:
                        raise bad(f"Can't parse keyboard button: {error.message}") from None
                rows.append(new_row)
        inline_rows: list[list[dict]] = []
        inline = _opt_field(value, "inline_keyboard", list, bad)
        if inline is not None:
            for row in inline:
                if not isinstance(row, list):
                    raise bad('Field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
                new_row = []
                for button in row:
                    try:
                        new_row.append(_inline_button(button))
                    except RuleError as error:
                        raise bad(f"Can't parse inline keyboard button: {error.message}") from None
                inline_rows.append(new_row)
        flags = {name: _opt_bool(value, name, bad) for name in (
            "hide_keyboard", "remove_keyboard", "personal_keyboard", "selective", "force_reply_keyboard",
            "force_reply")}
        placeholder = _opt_str(value, "input_field_placeholder", bad)
        if rows:
            for name in ("resize_keyboard", "one_time_keyboard", "is_persistent"):
                _opt_bool(value, name, bad)
            return {"type": "keyboard", "rows": rows, "placeholder": placeholder}
        if inline_rows:
            return {"type": "inline", "rows": inline_rows}
        if flags["hide_keyboard"] or flags["remove_keyboard"]:
            return {"type": "remove"}
        if flags["force_reply"] or flags["force_reply_keyboard"]:
            return {"type": "force_reply", "placeholder": placeholder}
        return None

    def _markup_checked(self, structure: dict | None, *, inline_only: bool = False) -> dict | None:
        """TDLib's and the server's checks; returns the inline keyboard as Telegram echoes it in the message."""
        if inline_only and structure is not None and structure["type"] != "inline":
            raise bad("Inline keyboard expected")  # edits take inline keyboards only (ReplyMarkup.cpp)
        if structure is None or structure["type"] not in ("keyboard", "inline"):
            return None
        kept_rows = []
        total = 0
        for row in structure["rows"]:
            kept = []
            for button in row:
                if not button["text"]:
                    continue  # ReplyMarkup.cpp skips buttons with an empty text
                kept.append(self._checked_button(button) if structure["type"] == "inline" else button)
                total += 1
                if len(kept) >= 12 or total >= 300:
                    break
            if kept:
                kept_rows.append(kept)
            if total >= 300:
                break
        if structure["type"] != "inline" or not kept_rows:
            return None
        for row in kept_rows:
            for button in row:
                data = button.get("callback_data")
                if data is not None and len(data.encode("utf-8")) > MAX_CALLBACK_DATA:
                    raise bad("BUTTON_DATA_INVALID")  # Telegram's servers refuse callback data above 64 bytes
        return {"inline_keyboard": kept_rows}

    def _checked_button(self, button: dict) -> dict:
        kind, value, text = button["kind"], button.get("value"), button["text"]
        out: dict = {"text": text}
        if kind == "url":
            if get_link_user_id(value) is not None:
                out["url"] = f"tg://user?id={get_link_user_id(value)}"
                return out
            try:
                out["url"] = check_link(value)
            except RuleError as error:
                raise bad(f"Inline keyboard button {error.message}") from None
        elif kind == "callback_data":
            out["callback_data"] = value
        elif kind in ("web_app", "login_url"):
            try:
                url = check_link(value["url"], http_only=True, https_only=True)
            except RuleError as error:
                label = "Web App" if kind == "web_app" else "login"
                raise bad(f"Inline keyboard button {label} {error.message}") from None
            out[kind] = {**value, "url": url}
        else:
            out[kind] = value
        return out

    # --- methods ----------------------------------------------------------------------------------------------------

    def _get_me(self, args, files, call):
        return telegram.User(self.bot_id, self.bot_first_name, True, username=self.bot_username,
                             can_join_groups=True, can_read_all_group_messages=False,
                             supports_inline_queries=False, can_connect_to_business=False,
                             has_main_web_app=False).to_dict()

    def _updates_from(self, offset: int, limit: int) -> list[dict]:
        """TQueue::get with forget_previous: drop what is confirmed, return up to ``limit`` updates."""
        head = self._queue[0][0] if self._queue else self._tail
        if offset < 0:
            self._queue = self._queue[max(len(self._queue) + offset, 0):]
            offset = head = self._queue[0][0] if self._queue else self._tail
        if offset <= 0:
            offset = head
        if offset > self._tail + 10:
            offset = head  # "Specified from_id is in the future": Telegram reads from the head instead
        self._queue = [(i, u) for i, u in self._queue if i >= offset]
        return [u for _, u in self._queue[:limit]]

    async def _get_updates(self, args: dict[str, str], call: Call) -> Any:
        with self._lock:
            offset = to_integer(args.get("offset", "")) if args.get("offset") else 0
            limit = min(max(to_integer(args["limit"]) if args.get("limit") else 100, 1), 100)
            timeout = min(max(to_integer(args["timeout"]) if args.get("timeout") else 0, 0), LONG_POLL_MAX_TIMEOUT)
            self._update_allowed(args.get("allowed_updates", ""))
            now = time.monotonic()
            if self.poll_throttle and offset == self._previous_poll_offset:
                if timeout < 3 and now < self._previous_poll_start + 3.0:
                    timeout = 3
                if now < self._previous_poll_start + 0.5:
                    limit = 1
            self._previous_poll_offset = offset
            self._previous_poll_start = now
            updates = self._updates_from(offset, limit)
            if updates or timeout == 0 or self._stopping:
                return updates
            if self._poll is not None:
                self._poll.conflict = True
                self._poll.event.set()
            poll = _Poll(asyncio.Event())
            self._poll = poll
        deadline = time.monotonic() + timeout
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    await asyncio.wait_for(poll.event.wait(), left)
                except TimeoutError:
                    break
                poll.event.clear()
                with self._lock:
                    if poll.conflict:
                        raise ApiError(409, "Conflict: terminated by other getUpdates request; make sure that only "
                                            "one bot instance is running")
                    if self._stopping or self._updates_from(offset, limit):
                        break
        finally:
            with self._lock:
                if self._poll is poll:
                    self._poll = None
        with self._lock:
            return self._updates_from(offset, limit)

    def _update_allowed(self, raw: str) -> None:
        """update_allowed_update_types: a JSON array of names; no known name means the default set."""
        if not raw:
            return
        try:
            value = json.loads(raw)
        except ValueError:
            return
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return
        chosen = {v.lower() for v in value} & set(UPDATE_TYPES)
        self._allowed = frozenset(chosen) if chosen else DEFAULT_ALLOWED_UPDATES
        self._allowed_set_explicitly = bool(chosen)

    def _delete_webhook(self, args, files, call):
        if to_bool(args.get("drop_pending_updates")):
            self._queue.clear()
        return True, "Webhook is already deleted"

    def _get_webhook_info(self, args, files, call):
        info = telegram.WebhookInfo("", False, len(self._queue),
                                    allowed_updates=sorted(self._allowed) if self._allowed_set_explicitly else None)
        return info.to_dict()

    def _command_scope(self, args: dict[str, str]) -> tuple:
        raw = args.get("scope", "")
        if not raw:
            return ("default",)
        try:
            value = json.loads(raw)
        except ValueError:
            raise bad("Can't parse BotCommandScope JSON object") from None

        def scope_error(message: str) -> ApiError:
            return bad(f"Can't parse BotCommandScope: {message}")

        if not isinstance(value, dict):
            raise scope_error("BotCommandScope must be an Object")
        kind = _req_str(value, "type", scope_error)
        if kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
            return (kind,)
        if kind not in ("chat", "chat_administrators", "chat_member"):
            raise scope_error("Unsupported type specified")
        chat = _req_str(value, "chat_id", scope_error)
        if not chat:
            raise scope_error("Empty chat_id specified")
        chat_id = self._chat({"chat_id": chat})
        if kind != "chat_member":
            return (kind, chat_id)
        user_id = _req_int(value, "user_id", scope_error)
        if user_id <= 0:
            raise scope_error("Invalid user_id specified")
        return (kind, chat_id, user_id)

    def _set_my_commands(self, args, files, call):
        raw = args.get("commands", "")
        commands: list[dict] = []
        if raw:
            try:
                value = json.loads(raw)
            except ValueError:
                raise bad("Can't parse commands JSON object") from None
            if not isinstance(value, list):
                raise bad("Expected an Array of BotCommand")
            for item in value:
                def command_error(message: str) -> ApiError:
                    return bad(f"Can't parse BotCommand: {message}")
                if not isinstance(item, dict):
                    raise command_error("expected an Object")
                commands.append({"command": _req_str(item, "command", command_error),
                                  "description": _req_str(item, "description", command_error)})
        scope = self._command_scope(args)
        # the Bot API documents: command 1-32 characters of a-z, 0-9 and _; description 1-256 characters;
        # Telegram's servers answer BOT_COMMAND_INVALID / BOT_COMMAND_DESCRIPTION_INVALID / BOT_COMMANDS_TOO_MUCH
        if len(commands) > 100:
            raise bad("BOT_COMMANDS_TOO_MUCH")
        cleaned = []
        for item in commands:
            command = item["command"].removeprefix("/")
            if not (1 <= len(command) <= 32) or any(not (c.islower() or c.isdigit() or c == "_") or not c.isascii()
                                                   for c in command):
                raise bad("BOT_COMMAND_INVALID")
            description = item["description"].strip()
            if not (1 <= len(description) <= 256):
                raise bad("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append(telegram.BotCommand(command, description).to_dict())
        self._commands[(scope, args.get("language_code", ""))] = cleaned
        return True

    def _get_my_commands(self, args, files, call):
        return self._commands.get((self._command_scope(args), args.get("language_code", "")), [])

    def _delete_my_commands(self, args, files, call):
        self._commands.pop((self._command_scope(args), args.get("language_code", "")), None)
        return True

    def _send_message(self, args, files, call):
        link_preview = self._link_preview(args)
        if not args.get("text"):
            raise bad("Message text is empty")
        text, entities = self._formatted(args["text"], args.get("parse_mode", ""), args.get("entities"))
        structure = self._markup_structure(args.get("reply_markup", ""))
        chat_id = self._chat(args)
        reply_to = self._reply_to(args, chat_id)
        text, entities = self._fixed(text, entities, caption=False)
        markup = self._markup_checked(structure)
        self._check_blocked(chat_id)
        content: dict = {"text": text}
        if entities:
            content["entities"] = [e.to_dict() for e in entities]
        if link_preview:
            content["link_preview_options"] = link_preview
        return self._store_bot_message(call, chat_id, "text", content, markup, reply_to)

    def _store_bot_message(self, call: Call, chat_id: int, kind: str, content: dict, markup: dict | None,
                           reply_to: dict | None) -> dict:
        data = {"message_id": self._next_message_id(), "from": self._bot_user().to_dict(),
                "chat": self._chat_object(chat_id).to_dict(), "date": int(time.time()), **content}
        if reply_to is not None:
            data["reply_to_message"] = reply_to
        if markup is not None:
            data["reply_markup"] = markup
        if to_bool(call.params.get("protect_content")):
            data["has_protected_content"] = True
        message = telegram.Message.de_json(data, None)
        data = message.to_dict()
        self._messages[(chat_id, message.message_id)] = _Message(chat_id, message.message_id, True, data, kind)
        call.message = message
        return data

    def _message_to_edit(self, args: dict[str, str]) -> _Message:
        message_id = max(to_integer(args.get("message_id", "")), 0)
        if not args.get("chat_id") and message_id == 0:
            if not args.get("inline_message_id"):
                raise bad("Message identifier is not specified")
            raise bad("MESSAGE_ID_INVALID")  # the stand-in sends no inline messages
        chat_id = self._chat(args)
        stored = self._messages.get((chat_id, message_id)) if message_id > 0 else None
        if stored is None:
            raise bad("message to edit not found")
        return stored

    def _apply_edit(self, call: Call, stored: _Message, text: dict | None, markup: dict | None) -> dict:
        """Edit ``stored`` to ``text`` ({"text", "entities"?}; None: keep it) and ``markup`` (None: remove)."""
        if not stored.from_bot:
            raise bad("message can't be edited")
        if text is not None and stored.kind != "text":
            raise bad("there is no text in the message to edit")
        self._check_blocked(stored.chat_id)
        old = stored.data
        same_text = text is None or (old.get("text") == text["text"] and old.get("entities") == text.get("entities"))
        if same_text and old.get("reply_markup") == markup:
            raise bad("MESSAGE_NOT_MODIFIED")
        data = {k: v for k, v in old.items() if k not in ("reply_markup", "edit_date")}
        if text is not None:
            data.pop("entities", None)
            data.update(text)
        data["edit_date"] = int(time.time())
        if markup is not None:
            data["reply_markup"] = markup
        message = telegram.Message.de_json(data, None)
        stored.data = message.to_dict()
        call.message = message
        return stored.data

    def _edit_message_text(self, args, files, call):
        self._link_preview(args)
        if not args.get("text"):
            raise bad("Message text is empty")
        text, entities = self._formatted(args["text"], args.get("parse_mode", ""), args.get("entities"))
        structure = self._markup_structure(args.get("reply_markup", ""))
        stored = self._message_to_edit(args)
        text, entities = self._fixed(text, entities, caption=False)
        markup = self._markup_checked(structure, inline_only=True)
        new: dict = {"text": text}
        if entities:
            new["entities"] = [e.to_dict() for e in entities]
        return self._apply_edit(call, stored, new, markup)

    def _edit_message_reply_markup(self, args, files, call):
        structure = self._markup_structure(args.get("reply_markup", ""))
        stored = self._message_to_edit(args)
        markup = self._markup_checked(structure, inline_only=True)
        return self._apply_edit(call, stored, None, markup)

    def _delete_message(self, args, files, call):
        if not args.get("chat_id"):
            raise bad("Chat identifier is not specified")
        message_id = max(to_integer(args.get("message_id", "")), 0)
        if message_id == 0:
            raise bad("Message identifier is not specified")
        chat_id = self._chat(args)
        if self._messages.pop((chat_id, message_id), None) is None:
            raise bad("message to delete not found")
        return True

    def _answer_callback_query(self, args, files, call):
        query_id = str(to_integer(args.get("callback_query_id", "")))
        entry = self._callbacks.get(query_id)
        if entry is None or entry["answered"]:
            raise bad("QUERY_ID_INVALID")
        if utf16_length(args.get("text", "")) > MAX_CALLBACK_ANSWER:
            raise bad("MESSAGE_TOO_LONG")
        entry["answered"] = True
        entry["answer"] = {"text": args.get("text"), "show_alert": to_bool(args.get("show_alert")),
                           "url": args.get("url")}
        return True

    def _send_chat_action(self, args, files, call):
        if args.get("action", "").lower() not in CHAT_ACTIONS:
            raise bad("Wrong parameter action in request")
        chat_id = self._chat(args)
        self._check_blocked(chat_id)
        return True

    def _input_file(self, args: dict[str, str], files: dict[str, _Upload], name: str, what: str):
        """get_input_file: an upload (by part name or attach://), or a remote file_id/URL."""
        value = args.get(name, "")
        part = name
        if value:
            if value.startswith("attach://"):
                part = value[len("attach://"):]
            else:
                return "remote", value
        upload = files.get(part)
        if upload is None:
            raise bad(f"There is no {what} in the request")
        return "upload", upload

    def _caption(self, args: dict[str, str]) -> tuple[str, list[Entity]]:
        return self._formatted(args.get("caption", ""), args.get("parse_mode", ""), args.get("caption_entities"))

    def _media_common(self, args, call, kind: str, content_key: str, build: Callable[[], dict]) -> dict:
        caption, caption_entities = self._caption(args)
        structure = self._markup_structure(args.get("reply_markup", ""))
        chat_id = self._chat(args)
        reply_to = self._reply_to(args, chat_id)
        caption, caption_entities = self._fixed(caption, caption_entities, caption=True)
        markup = self._markup_checked(structure)
        content = {content_key: build()}
        if caption:
            content["caption"] = caption
        if caption_entities:
            content["caption_entities"] = [e.to_dict() for e in caption_entities]
        self._check_blocked(chat_id)
        return self._store_bot_message(call, chat_id, kind, content, markup, reply_to)

    def _remote_file(self, value: str, kind: str) -> _File:
        stored = self._files.get(value)
        if stored is not None:
            if stored.kind != kind:
                raise bad("type of file mismatch")
            return stored
        if value.lower().startswith(("http://", "https://")):
            name = value.rsplit("/", 1)[-1].split("?", 1)[0] or None
            return self._new_file(kind, None, name, mimetypes.guess_type(name or "")[0] if kind == "document"
                                  else "image/jpeg")
        raise bad("wrong file identifier/HTTP URL specified")

    def _send_document(self, args, files, call):
        source, value = self._input_file(args, files, "document", "document")

        def build() -> dict:
            if source == "remote":
                stored = self._remote_file(value, "document")
            else:
                if not value.data:
                    raise bad("file must be non-empty")
                mime = value.content_type
                if not mime or mime == "application/octet-stream":
                    mime = mimetypes.guess_type(value.filename)[0] or "application/octet-stream"
                stored = self._new_file("document", value.data, value.filename, mime)
            return telegram.Document(stored.file_id, stored.file_unique_id, file_name=stored.filename,
                                     mime_type=stored.mime_type,
                                     file_size=len(stored.data) if stored.data is not None else None).to_dict()

        return self._media_common(args, call, "document", "document", build)

    def _send_photo(self, args, files, call):
        source, value = self._input_file(args, files, "photo", "photo")

        def build() -> list:
            if source == "remote":
                stored = self._remote_file(value, "photo")
                width, height = (1280, 960) if stored.data is None else image_size(stored.data)[1:]
            else:
                if not value.data:
                    raise bad("file must be non-empty")
                size = image_size(value.data)
                if size is None:
                    raise bad("IMAGE_PROCESS_FAILED")
                _, width, height = size
                if width + height > 10000 or max(width, height) > 20 * min(width, height):
                    raise bad("PHOTO_INVALID_DIMENSIONS")
                stored = self._new_file("photo", value.data, value.filename, "image/jpeg")
            return self._photo_sizes(stored, width, height)

        return self._media_common(args, call, "photo", "photo", build)

    def _photo_sizes(self, stored: _File, width: int, height: int) -> list[dict]:
        """The sizes Telegram makes of a photo: thumbnails of 90 and 320 px, then 800 and 1280 px at most, the
        last one the original size; each has its own file_id, all resolve to the uploaded bytes."""
        sizes: list[dict] = []
        for side in (90, 320, 800, 1280):
            scale = min(1.0, side / max(width, height))
            last = scale == 1.0 or side == 1280
            if last:
                size_file = stored
            else:
                size_file = _File(stored.file_id[:-8] + secrets.token_urlsafe(6)[:8],
                                  stored.file_unique_id[:-4] + secrets.token_urlsafe(3)[:4], "photo", stored.data,
                                  stored.filename, stored.mime_type, stored.path)
                self._files[size_file.file_id] = size_file
            sizes.append(telegram.PhotoSize(size_file.file_id, size_file.file_unique_id,
                                            max(1, round(width * scale)), max(1, round(height * scale)),
                                            file_size=len(stored.data) if stored.data else None).to_dict())
            if last:
                break
        return sizes

    def _get_file(self, args, files, call):
        file_id = args.get("file_id", "")
        if not file_id:
            raise bad("Bad Request: file_id not specified")
        stored = self._files.get(file_id)
        if stored is None:
            raise bad("Bad Request: invalid file_id")
        if stored.data is not None and len(stored.data) > 20 * 1024 * 1024:
            raise bad("Bad Request: file is too big")
        return telegram.File(stored.file_id, stored.file_unique_id,
                             file_size=len(stored.data) if stored.data is not None else None,
                             file_path=stored.path if stored.data is not None else None).to_dict()


# --- helpers outside the class ----------------------------------------------------------------------------------------

def _token_problem(token: str) -> str | None:
    """ClientManager::send and Client::start_up: why Telegram would not take this token (None: it would)."""
    if not token or token[0] == "0" or len(token) > 80 or "/" in token or ":" not in token:
        return "Unauthorized: invalid token specified"
    bot_id, _, secret = token.partition(":")
    if not bot_id.isdigit() or not (0 < int(bot_id) < (1 << 54)):
        return "Unauthorized: invalid token specified"
    if len(secret) < 24 or any(not (c.isascii() and (c.isalnum() or c in "-_")) for c in secret):
        return "Unauthorized"
    return None


def _error_response(error: ApiError) -> Response:
    return JSONResponse({"ok": False, "error_code": error.status, "description": error.description},
                        status_code=error.status)


def _bot_command_entities(text: str) -> list[telegram.MessageEntity]:
    """bot_command entities for ``/command`` and ``/command@bot`` (start of text or after whitespace)."""
    entities = []
    i = 0
    while i < len(text):
        if text[i] == "/" and (i == 0 or text[i - 1].isspace()):
            j = i + 1
            while j < len(text) and j - i <= 64 and (text[j].isascii() and (text[j].isalnum() or text[j] == "_")):
                j += 1
            if j > i + 1:
                if j < len(text) and text[j] == "@":
                    k = j + 1
                    while k < len(text) and text[k].isascii() and (text[k].isalnum() or text[k] == "_"):
                        k += 1
                    if 3 <= k - j - 1 <= 32:
                        j = k
                offset = utf16_length(text[:i])
                entities.append(telegram.MessageEntity("bot_command", offset, utf16_length(text[i:j])))
            i = j
        else:
            i += 1
    return entities


def _opt_field(obj: dict, name: str, kind: type, error: Callable[[str], ApiError]) -> Any:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, kind):
        raise error(f'Field "{name}" must be of type {"Array" if kind is list else "Object"}')
    return value


def _opt_bool(obj: dict, name: str, error: Callable[[str], Any]) -> bool:
    value = obj.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise error(f'Field "{name}" must be of type Boolean')
    return value


def _opt_str(obj: dict, name: str, error: Callable[[str], Any]) -> str:
    value = obj.get(name)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return json.dumps(value)
    raise error(f'Field "{name}" must be of type String')


def _req_str(obj: dict, name: str, error: Callable[[str], Any]) -> str:
    if name not in obj:
        raise error(f'Can\'t find field "{name}"')
    return _opt_str(obj, name, error)


def _req_int(obj: dict, name: str, error: Callable[[str], Any]) -> int:
    if name not in obj:
        raise error(f'Can\'t find field "{name}"')
    value = obj[name]
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise error(f'Field "{name}" must be of type Number')
    text = str(value)
    try:
        number = int(text)
    except ValueError:
        raise error(f'Can\'t parse "{text}" as number') from None
    if str(number) != text:
        raise error(f'Can\'t parse "{text}" as number')
    return number


def _rule(message: str) -> RuleError:
    return RuleError(message)


def _keyboard_button(button: Any) -> dict:
    if isinstance(button, str):
        return {"text": button}
    if not isinstance(button, dict):
        raise RuleError("KeyboardButton must be a String or an Object")
    out = {"text": _req_str(button, "text", _rule)}
    for name in ("request_phone_number", "request_contact", "request_location"):
        if _opt_bool(button, name, _rule):
            out[name] = True
    for name in ("request_poll", "web_app", "request_users", "request_user", "request_chat"):
        if name in button:
            out[name] = _opt_field(button, name, dict, _rule)
    if "web_app" in out:
        _req_str(out["web_app"] or {}, "url", _rule)
    return out


def _inline_button(button: Any) -> dict:
    """Client.cpp get_inline_keyboard_button: the first of the button types present decides."""
    if not isinstance(button, dict):
        raise RuleError("InlineKeyboardButton must be an Object")
    text = _req_str(button, "text", _rule)
    url = _opt_str(button, "url", _rule)
    if url:
        return {"text": text, "kind": "url", "value": url}
    data = _opt_str(button, "callback_data", _rule)
    if data:
        return {"text": text, "kind": "callback_data", "value": data}
    if "callback_game" in button:
        return {"text": text, "kind": "callback_game", "value": {}}
    if "pay" in button:
        return {"text": text, "kind": "pay", "value": True}
    if "switch_inline_query" in button:
        return {"text": text, "kind": "switch_inline_query", "value": _req_str(button, "switch_inline_query", _rule)}
    if "switch_inline_query_chosen_chat" in button:
        return {"text": text, "kind": "switch_inline_query_chosen_chat",
                "value": _opt_field(button, "switch_inline_query_chosen_chat", dict, _rule) or {}}
    if "switch_inline_query_current_chat" in button:
        return {"text": text, "kind": "switch_inline_query_current_chat",
                "value": _req_str(button, "switch_inline_query_current_chat", _rule)}
    if "login_url" in button:
        value = _opt_field(button, "login_url", dict, _rule) or {}
        _req_str(value, "url", _rule)
        return {"text": text, "kind": "login_url", "value": value}
    if "web_app" in button:
        value = _opt_field(button, "web_app", dict, _rule) or {}
        _req_str(value, "url", _rule)
        return {"text": text, "kind": "web_app", "value": value}
    if "copy_text" in button:
        value = _opt_field(button, "copy_text", dict, _rule) or {}
        _req_str(value, "text", _rule)
        return {"text": text, "kind": "copy_text", "value": value}
    raise RuleError("Text buttons are unallowed in the inline keyboard")


_ENTITY_TYPES = {"bold", "italic", "underline", "strikethrough", "spoiler", "code", "pre", "text_link",
                 "text_mention", "custom_emoji", "blockquote", "expandable_blockquote"}
_DETECTED_TYPES = {"mention", "hashtag", "cashtag", "bot_command", "url", "email", "phone_number",
                   "bank_card_number"}


def _entity_from_json(item: Any) -> Entity | None:
    """Client.cpp get_text_entity: detected types (url, mention, ...) are ignored, Telegram finds them itself."""
    if not isinstance(item, dict):
        raise RuleError("expected an Object")
    offset = _req_int(item, "offset", _rule)
    length = _req_int(item, "length", _rule)
    kind = _req_str(item, "type", _rule)
    if not kind:
        raise RuleError("Type is not specified")
    if kind in _DETECTED_TYPES:
        return None
    if kind not in _ENTITY_TYPES:
        raise RuleError("Unsupported type specified")
    if kind == "pre":
        return Entity("pre", offset, length, language=_opt_str(item, "language", _rule) or None)
    if kind == "text_link":
        return Entity("text_link", offset, length, url=_req_str(item, "url", _rule))
    if kind == "text_mention":
        user = _opt_field(item, "user", dict, _rule)
        if user is None:
            raise RuleError('Can\'t find field "user"')
        return Entity("text_mention", offset, length, user_id=_req_int(user, "id", _rule))
    if kind == "custom_emoji":
        return Entity("custom_emoji", offset, length, custom_emoji_id=str(_req_int(item, "custom_emoji_id", _rule)))
    return Entity(kind, offset, length)


def _typed_markup(value: Any) -> object:
    if not isinstance(value, dict):
        return value
    try:
        if "inline_keyboard" in value:
            return telegram.InlineKeyboardMarkup.de_json(value, None)
        if "keyboard" in value:
            rows = [[{"text": b} if isinstance(b, str) else b for b in row] for row in value["keyboard"]]
            return telegram.ReplyKeyboardMarkup.de_json({**value, "keyboard": rows}, None)
        if value.get("remove_keyboard") or value.get("hide_keyboard"):
            return telegram.ReplyKeyboardRemove.de_json(value, None)
        if value.get("force_reply"):
            return telegram.ForceReply.de_json(value, None)
    except Exception:  # noqa: BLE001 - a malformed markup stays as its JSON
        return value
    return value


_TYPED_JSON = {
    "entities": lambda v: [telegram.MessageEntity.de_json(e, None) for e in v],
    "caption_entities": lambda v: [telegram.MessageEntity.de_json(e, None) for e in v],
    "reply_markup": _typed_markup,
    "reply_parameters": lambda v: telegram.ReplyParameters.de_json(v, None),
    "link_preview_options": lambda v: telegram.LinkPreviewOptions.de_json(v, None),
    "commands": lambda v: [telegram.BotCommand.de_json(c, None) for c in v],
    "scope": lambda v: telegram.BotCommandScope.de_json(v, None),
    "allowed_updates": list,
}
_TYPED_INT = {"message_id", "offset", "limit", "timeout", "cache_time", "message_thread_id", "reply_to_message_id"}
_TYPED_BOOL = {"disable_notification", "protect_content", "show_alert", "drop_pending_updates",
               "disable_web_page_preview", "allow_sending_without_reply", "has_spoiler", "show_caption_above_media",
               "disable_content_type_detection"}


def _typed(args: dict[str, str], files: dict[str, _Upload]) -> dict[str, object]:
    """The parameters in python-telegram-bot's types; a value that does not convert stays a string."""
    out: dict[str, object] = {}
    for name, raw in args.items():
        value: object = raw
        try:
            if name in _TYPED_JSON and raw:
                value = _TYPED_JSON[name](json.loads(raw))
            elif name in _TYPED_INT or (name == "chat_id" and raw and not raw.startswith("@")):
                value = to_integer(raw)
            elif name in _TYPED_BOOL:
                value = to_bool(raw)
        except Exception:  # noqa: BLE001 - Telegram refuses it; the raw value is what the call carried
            value = raw
        out[name] = value
    for name, upload in files.items():
        out.setdefault(name, telegram.InputFile(upload.data, filename=upload.filename))
    return out
