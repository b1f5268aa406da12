"""Telling the person what happened: the console, or Telegram (``agent/bot/``), behind one interface.

A notifier gets typed notices (``agent/notices.py``) and renders them itself
(``agent/notice_text.py``). The console addresses the person by first name
(never a key or hash in what a person reads) and stamps Munich time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from rich.console import Console
from rich.markup import escape

from flows.timezone import BERLIN

from .notice_text import render
from .notices import Notice

__all__ = ["ConsoleNotifier", "MemoryNotifier", "Notice", "Notifier"]


class Notifier(Protocol):
    async def send(self, notice: Notice) -> None: ...


@dataclass
class ConsoleNotifier:
    console: Console = field(default_factory=Console)
    name_of: Callable[[str], str] = lambda key: key  # the person's display name (the service looks it up)

    async def send(self, notice: Notice) -> None:
        text = render(notice, "en").plain
        if notice.attachment is not None:
            text += f"\n    file: {notice.attachment}"
        stamp = datetime.now(BERLIN).strftime("%H:%M:%S")
        self.console.print(f"{stamp} [bold]→ {escape(self.name_of(notice.person_key))}[/] "
                           f"{escape(f'[{notice.kind}]')} {escape(text)}")


@dataclass
class MemoryNotifier:
    """Keeps notices (tests, the demo's summary)."""

    notices: list[Notice] = field(default_factory=list)

    async def send(self, notice: Notice) -> None:
        self.notices.append(notice)
