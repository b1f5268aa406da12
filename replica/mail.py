"""The activation e-mail as a real RFC 5322 message, and its delivery to an SMTP or LMTP server.

Shape of the city's mail (``zmsentities/templates/messaging/mail_preconfirmed.twig``, subject from
``subjects.twig``, parts from ``Zmsentities\\Mail::toResolvedEntity``): subject "Aktivierungslink für Ihren
Termin"; an HTML part whose link "Termin bestätigen" points at ``<page>#/appointment/confirm/<base64 of
{"id","authKey"}>``; a plain-text twin converted from the HTML to Markdown (``Messaging::getPlainText``:
the link reads ``[Termin bestätigen](<url>)`` and every comma is escaped as ``\\,``). The city's template
has no cancel link in this mail (the manage link comes with the confirmation after activation), so the
replica sends none either. The wording below is the replica's own, in the city's style.

Delivery is off unless ``MTA_REPLICA_MAIL_URL`` names a server: ``lmtp://host:port`` (e.g. Dovecot's LMTP
listener, as the tests use it) or ``smtp://host:port``. It happens after the preconfirm answer was sent,
as the city's mail queue does; a failed delivery is recorded, never an API error.
"""

from __future__ import annotations

import smtplib
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html import escape
from urllib.parse import urlsplit

from .clock import BERLIN

SUBJECT = "Aktivierungslink für Ihren Termin"
WEEKDAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
          "November", "Dezember")


def long_german_date(timestamp: int) -> tuple[str, str]:
    """("Montag, 23. November 2026", "09:30") in Munich time (the template's EEEE, dd. MMMM y and H:i)."""
    when = datetime.fromtimestamp(timestamp, BERLIN)
    return f"{WEEKDAYS[when.weekday()]}, {when.day:02d}. {MONTHS[when.month - 1]} {when.year}", when.strftime("%H:%M")


def activation_texts(family_name: str, office_name: str, timestamp: int, link: str,
                     activation_minutes: int) -> tuple[str, str]:
    """(HTML, plain text) of the activation mail."""
    day, hour = long_german_date(timestamp)
    lapse = "einer Stunde" if activation_minutes == 60 else f"{activation_minutes} Minuten"
    html = (
        '<div style="color: #000000; background: #ffffff;">\n'
        '<div style="background: #eeeeee; border: 1px solid #aaaaaa; padding:10px;">\n'
        "Diese E-Mail wurde automatisch erstellt. Antworten auf diese Adresse werden nicht gelesen.\n"
        "</div><br />\n"
        f"Guten Tag {escape(family_name)},<br /><br />\n"
        "wir haben Ihre Terminanfrage erhalten.<br /><br />\n"
        f"Ihr Termin am {day} um {hour} Uhr ist erst verbindlich reserviert, wenn Sie ihn über diesen Link "
        "bestätigen:<br /><br />\n"
        f'<strong><a href="{escape(link)}" target="_blank">Termin bestätigen</a></strong><br /><br />\n'
        f"<strong>Ohne Bestätigung wird die Terminanfrage nach {lapse} gelöscht.</strong><br /><br />\n"
        "Nach der Aktivierung bekommen Sie eine Bestätigung mit der Terminnummer und allem, was Sie für Ihren "
        "Besuch brauchen.<br /><br />\n"
        f"Mit freundlichen Grüßen<br />\nIhr {escape(office_name)}\n<br /><br />\n"
        "</div>\n"
    )
    plain = (
        "Diese E-Mail wurde automatisch erstellt. Antworten auf diese Adresse werden nicht gelesen.\n\n"
        f"Guten Tag {family_name},\n\n"
        "wir haben Ihre Terminanfrage erhalten.\n\n"
        f"Ihr Termin am {day} um {hour} Uhr ist erst verbindlich reserviert, wenn Sie ihn über diesen Link "
        "bestätigen:\n\n"
        f"**[Termin bestätigen]({link})**\n\n"
        f"**Ohne Bestätigung wird die Terminanfrage nach {lapse} gelöscht.**\n\n"
        "Nach der Aktivierung bekommen Sie eine Bestätigung mit der Terminnummer und allem, was Sie für Ihren "
        "Besuch brauchen.\n\n"
        f"Mit freundlichen Grüßen\nIhr {office_name}\n"
    ).replace(",", "\\,")  # as the city's HTML-to-Markdown conversion writes commas
    return html, plain


def activation_message(sender: str, to: str, family_name: str, office_name: str, timestamp: int, link: str,
                       activation_minutes: int, sent_at: float) -> EmailMessage:
    html, plain = activation_texts(family_name, office_name, timestamp, link, activation_minutes)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = SUBJECT
    message["Date"] = format_datetime(datetime.fromtimestamp(sent_at, BERLIN))
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "replica.invalid")
    message.set_content(plain, cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    return message


def deliver(message: EmailMessage, mail_url: str, timeout: float = 15.0) -> None:
    """Hand the message to the server named by ``lmtp://host:port`` or ``smtp://host:port``."""
    target = urlsplit(mail_url)
    if target.scheme not in ("lmtp", "smtp") or not target.hostname or not target.port:
        raise ValueError("the mail URL must be lmtp://host:port or smtp://host:port")
    client_class = smtplib.LMTP if target.scheme == "lmtp" else smtplib.SMTP
    with client_class(target.hostname, target.port, timeout=timeout) as client:
        client.send_message(message)
