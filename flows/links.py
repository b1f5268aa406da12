"""The activation and manage links the city sends (``#/appointment[/confirm]/<b64>``)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

LINK_RE = re.compile(r"#/appointment/(?:confirm/)?([A-Za-z0-9+/=_-]+)$")


class BadLink(ValueError):
    pass


class LinkPayload(BaseModel):
    """What the link's code carries: the process and its key (the site's ids are 32-bit)."""

    model_config = ConfigDict(extra="ignore")
    id: int = Field(ge=1, le=2**31 - 1)
    authKey: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._~-]+$")  # noqa: N815 - the site's name


def parse_link(link: str, site_url: str | None = None) -> tuple[int, str]:
    """(processId, authKey) of an activation or manage link; with ``site_url``, only a link of that site
    (same scheme, host and port) is accepted: a link elsewhere is never opened."""
    if len(link) > 2000:
        raise BadLink("the link is too long to be one of the site's links")
    match = LINK_RE.search(link.strip())
    if not match:
        raise BadLink("not an activation or manage link (expected …#/appointment/confirm/<code>)")
    if site_url is not None:
        given, own = urlsplit(link.strip()), urlsplit(site_url)
        if (given.scheme, given.netloc) != (own.scheme, own.netloc):
            raise BadLink(f"the link points to {given.scheme}://{given.netloc}, not to the booking site "
                          f"{own.scheme}://{own.netloc} (MTA_BOOKING_URL)")
    code = match.group(1).replace("-", "+").replace("_", "/")
    try:
        payload = LinkPayload.model_validate_json(base64.b64decode(code + "=" * (-len(code) % 4)))
    except (binascii.Error, ValueError, ValidationError) as exc:
        raise BadLink("the link's code does not decode to an appointment") from exc
    return payload.id, payload.authKey


def manage_link(activation_link: str) -> str:
    return activation_link.replace("#/appointment/confirm/", "#/appointment/")


def activation_link(booking_url: str, process_id: int, auth_key: str) -> str:
    """The link the city e-mails: ``<page>#/appointment/confirm/<base64 of {"id","authKey"}>``."""
    payload = json.dumps({"id": process_id, "authKey": auth_key}, separators=(",", ":")).encode()
    return f"{booking_url.split('#', 1)[0]}#/appointment/confirm/{base64.b64encode(payload).decode()}"
