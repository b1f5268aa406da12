"""How each kind of notice reads, in German and English: one formatter per kind of facts.

A formatter writes Telegram's HTML subset (``<b>``, ``<i>``, escaped values);
the console gets the same text with the tags taken out. Times are Munich time,
as the city's site shows them. Links go in the text, not in buttons: Telegram
refuses buttons with some URLs (a local replica's), and a person may want to
copy the link to another device anyway.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime

from flows.timezone import BERLIN

from .notices import (ActivationDue, ActivationFailed, Confirmed, Digest, Failed, Handoff, Notice, Reserved,
                      SlotFound, Stopped, Trouble)
from .states import NoticeKind

LANGUAGES = ("de", "en")
_WEEKDAYS = {"de": ["Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"], "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]}


@dataclass(frozen=True)
class Rendered:
    html: str
    buttons: list[list[tuple[str, str]]] = field(default_factory=list)  # rows of (label, callback data)

    @property
    def plain(self) -> str:
        return html.unescape(re.sub(r"</?[a-z]+>", "", self.html))


def language_of(code: str | None) -> str:
    """German for German-speaking clients, English otherwise (the person can switch with /language)."""
    return "de" if (code or "").lower().startswith("de") else "en"


def when(unix: float, lang: str) -> str:
    """A moment in Munich time: ``Mo 07.12.2026 09:30`` / ``Mon 07.12.2026 09:30``."""
    moment = datetime.fromtimestamp(unix, BERLIN)
    return f"{_WEEKDAYS[lang][moment.weekday()]} {moment:%d.%m.%Y %H:%M}"


def clock(unix: float) -> str:
    return datetime.fromtimestamp(unix, BERLIN).strftime("%H:%M")


def e(value: object) -> str:
    return html.escape(str(value), quote=False)


def _link(notice: Notice) -> str:
    return f"\n{e(notice.link)}" if notice.link else ""


def _found(n: Notice, f: SlotFound, lang: str) -> Rendered:
    listed = "\n".join(f"• {when(ts, lang)}, {e(office)}" for ts, office in f.slots)
    if lang == "de":
        head = f"🔎 <b>Termin gefunden</b> (Suche {f.watch_id}, {e(f.service)}): {f.total} passende(r) Termin(e)"
        tail = "Buchen Sie auf der Seite der Stadt (diese Suche bucht nicht selbst):"
    else:
        head = f"🔎 <b>Slot found</b> (watch {f.watch_id}, {e(f.service)}): {f.total} matching slot(s)"
        tail = "Book it on the city's site (this watch only tells, it does not book):"
    return Rendered(f"{head}\n{listed}\n{tail}{_link(n)}")


def _reserved(n: Notice, f: Reserved, lang: str) -> Rendered:
    if lang == "de":
        text = f"✅ <b>Reserviert</b>: {when(f.slot_ts, lang)}, {e(f.office)} (Versuch {f.attempt_id})."
        text += ("\nDie Stadt schickt Ihnen eine E-Mail mit einem Aktivierungslink. Öffnen Sie ihn"
                 + (f" bis {clock(f.deadline)} Uhr" if f.deadline else "") + ", sonst verfällt die Reservierung. "
                 "Oder fügen Sie den Link hier ein, dann aktiviere ich ihn.")
        if f.paused:
            text += f"\nIhre anderen Suchen für diese Leistung pausieren: {', '.join(map(str, f.paused))}."
        return Rendered(text, [[("Ich habe aktiviert", f"act:{f.attempt_id}")]])
    text = f"✅ <b>Reserved</b>: {when(f.slot_ts, lang)} at {e(f.office)} (attempt {f.attempt_id})."
    text += ("\nThe city e-mails you an activation link. Open it"
             + (f" by {clock(f.deadline)} (Munich time)" if f.deadline else "") + " or the reservation lapses. "
             "Or paste the link here and I activate it.")
    if f.paused:
        text += f"\nPaused your other watches for this service: {', '.join(map(str, f.paused))}."
    return Rendered(text, [[("I activated it", f"act:{f.attempt_id}")]])


def _confirmed(n: Notice, f: Confirmed, lang: str) -> Rendered:
    file = n.attachment is not None
    if lang == "de":
        return Rendered(f"🎉 <b>Bestätigt</b>: {when(f.slot_ts, lang)}, {e(f.office)} (Versuch {f.attempt_id})."
                        + (" Die Kalenderdatei hängt an." if file else ""))
    return Rendered(f"🎉 <b>Confirmed</b>: booked {when(f.slot_ts, lang)} at {e(f.office)} (attempt {f.attempt_id})."
                    + (" The calendar file is attached." if file else ""))


def _handoff(n: Notice, f: Handoff, lang: str) -> Rendered:
    if lang == "de":
        return Rendered(f"✋ <b>Ihr Schritt</b> ({e(f.label)}): Das Captcha der Seite lässt automatisierte Browser "
                        f"nicht zu ({e(f.reason)}). Öffnen Sie den Link auf Ihrem eigenen Gerät und buchen Sie dort; "
                        f"ich suche weiter.{_link(n)}")
    return Rendered(f"✋ <b>Your turn</b> ({e(f.label)}): the site's captcha refuses automated browsers "
                    f"({e(f.reason)}). Open the link on your own device to finish there; I keep watching.{_link(n)}")


_TROUBLE = {
    NoticeKind.RATE_LIMITED: {
        "de": ("⏸ <b>Pause: Anfragelimit</b>", "Die Seite bittet uns, langsamer zu werden. Ich warte"),
        "en": ("⏸ <b>Paused: rate limited</b>", "The site asked us to slow down. I wait"),
    },
    NoticeKind.MAINTENANCE: {
        "de": ("🛠 <b>Wartung</b>", "Die Seite ist in Wartung. Ich versuche es wieder"),
        "en": ("🛠 <b>Maintenance</b>", "The site is in maintenance. I try again"),
    },
    NoticeKind.SITE_CHANGED: {
        "de": ("⚠️ <b>Die Seite hat sich geändert</b>", "Die Buchungsseite sieht anders aus, als der Agent sie "
               "kennt; der Admin ist informiert. Ich suche weiter, Buchungen können bis zu einem Update scheitern"),
        "en": ("⚠️ <b>The site changed</b>", "The booking page no longer looks the way the agent knows it; the "
               "admin has been told. I keep watching, but bookings may fail until the agent is updated"),
    },
    NoticeKind.SITE_ERROR: {
        "de": ("⚠️ <b>Störung der Seite</b>", "Die Seite antwortet nicht wie erwartet. Ich versuche es wieder"),
        "en": ("⚠️ <b>The site is having trouble</b>", "The site did not answer as expected. I try again"),
    },
}


def _trouble(n: Notice, f: Trouble, lang: str) -> Rendered:
    head, body = _TROUBLE.get(n.kind, _TROUBLE[NoticeKind.SITE_ERROR])[lang]
    if n.kind is NoticeKind.SITE_CHANGED:
        pass  # no retry time: it waits for a change of the agent
    elif f.until:
        body += f" bis {clock(f.until)} Uhr" if lang == "de" else f" until {clock(f.until)} (Munich time)"
    else:
        body += " bei der nächsten Prüfung" if lang == "de" else " at the next check"
    honest = ("Das heißt nicht „keine Termine“." if lang == "de" else "This is not 'no slots'.")
    detail = f"\n<i>{e(f.detail)}</i>" if f.detail else ""
    return Rendered(f"{head} ({e(f.label)})\n{body}. {honest}{detail}")


def _failed(n: Notice, f: Failed, lang: str) -> Rendered:
    which = (f"Versuch {f.attempt_id}" if lang == "de" else f"attempt {f.attempt_id}") if f.attempt_id else ""
    if lang == "de":
        return Rendered(f"❌ <b>Nicht gebucht</b> {which}: {e(f.outcome)}: {e(f.reason)}. Ich suche weiter.")
    return Rendered(f"❌ <b>Not booked</b> {which}: {e(f.outcome)}: {e(f.reason)}. I keep watching.")


def _stopped(n: Notice, f: Stopped, lang: str) -> Rendered:
    if lang == "de":
        return Rendered("⏹ Der Agent wurde während einer Buchung für Sie beendet; beim nächsten Start klärt er "
                        "sie mit der Seite.")
    return Rendered("⏹ The agent stopped during a booking attempt for you; it is settled with the site when the "
                    "agent starts again.")


def _due(n: Notice, f: ActivationDue, lang: str) -> Rendered:
    if lang == "de":
        return Rendered(f"⏰ <b>Bald aktivieren</b>: Versuch {f.attempt_id} bis {clock(f.deadline)} Uhr aktivieren, "
                        "sonst verfällt die Reservierung; die Aktivierungs-E-Mail hat den Agenten noch nicht "
                        f"erreicht. Öffnen Sie den Link aus der E-Mail der Stadt oder diesen:{_link(n)}",
                        [[("Ich habe aktiviert", f"act:{f.attempt_id}")]])
    return Rendered(f"⏰ <b>Activate soon</b>: attempt {f.attempt_id}: activate by {clock(f.deadline)} (Munich time) "
                    "or the reservation lapses; no activation e-mail has reached the agent yet. Open the link in "
                    f"the city's e-mail, or this one:{_link(n)}", [[("I activated it", f"act:{f.attempt_id}")]])


def _activation_failed(n: Notice, f: ActivationFailed, lang: str) -> Rendered:
    if f.lapsed and f.cancelled:
        return Rendered(f"🚫 Versuch {f.attempt_id}: Der Termin wurde abgesagt; es gibt nichts zu aktivieren."
                        if lang == "de" else
                        f"🚫 Attempt {f.attempt_id}: the appointment was cancelled; there is nothing to activate.")
    if f.lapsed:
        return Rendered(f"⌛ Versuch {f.attempt_id}: Der Aktivierungslink war abgelaufen; der Termin ist weg."
                        if lang == "de" else
                        f"⌛ Attempt {f.attempt_id}: the activation link had lapsed; the slot is gone.")
    if lang == "de":
        return Rendered(f"⚠️ Versuch {f.attempt_id}: noch nicht aktiviert ({e(f.reason)}); ich versuche es wieder. "
                        f"Sie können den Link auch selbst öffnen:{_link(n)}")
    return Rendered(f"⚠️ Attempt {f.attempt_id}: could not activate yet ({e(f.reason)}); trying again. You can "
                    f"also open the link yourself:{_link(n)}")


def _digest(n: Notice, f: Digest, lang: str) -> Rendered:
    lines = ["📋 <b>Tagesübersicht</b>" if lang == "de" else "📋 <b>Daily summary</b>"]
    for q in f.queries:
        last = when(q.last_ok, lang) if q.last_ok else ("noch keine" if lang == "de" else "none yet")
        if lang == "de":
            lines.append(f"• {e(q.label)}: {q.checks} Prüfungen, letzte erfolgreiche {last}, "
                         f"{q.slots_seen} Termine gesehen, Zustand {e(q.state)}")
        else:
            lines.append(f"• {e(q.label)}: {q.checks} checks, last successful {last}, {q.slots_seen} slots seen, "
                         f"state {e(q.state)}")
    if not f.queries:
        lines.append("Keine aktive Suche." if lang == "de" else "No active watch.")
    if f.bookings:
        lines.append(f"Reservierungen heute: {f.bookings}" if lang == "de" else f"Reservations today: {f.bookings}")
    return Rendered("\n".join(lines))


_FORMATTERS = {
    SlotFound: _found, Reserved: _reserved, Confirmed: _confirmed, Handoff: _handoff, Trouble: _trouble,
    Failed: _failed, Stopped: _stopped, ActivationDue: _due, ActivationFailed: _activation_failed, Digest: _digest,
}


def render(notice: Notice, lang: str = "en") -> Rendered:
    lang = lang if lang in LANGUAGES else "en"
    return _FORMATTERS[type(notice.facts)](notice, notice.facts, lang)
