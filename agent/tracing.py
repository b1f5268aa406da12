"""Playwright traces of attempts: recorded always, kept for failures (and on request for successes).

Trace files show the person's form entries, so they are private: the folder
is 0700, every file 0600, and files older than ``trace_retention_days`` are
deleted whenever the agent starts an attempt.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from playwright.async_api import BrowserContext


def trace_file(recordings: Path, attempt_id: int) -> Path:
    return recordings / f"attempt-{attempt_id}.zip"


def prepare_recordings(recordings: Path, retention_days: int) -> list[Path]:
    """Create the private folder and prune expired traces; returns what was deleted."""
    recordings.mkdir(parents=True, exist_ok=True)
    os.chmod(recordings, 0o700)
    cutoff = time.time() - retention_days * 86400
    removed = []
    for path in recordings.glob("attempt-*.zip"):
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


async def start_trace(context: BrowserContext, attempt_id: int, screenshots: bool = False) -> None:
    """DOM snapshots of every action (what the trace viewer shows per step); the screencast only on
    request (``MTA_TRACE_SCREENSHOTS``): it competes with the captcha's proof-of-work for the CPU."""
    await context.tracing.start(name=f"attempt-{attempt_id}", title=f"booking attempt {attempt_id}",
                                screenshots=screenshots, snapshots=True, sources=False)


async def stop_trace(context: BrowserContext, recordings: Path, attempt_id: int, keep: bool) -> Path | None:
    if not keep:
        await context.tracing.stop()
        return None
    path = trace_file(recordings, attempt_id)
    old_umask = os.umask(0o077)
    try:
        await context.tracing.stop(path=str(path))
    finally:
        os.umask(old_umask)
    os.chmod(path, 0o600)
    return path
