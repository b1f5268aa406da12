"""Logging through loguru, with personal data scrubbed from every message.

Names, e-mail addresses, phone numbers and tokens must never reach a log
(brief: "personal data is sensitive"); the filter masks the shapes we know
before any sink sees them.
"""

from __future__ import annotations

import re
import sys

from loguru import logger

_PATTERNS = [
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "<email>"),
    (re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]+"), "<token>"),  # JWTs
    (re.compile(r"(authKey|captchaToken|token)([\"']?\s*[:=]\s*[\"']?)[\w.-]+", re.I), r"\1\2<secret>"),
    (re.compile(r"\+?\d[\d \-/]{6,}\d"), "<phone>"),
]


def scrub(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _patch(record: dict) -> None:
    record["message"] = scrub(record["message"])


def setup_logging(level: str = "INFO") -> None:
    logger.remove()
    logger.configure(patcher=_patch)
    logger.add(sys.stderr, level=level.upper(), format="{time:HH:mm:ss} {level: <7} {name}: {message}")
