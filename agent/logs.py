"""Logging through loguru: human lines on a terminal, JSON lines for a log shipper, personal data scrubbed.

Names, e-mail addresses, phone numbers, tokens, authKeys and bot tokens must
never reach a log (brief: "personal data is sensitive"). Two layers:

- **shapes** we can recognise anywhere: e-mail addresses, JWTs (captcha
  tokens), ``authKey=…``-like pairs, activation links (their code carries the
  authKey), Telegram bot tokens, phone numbers;
- **known values** that have no shape, above all names: the people the agent
  books for are registered with :func:`remember` (the service does it for
  every person in the database, the CLI for the contact it was given), and
  every occurrence is masked.

Scrubbing happens in the sink, on the finished line, so the message, its
extra fields and a traceback are all covered; tracebacks never show variable
values (``diagnose=False``). The standard library's loggers (uvicorn,
APScheduler, alembic) are routed through the same sink.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Iterable
from datetime import timezone

from loguru import logger

_PATTERNS = [
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "<email>"),
    (re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]+"), "<token>"),  # JWTs
    (re.compile(r"(#/appointment/(?:confirm/)?)[A-Za-z0-9+/=_-]+"), r"\1<code>"),  # the code holds the authKey
    (re.compile(r"\b(bot)?\d{6,12}:[A-Za-z0-9_-]{30,}"), "<bot-token>"),  # Telegram
    (re.compile(r"(auth_?Key|captchaToken|token|password|secret)([\"']?\s*[:=]\s*[\"']?)[^\s\"',;&}]+", re.I),
     r"\1\2<secret>"),
    # phone numbers as people write them (+49…, 0049…, 089…): a leading + or 0, so dates, times and Unix
    # timestamps in log lines stay readable (a person's own number is also masked as a known value)
    (re.compile(r"(?<![\w.:/-])(?:\+|0)\d[\d \-/]{6,}\d"), "<phone>"),
]

_known: set[str] = set()
_known_re: re.Pattern[str] | None = None
_lock = threading.Lock()
HUMAN_FORMAT = "{time:HH:mm:ss} {level: <7} {name}: {message}"


def remember(values: Iterable[str | None]) -> None:
    """Mask these exact values (names, e-mails, phones) in every later line, case-insensitively."""
    global _known_re
    fresh = {v.strip() for v in values if v and len(v.strip()) >= 2 and v.strip() not in ("-",)}
    with _lock:
        if fresh <= _known:
            return
        _known.update(fresh)
        alternatives = "|".join(re.escape(v) for v in sorted(_known, key=len, reverse=True))
        _known_re = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.I)


def remember_contact(contact: object) -> None:
    """A person's contact details (a Contact, a Person row: names, e-mail, phone)."""
    remember(getattr(contact, name, None) for name in ("first_name", "last_name", "email", "phone", "telephone"))


def scrub(text: str) -> str:
    known = _known_re
    if known is not None:
        text = known.sub("<person>", text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _human_sink(message) -> None:
    sys.stderr.write(scrub(str(message)))
    sys.stderr.flush()


def _json_sink(message) -> None:
    record = message.record
    text = str(message).rstrip("\n")
    line = {
        "time": record["time"].astimezone(timezone.utc).isoformat(timespec="milliseconds"),
        "level": record["level"].name,
        "logger": record["name"],
        "message": scrub(record["message"]),
    }
    if record["extra"]:
        line["extra"] = json.loads(scrub(json.dumps(record["extra"], default=str, ensure_ascii=False)))
    if record["exception"] is not None:
        line["exception"] = scrub(text[len(record["message"]):].strip() if text.startswith(record["message"])
                                  else text)
    sys.stderr.write(json.dumps(line, ensure_ascii=False) + "\n")
    sys.stderr.flush()


# APScheduler's word for "the previous run of a periodic job is still busy, this one is skipped" (the warm
# pages' upkeep on a slow machine): expected, and nothing a person can act on, so a debug line, not a warning.
ROUTINE_SCHEDULER_NOTES = ("maximum number of running instances reached", "was missed by")


class _ToLoguru(logging.Handler):
    """Standard-library records into loguru (loguru's documented recipe), so they are scrubbed and formatted alike."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        if record.name.startswith("apscheduler") and any(n in record.getMessage() for n in ROUTINE_SCHEDULER_NOTES):
            level = "DEBUG"
        logger.opt(depth=6, exception=record.exc_info).log(level, record.getMessage())


def setup_logging(level: str = "INFO", fmt: str = "human") -> None:
    """One sink on stderr: ``human`` lines or ``json`` lines (one object per line)."""
    logger.remove()
    sink = _json_sink if fmt == "json" else _human_sink
    logger.add(sink, level=level.upper(), format="{message}" if fmt == "json" else HUMAN_FORMAT,
               backtrace=False, diagnose=False, colorize=False)
    logging.basicConfig(handlers=[_ToLoguru()], level=logging.WARNING, force=True)
