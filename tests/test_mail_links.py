"""Reading the activation link out of e-mail (standard ``email`` package): the replica's real message, the city's
plain-text quirks, look-alikes. No servers: the mailbox tests (test_mailbox.py) run the same code over IMAP."""

from __future__ import annotations

from email.message import EmailMessage

from agent.mail_links import parse_message, read_activation_mail
from flows.links import activation_link
from replica.mail import SUBJECT, activation_message

SITE = "http://127.0.0.1:8765/buergerservice/terminvereinbarung.html"
KEY = "9f8e7d6c"


def city_mail(link: str, family_name: str = "Jörg Müßig-Öztürk") -> bytes:
    return activation_message("Terminvereinbarung <noreply@replica.invalid>", "erika@example.org", family_name,
                              "Bürgerbüro Orleansplatz", 1795420800, link, 60, 1795400000.0).as_bytes()


def html_mail(body: str, subject: str = "Aktivierungslink für Ihren Termin") -> bytes:
    message = EmailMessage()
    message["From"] = "noreply@replica.invalid"
    message["To"] = "erika@example.org"
    message["Subject"] = subject
    message.set_content(body, subtype="html", cte="base64")
    return message.as_bytes()


def test_the_replicas_activation_mail_yields_its_link_from_both_parts() -> None:
    link = activation_link(SITE, 100001, KEY)
    raw = city_mail(link)
    assert b"quoted-printable" in raw.lower() and b"=C3=BC" in raw  # umlauts travel quoted-printable
    message = parse_message(raw)
    reading = read_activation_mail(message, SITE)
    assert reading.subject == SUBJECT == "Aktivierungslink für Ihren Termin"
    assert [(a.process_id, a.auth_key, a.link) for a in reading.links] == [(100001, KEY, link)]
    assert reading.foreign == 0 and reading.sender == "noreply@replica.invalid"
    plain = message.get_body(("plain",)).get_content()
    assert "Jörg Müßig-Öztürk" in plain and "\\," in plain  # the city's Markdown twin escapes commas
    assert f"[Termin bestätigen]({link})" in plain
    html_only = html_mail(message.get_body(("html",)).get_content())
    assert [a.process_id for a in read_activation_mail(parse_message(html_only), SITE).links] == [100001]


def test_links_elsewhere_are_counted_but_never_taken() -> None:
    code_link = activation_link(SITE, 100001, KEY)
    fragment = code_link.split("#", 1)[1]
    look_alikes = [
        f"http://127.0.0.1.evil.example/buergerservice/terminvereinbarung.html#{fragment}",  # another host
        f"http://127.0.0.1:9999/buergerservice/terminvereinbarung.html#{fragment}",  # another process (port)
        f"https://127.0.0.1:8765/buergerservice/terminvereinbarung.html#{fragment}",  # another scheme
        f"http://127.0.0.1:8765/phishing.html#{fragment}",  # another page
        f"{SITE}#/appointment/confirm/bm90LWpzb24",  # the right page, a code that is no appointment
    ]
    body = "".join(f'<a href="{url}">Termin bestätigen</a><br>' for url in look_alikes)
    reading = read_activation_mail(parse_message(html_mail(body)), SITE)
    assert reading.links == () and reading.foreign == len(look_alikes)


def test_manage_links_and_ordinary_mail_are_not_activation_links() -> None:
    manage = activation_link(SITE, 100001, KEY).replace("#/appointment/confirm/", "#/appointment/")
    reading = read_activation_mail(parse_message(html_mail(f'<a href="{manage}">Termin absagen</a> {SITE}')), SITE)
    assert reading.links == () and reading.foreign == 0 and not reading.has_activation_link


def test_the_link_taken_is_rebuilt_on_the_configured_page() -> None:
    """Upper-case host and an explicit default port still mean the configured page; the link the agent
    opens is the configured URL plus the code, never the mail's spelling of it."""
    site = "https://stadt.muenchen.de/buergerservice/terminvereinbarung.html"
    spelled = activation_link("https://STADT.muenchen.de:443/buergerservice/terminvereinbarung.html", 7, KEY)
    [taken] = read_activation_mail(parse_message(html_mail(f'<a href="{spelled}">x</a>')), site).links
    assert taken.link == activation_link(site, 7, KEY) and taken.process_id == 7
