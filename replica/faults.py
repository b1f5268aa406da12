"""Fault injection: what the live site does on a bad day.

Rules apply to API requests (``/buergeransicht/api/citizen/…``) whose path
contains ``path`` (any API path when empty), for ``count`` requests or until
replica time ``until`` (or until cleared when neither is given).

Kinds: ``error500`` (internalError), ``maintenance`` (503 serviceUnavailable),
``rate_limit`` (429 rateLimitExceeded, a "storm"), ``reset`` (the connection
breaks mid-answer), ``timeout`` (the request hangs ``fault_hang_s``, unprocessed),
``hold_answer`` (processed, the answer held ``fault_hang_s``), ``expire_tokens``
(every captcha token issued so far expires, then the request proceeds), ``malformed`` (a 200 answer
whose JSON body is ``body``: what a redesigned or broken API could send).
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Literal

FaultKind = Literal["error500", "maintenance", "rate_limit", "reset", "timeout", "hold_answer", "expire_tokens",
                    "malformed"]
FAULT_KINDS: tuple[str, ...] = ("error500", "maintenance", "rate_limit", "reset", "timeout", "hold_answer",
                                "expire_tokens", "malformed")
# Kinds that let the request through: hold_answer (the site acts, its answer is
# held ``fault_hang_s``), expire_tokens (captcha tokens issued so far expire first).
PASS_THROUGH = ("hold_answer", "expire_tokens")


@dataclass
class FaultRule:
    kind: str
    path: str = ""
    count: int | None = None
    until: float | None = None
    body: object = None  # the JSON a ``malformed`` answer carries

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(FAULT_KINDS)}")
        if self.count is not None and self.count < 1:
            raise ValueError("count must be >= 1")

    def active(self, path: str, now: float) -> bool:
        if self.until is not None and now >= self.until:
            return False
        if self.count is not None and self.count <= 0:
            return False
        return self.path in path

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class Faults:
    latency_s: float = 0.0
    rules: list[FaultRule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self.rules.append(rule)

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
            self.latency_s = 0.0

    def take(self, path: str, now: float) -> FaultRule | None:
        """The first rule that hits this request (consuming one of its ``count``)."""
        with self._lock:
            for rule in self.rules:
                if rule.active(path, now):
                    if rule.count is not None:
                        rule.count -= 1
                    return rule
            return None

    def to_json(self) -> dict:
        with self._lock:
            return {"latencyS": self.latency_s, "rules": [r.to_json() for r in self.rules]}
