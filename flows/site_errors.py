"""What the site's answers mean: the one place that reads error codes and statuses.

The city's API answers errors as ``{"errors": [{"errorCode", …, "statusCode"}]}``
(spec §3). Everyone who looks at an answer — the flow's pages, the poller, the
agent's own API reads — asks :func:`meaning` instead of testing codes itself,
so "rate limited" can never be mistaken for "no slots" anywhere.
"""

from __future__ import annotations

from enum import Enum


class SiteMeaning(str, Enum):
    def __str__(self) -> str:
        return str(self.value)

    OK = "ok"
    NO_SLOTS = "no_slots"  # noAppointmentForThisScope (info): the calendar is empty
    SLOT_GONE = "slot_gone"  # appointmentNotAvailable: someone else took it
    PROCESS_GONE = "process_gone"  # appointmentNotFound: lapsed, unknown, or cancelled long ago
    KEY_CHANGED = "key_changed"  # authKeyMismatch: cancelling changes an appointment's key (or a mistyped link)
    NOT_RESERVED = "not_reserved"  # processNotReservedAnymore
    NOT_PRECONFIRMED = "not_preconfirmed"  # processNotPreconfirmedAnymore (e.g. already confirmed)
    CAPTCHA_REFUSED = "captcha_refused"  # captchaMissing / captchaInvalid / captchaExpired
    RATE_LIMITED = "rate_limited"  # 429 / rateLimitExceeded
    MAINTENANCE = "maintenance"  # 503 / serviceUnavailable
    BLOCKED = "blocked"  # 403 IP_BLACKLISTED
    REFUSED = "refused"  # the site refused the request's content (validation, scope rules)
    FAILURE = "failure"  # 5xx, no JSON, a broken answer

    @property
    def is_site_trouble(self) -> bool:
        """The site itself cannot serve us now (never a statement about slots)."""
        return self in (SiteMeaning.RATE_LIMITED, SiteMeaning.MAINTENANCE, SiteMeaning.BLOCKED, SiteMeaning.FAILURE)


CAPTCHA_CODES = frozenset({"captchaMissing", "captchaInvalid", "captchaExpired"})
_BY_CODE = {
    "noAppointmentForThisScope": SiteMeaning.NO_SLOTS,
    "appointmentNotAvailable": SiteMeaning.SLOT_GONE,
    "appointmentNotFound": SiteMeaning.PROCESS_GONE,
    "authKeyMismatch": SiteMeaning.KEY_CHANGED,
    "processNotReservedAnymore": SiteMeaning.NOT_RESERVED,
    "processNotPreconfirmedAnymore": SiteMeaning.NOT_PRECONFIRMED,
    "rateLimitExceeded": SiteMeaning.RATE_LIMITED,
    "serviceUnavailable": SiteMeaning.MAINTENANCE,
    "IP_BLACKLISTED": SiteMeaning.BLOCKED,
    **{code: SiteMeaning.CAPTCHA_REFUSED for code in CAPTCHA_CODES},
}


def error_codes(body: object) -> list[str]:
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return [str(e.get("errorCode")) for e in body["errors"] if isinstance(e, dict)]
    return []


def meaning(status: int, body: object) -> SiteMeaning:
    """What an answer (HTTP status and parsed JSON body, or None) means."""
    codes = error_codes(body)
    if status == 429 or "rateLimitExceeded" in codes:
        return SiteMeaning.RATE_LIMITED
    if status == 503 or "serviceUnavailable" in codes:
        return SiteMeaning.MAINTENANCE
    if "IP_BLACKLISTED" in codes:
        return SiteMeaning.BLOCKED
    if status >= 500 or status == 0 or body is None:
        return SiteMeaning.FAILURE
    for code in codes:
        if code in _BY_CODE:
            return _BY_CODE[code]
    if codes or status >= 400:
        return SiteMeaning.REFUSED
    return SiteMeaning.OK


def describe(status: int, body: object) -> str:
    """A plain sentence for a person: what the site said."""
    what = meaning(status, body)
    codes = ", ".join(error_codes(body))
    return {
        SiteMeaning.RATE_LIMITED: "the site's rate limit answered 429 rateLimitExceeded",
        SiteMeaning.MAINTENANCE: "the site is in maintenance (503 serviceUnavailable)",
        SiteMeaning.BLOCKED: "the site blocked this IP address (IP_BLACKLISTED)",
        SiteMeaning.FAILURE: f"the site failed (HTTP {status})",
    }.get(what, f"the site answered {codes or f'HTTP {status}'}")
