"""Playwright traces of attempts: recorded always, kept for failures (and on request for successes).

Trace files show the person's form entries, so they are private: the folder
is 0700, every file 0600, and the folder is pruned (by age and total size,
``agent/recordings.py``) whenever the agent starts an attempt.
"""

from __future__ import annotations

import os
from pathlib import Path

from playwright.async_api import BrowserContext

from .datadir import follow_owner, private_dir
from .recordings import megabytes, prune


def trace_file(recordings: Path, attempt_id: int) -> Path:
    return recordings / f"attempt-{attempt_id}.zip"


def find_trace(recordings: Path, attempt_id: int, recorded_path: str | None) -> Path | None:
    """An attempt's trace where it was written, or in these recordings (a copy of a container's /data)."""
    candidates = [Path(recorded_path)] if recorded_path else []
    candidates.append(trace_file(recordings, attempt_id))
    return next((c for c in candidates if c.exists()), None)


def prepare_recordings(recordings: Path, retention_days: float, max_mb: float | None = None) -> list[Path]:
    """Create the private folder and prune it (expired traces, then the oldest over ``max_mb``);
    returns what was deleted."""
    private_dir(recordings)
    if recordings.stat().st_uid == os.geteuid():
        os.chmod(recordings, 0o700)
    return [r.path for r in prune(recordings, retention_days, None if max_mb is None else megabytes(max_mb))]


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
    follow_owner(path)
    return path
