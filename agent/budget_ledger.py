"""Where the rate budget keeps its books: in memory, or in a file every agent process on the machine shares.

The site counts requests per IP, so ``mta run`` and a ``mta book`` started beside it spend one budget.
The file ledger is a small JSON document under the data directory; each read-modify-write of it holds an
exclusive ``flock`` on a lock file for a few microseconds, and the document is replaced atomically, so a
process killed at any point leaves either the old or the new books, never half of them.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from loguru import logger


@dataclass
class Books:
    """What every process must agree on: requests sent, the site's counter as modelled, the circuit."""

    sent: list[tuple[float, str]] = field(default_factory=list)  # (wall time, kind), oldest first
    site_count: int = 0  # the site's per-IP counter as its middleware keeps it
    site_lapse: float = 0.0  # wall time at which the site's counter returns to zero (TTL after the last request)
    open_until: float = 0.0  # circuit open (the site said 429) until this wall time
    open_reason: str = ""
    backoff: float = 0.0  # next pause after a 429 without X-RateLimit-Reset (0: the configured first one)

    @classmethod
    def from_json(cls, data: dict) -> Books:
        books = cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        books.sent = [(float(t), str(kind)) for t, kind in books.sent]
        return books


class MemoryLedger:
    """Books of one process (tests, benches, and a budget that need not be shared)."""

    shared = False

    def __init__(self) -> None:
        self._books = Books()

    @contextmanager
    def hold(self) -> Iterator[Books]:
        yield self._books


class FileLedger:
    """Books shared by every process through ``path`` (JSON, owner-only) and ``path``.lock."""

    shared = True

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock_path = path.with_suffix(path.suffix + ".lock")

    @contextmanager
    def hold(self) -> Iterator[Books]:
        # created on first use: commands that send nothing (``watch list``) never touch the data directory here
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            books = self._read()
            before = asdict(books)
            yield books
            if asdict(books) != before:
                self._write(books)
        finally:
            os.close(fd)  # closing releases the lock

    def _read(self) -> Books:
        try:
            data = json.loads(self.path.read_text())
            if not isinstance(data, dict):
                raise ValueError("not an object")
            return Books.from_json(data)
        except FileNotFoundError:
            return Books()
        except Exception as exc:  # noqa: BLE001 - any damage: the books restart, the site's answers correct them
            logger.warning("the shared rate budget {} was unreadable ({}); starting empty books", self.path, exc)
            return Books()

    def _write(self, books: Books) -> None:
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(asdict(books), out)
            out.flush()
            os.fsync(out.fileno())  # a power cut leaves the old books or the new, never an empty file
        os.replace(tmp, self.path)


def ledger_path(data_dir: Path, api_url: str) -> Path:
    """One set of books per target site (host and port), in the data directory."""
    parts = urlsplit(api_url)
    name = (parts.hostname or "site") + (f"_{parts.port}" if parts.port else "")
    return data_dir / "budget" / f"{name}.json"
