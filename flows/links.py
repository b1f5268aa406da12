"""The activation and manage links the city sends (``#/appointment[/confirm]/<b64>``)."""

from __future__ import annotations

import base64
import binascii
import json
import re

LINK_RE = re.compile(r"#/appointment/(?:confirm/)?([A-Za-z0-9+/=_-]+)$")


class BadLink(ValueError):
    pass


def parse_link(link: str) -> tuple[int, str]:
    """(processId, authKey) of an activation or manage link."""
    match = LINK_RE.search(link.strip())
    if not match:
        raise BadLink("not an activation or manage link (expected …#/appointment/confirm/<code>)")
    code = match.group(1).replace("-", "+").replace("_", "/")
    try:
        data = json.loads(base64.b64decode(code + "=" * (-len(code) % 4)))
        return int(data["id"]), str(data["authKey"])
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise BadLink("the link's code does not decode to an appointment") from exc


def manage_link(activation_link: str) -> str:
    return activation_link.replace("#/appointment/confirm/", "#/appointment/")


def activation_link(booking_url: str, process_id: int, auth_key: str) -> str:
    """The link the city e-mails: ``<page>#/appointment/confirm/<base64 of {"id","authKey"}>``."""
    payload = json.dumps({"id": process_id, "authKey": auth_key}, separators=(",", ":")).encode()
    return f"{booking_url.split('#', 1)[0]}#/appointment/confirm/{base64.b64encode(payload).decode()}"
