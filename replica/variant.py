"""The redesign variant: chosen controls of the page get new ids and labels.

It exists to prove drift detection: an agent that trusted one id or label
must notice the change instead of booking something wrong. The page reads the
active renames from ``window.__ZMS_REPLICA_VARIANT__`` (set by ``page.py``).
"""

from __future__ import annotations

# control -> {"labels": {i18n key: new text}, "ids": {id key: new id}}
REDESIGN: dict[str, dict[str, dict[str, str]]] = {
    "serviceSearch": {"labels": {"serviceSearch": "Leistung suchen"}, "ids": {"serviceSearch": "leistung-suche"}},
    "next": {"labels": {"next": "Fortfahren"}, "ids": {}},
    "offices": {"labels": {"location": "Standort"}, "ids": {"officeCheckbox": "office-"}},
    "slots": {"labels": {}, "ids": {"slotPrefix": "slot-office-", "gridPrefix": "slots-office-"}},
    "firstname": {"labels": {"firstName": "Ihr Vorname"}, "ids": {"firstname": "given-name"}},
    "lastname": {"labels": {"lastName": "Ihr Nachname"}, "ids": {"lastname": "family-name"}},
    "mailaddress": {"labels": {"email": "E-Mail"}, "ids": {"mailaddress": "email"}},
    "consent": {"labels": {}, "ids": {"consent": "consent-email"}},
    "reserve": {"labels": {"reserve": "Verbindlich reservieren"}, "ids": {}},
}


def build_variant(controls: list[str]) -> dict[str, dict[str, str]]:
    """Merge the renames of ``controls`` (``["all"]`` = every control)."""
    chosen = list(REDESIGN) if controls == ["all"] else controls
    unknown = [c for c in chosen if c not in REDESIGN]
    if unknown:
        raise ValueError(f"unknown control(s) {unknown}; known: {', '.join(REDESIGN)}")
    labels: dict[str, str] = {}
    ids: dict[str, str] = {}
    for control in chosen:
        labels.update(REDESIGN[control]["labels"])
        ids.update(REDESIGN[control]["ids"])
    return {"controls": chosen, "labels": labels, "ids": ids}  # type: ignore[dict-item]
