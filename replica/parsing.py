"""Small parsers for the API's request fields; each returns None when invalid."""

from __future__ import annotations

import re
from datetime import date

EMAIL_RE = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
PHONE_RE = re.compile(r"^\+?[0-9]\d{6,14}$")
INT32_MAX = 2**31 - 1


def positive_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        return None
    return number if 0 < number <= INT32_MAX else None


def int_list(value: object) -> list[int] | None:
    """A comma-joined string or a JSON list of positive ints."""
    if isinstance(value, str):
        parts: list[object] = [p for p in value.split(",")]
    elif isinstance(value, list):
        parts = value
    else:
        return None
    numbers = [positive_int(p) for p in parts]
    if not numbers or any(n is None for n in numbers):
        return None
    return [n for n in numbers if n is not None]


def iso_date(value: object) -> date | None:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def valid_email(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 254 and bool(EMAIL_RE.match(value))


def valid_phone(value: object) -> bool:
    return isinstance(value, str) and bool(PHONE_RE.match(value))
