"""Locators as data: load ``selectors/*.toml``, validate it, and resolve controls on a page.

Flows never contain selector strings: they ask for a control by name
(``await locate.find("next")``) and the resolver tries the file's strategies
in order. Which strategy matched is recorded, per step, for the page
fingerprint.
"""

from __future__ import annotations

import asyncio
import re
import string
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import Locator, Page

KINDS: dict[str, tuple[set[str], set[str]]] = {
    # kind: (required keys, optional keys) besides "kind" and "within"
    "role": ({"role"}, {"name", "exact", "name_regex"}),
    "label": ({"text"}, {"exact"}),
    "text": ({"text"}, {"exact"}),
    "css": ({"css"}, set()),
}
PLACEHOLDERS = {"service_id", "service_name", "count", "office_id", "office_name", "day", "time", "timestamp"}


class SelectorFileError(ValueError):
    """The locator file is malformed; the message names the bad entry."""


@dataclass(frozen=True)
class Strategy:
    kind: str
    values: dict[str, object]

    def describe(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.values.items() if k != "kind")
        return f"{self.kind}({shown})"


@dataclass(frozen=True)
class SelectorBook:
    site: str
    written_for: str
    controls: dict[str, tuple[Strategy, ...]]
    source: Path

    def strategies(self, control: str) -> tuple[Strategy, ...]:
        if control not in self.controls:
            raise KeyError(f"no control {control!r} in {self.source}")
        return self.controls[control]


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def load_selector_book(path: Path) -> SelectorBook:
    """Read and validate a locator file; errors name the bad entry."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SelectorFileError(f"{path}: file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SelectorFileError(f"{path}: not valid TOML: {exc}") from exc
    meta = data.get("meta", {})
    for key in ("site", "written_for"):
        if not isinstance(meta.get(key), str) or not meta[key]:
            raise SelectorFileError(f"{path}: [meta].{key} must be a non-empty string")
    raw_controls = data.get("controls")
    if not isinstance(raw_controls, dict) or not raw_controls:
        raise SelectorFileError(f"{path}: no [controls.*] tables")
    controls: dict[str, tuple[Strategy, ...]] = {}
    for name, table in raw_controls.items():
        where = f"{path}: controls.{name}"
        strategies = table.get("strategies") if isinstance(table, dict) else None
        if not isinstance(strategies, list) or not strategies:
            raise SelectorFileError(f"{where}: needs a non-empty 'strategies' list")
        parsed = []
        for i, entry in enumerate(strategies):
            spot = f"{where}.strategies[{i}]"
            if not isinstance(entry, dict):
                raise SelectorFileError(f"{spot}: must be a table")
            kind = entry.get("kind")
            if kind not in KINDS:
                raise SelectorFileError(f"{spot}: kind {kind!r} is not one of {sorted(KINDS)}")
            required, optional = KINDS[kind]
            keys = set(entry) - {"kind", "within"}
            if missing := required - keys:
                raise SelectorFileError(f"{spot}: missing {sorted(missing)}")
            if unknown := keys - required - optional:
                raise SelectorFileError(f"{spot}: unknown key(s) {sorted(unknown)}")
            if "within" in entry and not isinstance(entry["within"], str):
                raise SelectorFileError(f"{spot}: 'within' must be a CSS string")
            for key, value in entry.items():
                if isinstance(value, str):
                    if unknown_ph := _placeholders(value) - PLACEHOLDERS:
                        raise SelectorFileError(f"{spot}: unknown placeholder(s) {sorted(unknown_ph)} in {key}")
                elif key != "exact" or not isinstance(value, bool):
                    raise SelectorFileError(f"{spot}: {key} must be a string")
            if "name_regex" in entry:
                try:
                    re.compile(str(entry["name_regex"]))
                except re.error as exc:
                    raise SelectorFileError(f"{spot}: name_regex does not compile: {exc}") from exc
            parsed.append(Strategy(kind=kind, values=dict(entry)))
        controls[name] = tuple(parsed)
    return SelectorBook(site=meta["site"], written_for=meta["written_for"], controls=controls, source=path)


class ControlNotFound(LookupError):
    def __init__(self, control: str, tried: list[str]) -> None:
        super().__init__(f"control {control!r}: none of its strategies matched (tried {'; '.join(tried)})")
        self.control = control
        self.tried = tried


@dataclass
class Resolver:
    """Finds controls on one page, recording which strategy matched."""

    page: Page
    book: SelectorBook
    matched: dict[str, int] = field(default_factory=dict)
    timeout: float = 10.0  # seconds a control may take to appear

    def _build(self, strategy: Strategy, params: dict[str, object]) -> Locator:
        v = {k: (val.format(**params) if isinstance(val, str) else val) for k, val in strategy.values.items()}
        root: Page | Locator = self.page.locator(str(v["within"])) if "within" in v else self.page
        exact = bool(v.get("exact", True))
        if strategy.kind == "role":
            if "name_regex" in v:
                return root.get_by_role(v["role"], name=re.compile(str(v["name_regex"])))  # type: ignore[arg-type]
            if "name" in v:
                return root.get_by_role(v["role"], name=str(v["name"]), exact=exact)  # type: ignore[arg-type]
            return root.get_by_role(v["role"])  # type: ignore[arg-type]
        if strategy.kind == "label":
            return root.get_by_label(str(v["text"]), exact=exact)
        if strategy.kind == "text":
            return root.get_by_text(str(v["text"]), exact=exact)
        return root.locator(str(v["css"]))

    async def try_find(self, control: str, **params: object) -> Locator | None:
        """The first matching strategy's locator now, or None (no waiting)."""
        for index, strategy in enumerate(self.book.strategies(control)):
            locator = self._build(strategy, params)
            if await locator.count() > 0:
                self.matched[control] = index
                return locator.first
        return None

    async def find(self, control: str, timeout: float | None = None, **params: object) -> Locator:
        """Wait up to ``timeout`` seconds (default: the resolver's) for any strategy to match."""
        deadline = asyncio.get_running_loop().time() + (self.timeout if timeout is None else timeout)
        while True:
            found = await self.try_find(control, **params)
            if found is not None:
                return found
            if asyncio.get_running_loop().time() >= deadline:
                tried = [s.describe() for s in self.book.strategies(control)]
                if params:
                    tried.append(f"with {params}")
                raise ControlNotFound(control, tried)
            await asyncio.sleep(0.1)

    async def first_present(self, controls: list[str], timeout: float = 10.0) -> str | None:
        """Which of ``controls`` appears first (or None after ``timeout``)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for control in controls:
                if await self.try_find(control) is not None:
                    return control
            if asyncio.get_running_loop().time() >= deadline:
                return None
            await asyncio.sleep(0.1)
