"""Telling the person what happened. Console now; the Telegram bot implements the same interface."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .states import NoticeKind

from rich.console import Console
from rich.markup import escape


@dataclass(frozen=True)
class Notice:
    person_key: str
    kind: NoticeKind
    text: str
    link: str | None = None
    attachment: Path | None = None  # a file for the person (the appointment's .ics)


class Notifier(Protocol):
    async def send(self, notice: Notice) -> None: ...


@dataclass
class ConsoleNotifier:
    console: Console = field(default_factory=Console)

    async def send(self, notice: Notice) -> None:
        # person_key is a hash, never a name or address
        link = f"\n    {notice.link}" if notice.link else ""
        if notice.attachment is not None:
            link += f"\n    file: {notice.attachment}"
        self.console.print(f"[bold]→ {notice.person_key}[/] {escape(f'[{notice.kind}]')} {escape(notice.text)}"
                           f"{escape(link)}")


@dataclass
class MemoryNotifier:
    """Keeps notices (tests, the demo's summary)."""

    notices: list[Notice] = field(default_factory=list)

    async def send(self, notice: Notice) -> None:
        self.notices.append(notice)
