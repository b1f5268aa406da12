"""The closed set of ways a booking attempt can end, each with a readable reason."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum


class OutcomeKind(str, Enum):
    RESERVED = "reserved"  # preconfirmed: awaiting the person's activation
    CONFIRMED = "confirmed"
    SLOT_TAKEN = "slot_taken"  # someone was faster, and no other match was left
    NO_MATCH = "no_matching_slot"
    SEARCH_LIMIT = "search_limit"  # the day-read cap ended the search before the range was covered
    CAPTCHA_HANDOFF = "captcha_handoff"  # the widget refuses automated browsers: the person finishes
    RATE_LIMITED = "rate_limited"
    SITE_CHANGED = "site_changed"
    SITE_ERROR = "site_error"  # maintenance or a failure of the site
    TIMEOUT = "timeout"

    @property
    def succeeded(self) -> bool:
        return self in (OutcomeKind.RESERVED, OutcomeKind.CONFIRMED)


@dataclass
class Outcome:
    kind: OutcomeKind
    reason: str
    office_id: int | None = None
    office_name: str | None = None
    slot_ts: int | None = None
    process_id: int | None = None
    activation_deadline: float | None = None
    handoff_link: str | None = None
    diff: list[str] = field(default_factory=list)
    ics: str | None = None  # the calendar file the site returns with a confirmed appointment
    process_status: str | None = None  # after an activation or cancel: cancelled | expired, when the site said so

    def to_json(self) -> dict:
        data = asdict(self)
        data["kind"] = self.kind.value
        return data


class FlowStop(Exception):
    """Raised inside a flow to end it with a given outcome."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.reason)
        self.outcome = outcome
