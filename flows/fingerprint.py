"""Page patterns: a structural fingerprint per step, compared with the last good one.

A fingerprint holds which locator strategy matched each control, and the
shape (keys and JSON types, not values) of the API answers the step saw. A
removed key, a changed type, a control found by another strategy or not at
all is drift: the flow stops with "site changed" and a readable diff instead
of guessing. Keys the site adds are accepted silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


def shape(value: object) -> object:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, dict):
        return {str(k): shape(v) for k, v in sorted(value.items())}
    return type(value).__name__


def shape_diff(old: object, new: object, path: str = "") -> list[str]:
    """Blocking differences between two shapes (nulls and empty lists match anything)."""
    if old == "null" or new == "null" or old == new:
        return []
    if isinstance(old, list) and isinstance(new, list):
        return shape_diff(old[0], new[0], path + "[]") if old and new else []
    if isinstance(old, dict) and isinstance(new, dict):
        lines = [f"{path}.{k}: field removed" for k in old if k not in new]
        for key in old:
            if key in new:
                lines += shape_diff(old[key], new[key], f"{path}.{key}")
        return lines
    describe = lambda s: "object" if isinstance(s, dict) else "list" if isinstance(s, list) else s  # noqa: E731
    return [f"{path or '.'}: {describe(old)} became {describe(new)}"]


@dataclass
class StepPrint:
    step: str
    controls: dict[str, int] = field(default_factory=dict)  # control -> index of the matching strategy
    api: dict[str, object] = field(default_factory=dict)  # endpoint -> shape of its success answer

    def to_json(self) -> dict:
        return {"step": self.step, "controls": self.controls, "api": self.api}

    @classmethod
    def from_json(cls, data: dict) -> StepPrint:
        return cls(step=data["step"], controls=dict(data.get("controls", {})), api=dict(data.get("api", {})))


def print_diff(old: StepPrint, new: StepPrint, describe_strategy) -> list[str]:
    """Readable lines of what changed in ``new`` against ``old``."""
    lines = []
    for control, index in old.controls.items():
        if control in new.controls and new.controls[control] != index:
            lines.append(f"{new.step}: control {control!r} was found by {describe_strategy(control, index)}, "
                         f"now by {describe_strategy(control, new.controls[control])}")
    for endpoint, old_shape in old.api.items():
        if endpoint in new.api:
            lines += [f"{new.step}: API {endpoint}{line}" for line in shape_diff(old_shape, new.api[endpoint])]
    return lines


def merge(old: StepPrint, new: StepPrint) -> StepPrint:
    """The pattern to keep after an accepted step: new strategies, shapes widened by new keys."""
    api = dict(old.api)
    for endpoint, new_shape in new.api.items():
        api[endpoint] = _widen(api.get(endpoint), new_shape)
    return StepPrint(step=new.step, controls={**old.controls, **new.controls}, api=api)


def _widen(old: object, new: object) -> object:
    if isinstance(old, dict) and isinstance(new, dict):
        return {k: _widen(old.get(k), new.get(k)) if k in old and k in new else old.get(k, new.get(k))
                for k in sorted(set(old) | set(new))}
    if old in (None, "null", []):
        return new
    if new in ("null", []):
        return old
    if isinstance(old, list) and isinstance(new, list):
        return [_widen(old[0], new[0])]
    return new


class PatternStore(Protocol):
    """Where fingerprints of good steps are kept (SQLite in the agent)."""

    def load(self, site: str, step: str) -> StepPrint | None: ...

    def save(self, site: str, step: str, fingerprint: StepPrint) -> None: ...
