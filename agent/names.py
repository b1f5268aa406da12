"""Names a person reads instead of ids: services and offices, from the site's own catalogue.

Every time the agent reads ``offices-and-services/`` (``mta book``'s check, the poll page of ``mta run``) the
names are kept in the data directory (``catalogue-names.json``, owner-only; public data, no person's), so
that ``mta watch list``, ``mta attempts`` and ``mta patterns`` show "Orleansplatz" rather than "102522"
without asking the site. Where no name is known yet, the id is shown.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

CACHE_FILE = "catalogue-names.json"
OFFICE_PREFIXES = ("Bürgerbüro ",)  # what every office of a kind shares says nothing in a narrow column


@dataclass
class Names:
    services: dict[int, str] = field(default_factory=dict)
    offices: dict[int, str] = field(default_factory=dict)

    @classmethod
    def from_catalogue(cls, body: object) -> Names:
        """The names in an ``offices-and-services/`` answer (anything unreadable is skipped)."""
        from .site_api import names_in

        return cls(*names_in(body))

    def __bool__(self) -> bool:
        return bool(self.services or self.offices)

    def merged(self, newer: Names) -> Names:
        return Names({**self.services, **newer.services}, {**self.offices, **newer.offices})

    def service(self, service_id: int, width: int | None = None) -> str:
        name = self.services.get(service_id)
        return clip(name, width) if name else str(service_id)

    def office(self, office_id: int, width: int | None = None) -> str:
        """The office's name; with ``width``, the short form (no "Bürgerbüro "), clipped to fit."""
        name = self.offices.get(office_id)
        if not name:
            return str(office_id)
        if width is None:
            return name
        for prefix in OFFICE_PREFIXES:
            name = name.removeprefix(prefix)
        return clip(name, width)

    def office_list(self, office_ids: list[int] | tuple[int, ...], width: int | None = None) -> str:
        return ", ".join(self.office(o, width) for o in office_ids) if office_ids else "any office"

    def query(self, service_id: int, count: int, office_ids: list[int] | tuple[int, ...],
              width: int | None = None) -> str:
        """ "Reisepass ×2 @ Orleansplatz, Leonrodstraße" (short office names when ``width`` is given)."""
        times = f" ×{count}" if count > 1 else ""
        return f"{self.service(service_id, width)}{times} @ {self.office_list(office_ids, width)}"


def clip(text: str, width: int | None) -> str:
    if width is None or len(text) <= width:
        return text
    return text[: max(1, width - 1)] + "…"


def load_names(data_dir: Path) -> Names:
    try:
        data = json.loads((data_dir / CACHE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Names()
    return Names.from_catalogue(data)


def remember_names(data_dir: Path, names: Names) -> Names:
    """Add ``names`` to the cache (written only when something changed); the merged names."""
    known = load_names(data_dir)
    merged = known.merged(names)
    if merged == known:
        return known
    body = {"services": [{"id": k, "name": v} for k, v in sorted(merged.services.items())],
            "offices": [{"id": k, "name": v} for k, v in sorted(merged.offices.items())]}
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        scratch = data_dir / f".{CACHE_FILE}.{os.getpid()}"
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(body, out, ensure_ascii=False)
        os.replace(scratch, data_dir / CACHE_FILE)
    except OSError:
        pass  # names are a convenience: ids still say everything
    return merged
