"""Processes a test started, found by parentage in /proc (never by name: other work runs on the machine)."""

from __future__ import annotations

import os
import time
from pathlib import Path


def process_table() -> dict[int, tuple[int, str]]:
    """pid → (parent pid, command name) of every process visible now."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                table[int(entry.name)] = (int(fields[1]), (entry / "comm").read_text().strip())
            except (FileNotFoundError, ProcessLookupError, IndexError, PermissionError):
                continue
    return table


def descendants(root: int | None = None) -> dict[int, str]:
    """Every living process below ``root`` (default: this process), zombies excluded."""
    root = os.getpid() if root is None else root
    table = process_table()
    found: dict[int, str] = {}
    for pid, (_, comm) in table.items():
        seen, cursor = set(), pid
        while cursor in table and cursor not in seen:
            seen.add(cursor)
            cursor = table[cursor][0]
            if cursor == root:
                if not _zombie(pid):
                    found[pid] = comm
                break
    return found


def _zombie(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, IndexError):
        return True


def alive(pids) -> list[int]:
    return [pid for pid in pids if (Path("/proc") / str(pid)).exists() and not _zombie(pid)]


def wait_gone(pids, timeout: float = 10.0) -> list[int]:
    """The pids still alive after up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = alive(pids)
        if not left:
            return []
        time.sleep(0.1)
    return alive(pids)
