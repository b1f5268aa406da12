"""The recordings folder with a lifetime: traces expire by age, and the folder stays under a size limit.

Traces show what the person typed into the site's form, so they are private
(folder 0700, files 0600, see ``agent/tracing.py``) and kept no longer than
needed: older than ``MTA_TRACE_RETENTION_DAYS`` goes first, then, while the
folder holds more than ``MTA_RECORDINGS_MAX_MB``, the oldest traces go until
it fits. Pruning runs when an attempt starts, when the agent starts and every
hour while it runs, and on ``mta recordings prune``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

TRACE_NAME = re.compile(r"attempt-(\d+)\.zip$")


@dataclass(frozen=True)
class Recording:
    path: Path
    attempt_id: int
    size: int
    mtime: float


def list_recordings(folder: Path) -> list[Recording]:
    """Every trace in the folder, oldest first."""
    found = []
    if not folder.is_dir():
        return found
    for path in folder.glob("attempt-*.zip"):
        match = TRACE_NAME.search(path.name)
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        if match:
            found.append(Recording(path, int(match.group(1)), stat.st_size, stat.st_mtime))
    return sorted(found, key=lambda r: (r.mtime, r.attempt_id))


def prune(folder: Path, max_age_days: float, max_bytes: int | None, now: float | None = None) -> list[Recording]:
    """Delete traces past the age, then the oldest until the folder fits ``max_bytes``; returns what went."""
    now = time.time() if now is None else now
    cutoff = now - max_age_days * 86400
    removed: list[Recording] = []
    kept: list[Recording] = []
    for recording in list_recordings(folder):
        (removed if recording.mtime < cutoff else kept).append(recording)
    if max_bytes is not None:
        total = sum(r.size for r in kept)
        while kept and total > max_bytes:
            oldest = kept.pop(0)
            total -= oldest.size
            removed.append(oldest)
    for recording in removed:
        recording.path.unlink(missing_ok=True)
    return removed


def megabytes(value: float) -> int:
    return int(value * 1024 * 1024)
