"""What the agent does with one e-mail: activate, wait, nothing more to do, or ignore (and why).

Only a link that decodes to a process *and* authKey of an open reservation of this agent is ever
acted on; the comparison of authKeys is constant-time. Everything else is ignored and never opened.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import Enum

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from .mail_links import ActivationLink, MailReading
from .models import Attempt


class Action(str, Enum):
    ACTIVATE = "activate"
    WAIT = "wait"  # ours, but the booking that made it is still finishing: look again soon
    DONE = "done"  # ours and already activated: mark the mail seen, nothing else
    IGNORE = "ignore"


@dataclass(frozen=True)
class Verdict:
    action: Action
    reason: str
    link: ActivationLink | None = None
    attempt_id: int | None = None
    person: str | None = None
    deadline: float | None = None


def judge(reading: MailReading, sessions: sessionmaker[Session], sender: str = "",
          person: str | None = None) -> Verdict:
    """``sender``: the only From address accepted (empty: any); ``person``: only this person's reservations."""
    if not reading.links:
        reason = ("an activation link to another site or page" if reading.foreign
                  else "no activation link of the booking site")
        return Verdict(Action.IGNORE, reason)
    if sender and reading.sender != sender.strip().lower():
        return Verdict(Action.IGNORE, "the sender is not the configured one (MTA_IMAP_SENDER)")
    verdicts = [_judge_link(link, sessions, person) for link in reading.links]
    order = [Action.ACTIVATE, Action.WAIT, Action.DONE, Action.IGNORE]
    return min(verdicts, key=lambda v: order.index(v.action))


def _judge_link(link: ActivationLink, sessions: sessionmaker[Session], person: str | None) -> Verdict:
    with sessions() as session:
        query = select(Attempt).where(Attempt.process_id == link.process_id).order_by(Attempt.id.desc())
        if person is not None:
            query = query.where(Attempt.person == person)
        held = [a for a in session.scalars(query)
                if a.auth_key and secrets.compare_digest(a.auth_key.encode(), link.auth_key.encode())]
    if not held:
        return Verdict(Action.IGNORE, "not a reservation this agent holds", link=link)
    attempt = held[0]
    verdict = dict(link=link, attempt_id=attempt.id, person=attempt.person, deadline=attempt.activation_deadline)
    if attempt.process_status == "confirmed":
        return Verdict(Action.DONE, f"process {link.process_id} is already activated", **verdict)
    if attempt.phase != "closed":
        return Verdict(Action.WAIT, f"attempt {attempt.id} is still finishing its booking", **verdict)
    if attempt.process_status != "preconfirmed":
        return Verdict(Action.IGNORE, f"process {link.process_id} is {attempt.process_status}", **verdict)
    return Verdict(Action.ACTIVATE, f"activate process {link.process_id} (attempt {attempt.id})", **verdict)
