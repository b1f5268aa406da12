"""Playwright's working files (trace chunks, network logs, snapshots) kept private, inside the recordings.

Without ``traces_dir`` the driver writes them under the system temp folder (``playwright-artifacts-*``,
mode 0644), where they outlive a crash with the person's name, e-mail and authKey in them. Each process
gets ``<recordings>/.playwright/<pid>`` (0700) and deletes it when it exits; a process that died leaves its
folder behind, and the next launch deletes such folders: the finished trace (``attempt-N.zip``) is what is
kept, not the parts.
"""

from __future__ import annotations

import atexit
import os
import shutil
from pathlib import Path

from loguru import logger

WORK_FOLDER = ".playwright"


def process_alive(pid: int | None) -> bool:
    """Whether another process with this pid runs (ours does not count: its leftovers are its own)."""
    if not pid or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def clean_stale(recordings: Path) -> list[Path]:
    """Delete the work folders of processes that are gone; returns them."""
    root = recordings / WORK_FOLDER
    removed = []
    if not root.is_dir():
        return removed
    for folder in root.iterdir():
        if folder.name.isdigit() and int(folder.name) != os.getpid() and not process_alive(int(folder.name)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    if removed:
        logger.info("removed {} work folder(s) a stopped agent left in the recordings", len(removed))
    return removed


def work_folder(recordings: Path) -> Path:
    """This process's private folder for Playwright's working files (created, owner-only)."""
    recordings.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(recordings, 0o700)
    clean_stale(recordings)
    folder = recordings / WORK_FOLDER / str(os.getpid())
    if not folder.is_dir():
        atexit.register(shutil.rmtree, folder, ignore_errors=True)  # a clean exit leaves nothing to clean up
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder.parent, 0o700)
    return folder
