"""Reading an e-mail for the city's activation link (standard ``email`` package; no network, no database).

The city's activation mail (``zmsentities/templates/messaging/mail_preconfirmed.twig``) is HTML with a
plain-text twin made from it (``Messaging::getPlainText``: Markdown, so the link reads
``[Termin bestätigen](<url>)``). Both parts are read; a link counts only when it points at the configured
booking page (same scheme, host, port and path) with the fragment ``/appointment/confirm/<code>`` and its
code decodes to ``{id, authKey}``. The link the agent opens is rebuilt from the configured booking URL and
that code: nothing else from the mail is ever followed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parseaddr
from html.parser import HTMLParser
from urllib.parse import SplitResult, urlsplit

from flows.links import BadLink, parse_link

CONFIRM_FRAGMENT = re.compile(r"^/appointment/confirm/([A-Za-z0-9+/=_-]+)$")
# A URL in plain text ends at whitespace, quotes, angle brackets or a Markdown link's closing parenthesis.
TEXT_URL = re.compile(r"https?://[^\s<>\"')\]]+")


@dataclass(frozen=True)
class ActivationLink:
    process_id: int
    auth_key: str = field(repr=False)
    link: str = field(repr=False)  # rebuilt on the configured booking URL


@dataclass(frozen=True)
class MailReading:
    sender: str  # the From address, lower case
    subject: str
    links: tuple[ActivationLink, ...]  # activation links of the configured site, decoded
    foreign: int  # activation-looking links elsewhere (another host, port or path) or undecodable: ignored

    @property
    def has_activation_link(self) -> bool:
        return bool(self.links) or self.foreign > 0


class _Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.extend(value for name, value in attrs if name == "href" and value)


def parse_message(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def candidate_urls(message: EmailMessage) -> list[str]:
    """Every http(s) URL of the message's text and HTML parts (attachments aside), in order, once."""
    urls: list[str] = []
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        kind = part.get_content_type()
        if kind not in ("text/plain", "text/html"):
            continue
        try:
            text = part.get_content()
        except (LookupError, ValueError):  # an unknown charset or a broken encoding: skip the part
            continue
        if kind == "text/html":
            parser = _Hrefs()
            parser.feed(text)
            urls.extend(parser.hrefs)
        urls.extend(TEXT_URL.findall(text))
    return list(dict.fromkeys(url.strip() for url in urls))


def _origin_and_path(url: SplitResult) -> tuple[str, str | None, int | None, str]:
    port = url.port or {"https": 443, "http": 80}.get(url.scheme)
    return url.scheme.lower(), (url.hostname or "").lower() or None, port, url.path or "/"


def read_activation_mail(message: EmailMessage, booking_url: str) -> MailReading:
    site = urlsplit(booking_url)
    links: dict[int, ActivationLink] = {}
    foreign = 0
    for url in candidate_urls(message):
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a malformed port
        except ValueError:
            continue
        match = CONFIRM_FRAGMENT.match(parts.fragment)
        if match is None:
            continue  # not an activation link (a manage link, the city's home page, anything else)
        if _origin_and_path(parts) != _origin_and_path(site):
            foreign += 1
            continue
        canonical = site._replace(fragment=f"/appointment/confirm/{match.group(1)}").geturl()
        try:
            process_id, auth_key = parse_link(canonical)
        except BadLink:
            foreign += 1
            continue
        links.setdefault(process_id, ActivationLink(process_id, auth_key, canonical))
    sender = parseaddr(str(message.get("From", "")))[1].lower()
    return MailReading(sender, str(message.get("Subject", "")), tuple(links.values()), foreign)
