"""The bot's own words (its notices are in ``agent/notice_text.py``), German and English.

``t(lang, key, **values)``: values are escaped for Telegram's HTML here, so a
name or a service name can never break a message.
"""

from __future__ import annotations

import html

TEXTS: dict[str, dict[str, str]] = {
    "refused": {
        "de": "Entschuldigung, dieser Bot ist privat. Wer ihn betreibt, kann Ihren Chat freischalten "
              "(Ihre Chat-ID: {chat_id}).",
        "en": "Sorry, this bot is private. Whoever runs it can let your chat in (your chat id: {chat_id}).",
    },
    "consent": {
        "de": "👋 <b>Munich Termin Automator</b>\n\nIch beobachte die Terminseite der Stadt München für Sie und "
              "<b>buche in Ihrem Namen</b> einen passenden Termin, sobald einer frei wird. Dafür speichere ich: "
              "Vor- und Nachname, E-Mail, optional Telefon (die Seite verlangt sie für die Buchung), Ihre Suchen, "
              "die Buchungsversuche und diese Chat-ID. Aufzeichnungen fehlgeschlagener Versuche werden nach "
              "{retention} Tagen gelöscht. Mit /forget lösche ich jederzeit alles über Sie.\n\nEinverstanden?",
        "en": "👋 <b>Munich Termin Automator</b>\n\nI watch the City of Munich's appointment site for you and "
              "<b>book on your behalf</b> the moment a matching slot appears. For that I store: first and last "
              "name, e-mail, optionally a phone number (the site needs them to book), your watches, the booking "
              "attempts and this chat's id. Recordings of failed attempts are deleted after {retention} days. "
              "/forget deletes everything about you at any time.\n\nDo you agree?",
    },
    "agree": {"de": "Einverstanden", "en": "I agree"},
    "decline": {"de": "Nein", "en": "No"},
    "declined": {"de": "In Ordnung, ich habe nichts gespeichert.", "en": "All right, nothing was stored."},
    "ask_first_name": {"de": "Ihr <b>Vorname</b> (wie im Ausweis)?", "en": "Your <b>first name</b> (as on your ID)?"},
    "ask_last_name": {"de": "Ihr <b>Nachname</b>?", "en": "Your <b>last name</b>?"},
    "ask_email": {"de": "Ihre <b>E-Mail-Adresse</b>? Die Stadt schickt dorthin den Aktivierungslink.",
                  "en": "Your <b>e-mail address</b>? The city sends the activation link there."},
    "ask_phone": {"de": "Ihre <b>Telefonnummer</b> (optional, z. B. +4989123456)?",
                  "en": "Your <b>phone number</b> (optional, e.g. +4989123456)?"},
    "skip": {"de": "Überspringen", "en": "Skip"},
    "invalid": {"de": "⚠️ {problem}. Bitte noch einmal:", "en": "⚠️ {problem}. Please try again:"},
    "onboarded": {
        "de": "✅ Gespeichert. Mit /watch legen Sie eine Suche an, /me zeigt Ihre Angaben.",
        "en": "✅ Saved. /watch sets up a search, /me shows your details.",
    },
    "email_taken": {
        "de": "Diese E-Mail-Adresse gehört schon zu jemandem, für den der Agent bucht. Bitte /start mit Ihrer "
              "eigenen Adresse, oder fragen Sie den Admin.",
        "en": "That e-mail address already belongs to someone the agent books for. Please /start with your own "
              "address, or ask the admin.",
    },
    "me": {
        "de": "<b>Ihre Angaben</b>\nName: {first} {last}\nE-Mail: {email}\nTelefon: {phone}\nSprache: Deutsch\n"
              "Suchen: {watches}",
        "en": "<b>Your details</b>\nName: {first} {last}\nE-mail: {email}\nPhone: {phone}\nLanguage: English\n"
              "Watches: {watches}",
    },
    "not_onboarded": {"de": "Bitte zuerst /start.", "en": "Please /start first."},
    "forget_confirm": {
        "de": "Alles über Sie löschen: Angaben, Suchen, Buchungsversuche und deren Aufzeichnungen? Eine bestehende "
              "Reservierung bei der Stadt bleibt bestehen.",
        "en": "Delete everything about you: details, watches, booking attempts and their recordings? A reservation "
              "you hold with the city stays.",
    },
    "forget_yes": {"de": "Ja, löschen", "en": "Yes, delete"},
    "forget_no": {"de": "Abbrechen", "en": "Cancel"},
    "forgotten": {"de": "🗑 Gelöscht: {watches} Suche(n), {attempts} Versuch(e), {traces} Aufzeichnung(en).",
                  "en": "🗑 Deleted: {watches} watch(es), {attempts} attempt(s), {traces} recording(s)."},
    "forget_busy": {"de": "Gerade läuft noch ein Buchungsversuch für Sie; bitte gleich noch einmal.",
                    "en": "A booking attempt for you is still running; please try again shortly."},
    "cancelled": {"de": "Abgebrochen.", "en": "Cancelled."},
    "timeout": {"de": "⌛ Die Eingabe ist abgelaufen; fangen Sie einfach neu an.",
                "en": "⌛ That conversation timed out; just start again."},
    "language_set": {"de": "Sprache: Deutsch", "en": "Language: English"},
    "quiet_own": {"de": "🌙 Ruhezeit: {window} (Münchner Zeit)", "en": "🌙 Quiet hours: {window} (Munich time)"},
    "quiet_default": {"de": "🌙 Ruhezeit: {window} (Münchner Zeit, Voreinstellung)",
                      "en": "🌙 Quiet hours: {window} (Munich time, the default)"},
    "quiet_none": {"de": "🔔 Keine Ruhezeit: Hinweise kommen sofort.",
                   "en": "🔔 No quiet hours: notices come at once."},
    "quiet_usage": {
        "de": "In der Ruhezeit warten gefundene Termine, Störungen und die Tageszusammenfassung bis zum Morgen; "
              "eine Reservierung und ihre Frist kommen immer sofort.\n/quiet 23:00-07:00 – festlegen\n"
              "/quiet aus – keine Ruhezeit\n/quiet standard – Voreinstellung",
        "en": "During quiet hours, found slots, trouble and the daily digest wait for the morning; a reservation "
              "and its deadline always come at once.\n/quiet 23:00-07:00 – set\n/quiet off – none\n"
              "/quiet default – the default",
    },
    "help": {
        "de": "<b>Befehle</b>\n/watch – neue Suche\n/watches – Ihre Suchen (pausieren, fortsetzen, löschen)\n"
              "/status – was der Agent gerade tut\n/history – letzte Versuche\n/patterns – wann Termine "
              "erscheinen\n/me – Ihre Angaben\n/language – Sprache wechseln\n/quiet – Ruhezeit\n"
              "/forget – alles löschen\n"
              "Einen Aktivierungslink aus der E-Mail der Stadt können Sie einfach hier einfügen.",
        "en": "<b>Commands</b>\n/watch – new watch\n/watches – your watches (pause, resume, delete)\n"
              "/status – what the agent is doing\n/history – recent attempts\n/patterns – when slots appear\n"
              "/me – your details\n/language – switch language\n/quiet – quiet hours\n"
              "/forget – delete everything\n"
              "Paste an activation link from the city's e-mail here and I activate it.",
    },
    "admin_help": {
        "de": "\n<b>Admin</b>\n/allow &lt;chat-id&gt;, /deny &lt;chat-id&gt;, /trace &lt;Versuch&gt;",
        "en": "\n<b>Admin</b>\n/allow &lt;chat id&gt;, /deny &lt;chat id&gt;, /trace &lt;attempt&gt;",
    },
    "unknown": {"de": "Das verstehe ich nicht.", "en": "I don't understand that."},
    "admin_only": {"de": "Nur für den Admin.", "en": "Admin only."},
    "allow_usage": {"de": "So: /{command} &lt;chat-id&gt; (eine Zahl)", "en": "Usage: /{command} &lt;chat id&gt; (a number)"},
    "allowed": {"de": "Chat {chat_id} ist freigeschaltet.", "en": "Chat {chat_id} may use the bot now."},
    "denied": {"de": "Chat {chat_id} ist gesperrt.", "en": "Chat {chat_id} is shut out now."},
    "deny_self": {"de": "Den Admin-Chat kann man nicht sperren.", "en": "The admin chat cannot be shut out."},
    # /watch
    "ask_service": {"de": "Welche Leistung? Schreiben Sie einen Teil des Namens (z. B. „Reisepass“).",
                    "en": "Which service? Type part of its name (e.g. \"Reisepass\")."},
    "no_service": {"de": "Keine Leistung passt zu „{query}“. Anders versuchen:",
                   "en": "No service matches \"{query}\". Try another word:"},
    "pick_service": {"de": "Bitte wählen:", "en": "Please pick one:"},
    "catalogue_unavailable": {
        "de": "Die Seite der Stadt liefert gerade keine Leistungsliste ({reason}). Bitte später noch einmal /watch.",
        "en": "The city's site does not give its list of services right now ({reason}). Please /watch again later.",
    },
    "ask_count": {"de": "Für wie viele Personen (höchstens {max})?", "en": "For how many people (at most {max})?"},
    "ask_offices": {"de": "Welche Standorte? Tippen zum Auswählen, dann „Fertig“.",
                    "en": "Which offices? Tap to select, then \"Done\"."},
    "any_office": {"de": "Egal welcher", "en": "Any office"},
    "done": {"de": "Fertig", "en": "Done"},
    "ask_dates": {"de": "Zeitraum? Oder schreiben Sie „TT.MM.JJJJ-TT.MM.JJJJ“.",
                  "en": "Which dates? Or type \"DD.MM.YYYY-DD.MM.YYYY\"."},
    "weeks": {"de": "{n} Wochen", "en": "{n} weeks"},
    "months": {"de": "{n} Monate", "en": "{n} months"},
    "bad_dates": {"de": "⚠️ {problem}. Format: 01.12.2026-31.01.2027", "en": "⚠️ {problem}. Format: 01.12.2026-31.01.2027"},
    "ask_weekdays": {"de": "Welche Wochentage? Tippen zum Umschalten, dann „Fertig“.",
                     "en": "Which weekdays? Tap to toggle, then \"Done\"."},
    "no_weekday": {"de": "Mindestens einen Tag wählen.", "en": "Pick at least one day."},
    "ask_time": {"de": "Welche Uhrzeit? Oder schreiben Sie „HH:MM-HH:MM“.", "en": "What time of day? Or type \"HH:MM-HH:MM\"."},
    "any_time": {"de": "Ganztägig", "en": "Any time"},
    "morning": {"de": "Vormittag (bis 12)", "en": "Morning (until 12)"},
    "afternoon": {"de": "Nachmittag (ab 12)", "en": "Afternoon (from 12)"},
    "bad_time": {"de": "⚠️ {problem}. Format: 08:00-12:30", "en": "⚠️ {problem}. Format: 08:00-12:30"},
    "ask_mode": {"de": "Soll ich automatisch buchen oder nur Bescheid geben?",
                 "en": "Shall I book automatically, or only tell you?"},
    "mode_auto": {"de": "Automatisch buchen", "en": "Book automatically"},
    "mode_notify": {"de": "Nur Bescheid geben", "en": "Only tell me"},
    "watch_summary": {
        "de": "<b>Neue Suche</b>\n{service} ×{count}\nStandorte: {offices}\nZeitraum: {dates}\nTage: {weekdays}\n"
              "Uhrzeit: {times}\nModus: {mode}",
        "en": "<b>New watch</b>\n{service} ×{count}\nOffices: {offices}\nDates: {dates}\nDays: {weekdays}\n"
              "Time: {times}\nMode: {mode}",
    },
    "save": {"de": "Speichern", "en": "Save"},
    "watch_saved": {"de": "✅ Suche {watch_id} gespeichert. Ich melde mich, sobald etwas frei wird.",
                    "en": "✅ Watch {watch_id} saved. I'll tell you as soon as something opens up."},
    "watch_limit": {"de": "Sie haben schon {n} Suchen (höchstens {max}). Löschen Sie erst eine mit /watches.",
                    "en": "You already have {n} watches (at most {max}). Delete one first with /watches."},
    "watch_invalid": {"de": "⚠️ Diese Suche geht so nicht: {problem}", "en": "⚠️ That watch doesn't work: {problem}"},
    "stale_button": {"de": "Diese Auswahl ist nicht mehr aktiv.", "en": "That choice is no longer active."},
    # /watches
    "no_watches": {"de": "Keine Suchen. /watch legt eine an.", "en": "No watches. /watch sets one up."},
    "watch_line": {"de": "<b>{watch_id}</b> {service} ×{count} · {offices} · {dates} · {times} · {mode} · <i>{state}</i>",
                   "en": "<b>{watch_id}</b> {service} ×{count} · {offices} · {dates} · {times} · {mode} · <i>{state}</i>"},
    "pause": {"de": "⏸ {watch_id}", "en": "⏸ {watch_id}"},
    "resume": {"de": "▶️ {watch_id}", "en": "▶️ {watch_id}"},
    "delete": {"de": "🗑 {watch_id}", "en": "🗑 {watch_id}"},
    "watch_done": {"de": "Suche {watch_id}: {action}.", "en": "Watch {watch_id}: {action}."},
    "not_yours": {"de": "Diese Suche gibt es nicht (mehr).", "en": "That watch does not exist (any more)."},
    # status, history, patterns, trace
    "status_head": {"de": "<b>Status</b> (Münchner Zeit)", "en": "<b>Status</b> (Munich time)"},
    "status_line": {
        "de": "<b>{watch_id}</b> {label}: {state}; letzte erfolgreiche Prüfung {last}, nächste {next}",
        "en": "<b>{watch_id}</b> {label}: {state}; last successful check {last}, next {next}",
    },
    "status_not_running": {"de": "Der Agent läuft gerade nicht (mta run).", "en": "The agent is not running (mta run)."},
    "budget_line": {"de": "Budget: {used}/{limit} Anfragen im Fenster; Zähler der Seite {site}/{site_limit}{circuit}",
                    "en": "Budget: {used}/{limit} requests in the window; the site's counter {site}/{site_limit}{circuit}"},
    "never": {"de": "noch keine", "en": "none yet"},
    "no_history": {"de": "Noch keine Buchungsversuche.", "en": "No booking attempts yet."},
    "history_head": {"de": "<b>Letzte Versuche</b>", "en": "<b>Recent attempts</b>"},
    "no_patterns": {"de": "Noch zu wenige Beobachtungen für ein Bild.", "en": "Too few observations for a picture yet."},
    "patterns_caption": {"de": "Wann Termine erschienen ({n} Beobachtungen); umrandet: dichter geprüft.",
                         "en": "When slots appeared ({n} observations); outlined: polled densely."},
    "trace_usage": {"de": "So: /trace &lt;Versuch&gt;", "en": "Usage: /trace &lt;attempt&gt;"},
    "no_trace": {"de": "Versuch {attempt} hat keine Aufzeichnung.", "en": "Attempt {attempt} kept no trace."},
    "trace_caption": {"de": "Aufzeichnung von Versuch {attempt}: npx playwright show-trace oder mta trace {attempt}",
                      "en": "Trace of attempt {attempt}: open with mta trace {attempt} or the Playwright trace viewer"},
    # activation in the chat
    "activating": {"de": "Ich aktiviere Versuch {attempt} …", "en": "Activating attempt {attempt} …"},
    "link_unknown": {"de": "Dieser Link gehört zu keiner Reservierung, die ich für Sie halte.",
                     "en": "That link belongs to no reservation I hold for you."},
    "link_bad": {"de": "⚠️ Das ist kein gültiger Aktivierungslink: {problem}", "en": "⚠️ That is not a valid activation link: {problem}"},
    "activation_failed": {"de": "Noch nicht aktiviert: {reason}. Öffnen Sie den Link sonst selbst.",
                          "en": "Not activated yet: {reason}. Otherwise open the link yourself."},
    "checking": {"de": "Ich frage die Seite nach Versuch {attempt} …", "en": "Asking the site about attempt {attempt} …"},
    "still_waiting": {"de": "Die Seite meldet Versuch {attempt} als „{status}“: noch nicht aktiviert. Öffnen Sie den "
                      "Link aus der E-Mail (oder fügen Sie ihn hier ein).",
                      "en": "The site reports attempt {attempt} as \"{status}\": not activated yet. Open the link in "
                      "the e-mail (or paste it here)."},
    "appointment_gone": {"de": "Die Seite kennt Versuch {attempt} nicht mehr ({status}): abgelaufen oder abgesagt.",
                         "en": "The site no longer has attempt {attempt} ({status}): lapsed or cancelled."},
}

WEEKDAY_NAMES = {"de": ["Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"], "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]}


def t(lang: str, key: str, **values: object) -> str:
    template = TEXTS[key]["de" if lang == "de" else "en"]
    return template.format(**{k: html.escape(str(v), quote=False) for k, v in values.items()})
