"""Resident memory of Chromium processes and of this Python process, read from /proc."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path


def _proc_kib(pid: int, file: str, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def rss_kib(pid: int) -> int:
    return _proc_kib(pid, "status", "VmRSS")


def pss_kib(pid: int) -> int:
    """Proportional set size: shared pages split between the processes sharing them."""
    return _proc_kib(pid, "smaps_rollup", "Pss")


def _own_descendants() -> list[int]:
    """Processes below this one (found by parentage: other work on the machine runs Chromium too)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError, PermissionError):
                continue
    root, found = os.getpid(), []
    for pid in parents:
        cursor, seen = pid, set()
        while cursor in parents and cursor not in seen:
            seen.add(cursor)
            cursor = parents[cursor]
            if cursor == root:
                found.append(pid)
                break
    return found


def chromium_rss_mib() -> float:
    """Total PSS of this process's Chromium processes (RSS would count shared pages once per process)."""
    total = 0
    for pid in _own_descendants():
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() in ("chromium", "chrome"):
                total += pss_kib(pid)
        except (FileNotFoundError, PermissionError):
            continue
    return total / 1024


def own_rss_mib() -> float:
    return rss_kib(os.getpid()) / 1024


class PeakSampler:
    """Samples Chromium's total RSS every ``interval`` seconds and keeps the peak."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval, self.peak = interval, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, chromium_rss_mib())
            time.sleep(self.interval)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
