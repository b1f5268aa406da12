"""The data directory's files are private and belong to the data directory's owner.

Everything the agent keeps (database, traces) is personal data: folders are
0700, files 0600. A command run as root on someone else's data directory
(``docker run --user 0``, ``sudo mta …``) hands what it creates to the
directory's owner, so the next run as that user still works. A directory the
user cannot write is a clear error (:class:`DataDirNotWritable`), never a
traceback from SQLite.
"""

from __future__ import annotations

import os
from pathlib import Path


class DataDirNotWritable(RuntimeError):
    pass


def not_writable(path: Path) -> DataDirNotWritable:
    uid = os.geteuid()
    return DataDirNotWritable(
        f"{path} is not writable by this user (uid {uid}). Give it to the user (chown -R {uid} {path}) or set "
        "MTA_DATA_DIR to a folder of its own. In Docker the image runs as uid 10001: a bind-mounted folder needs "
        "`chown -R 10001:10001 <folder>` (a named volume is set up by the image).")


def private_dir(path: Path) -> Path:
    """Create (0700) or check a folder the agent writes into (an existing folder keeps its mode: it may be
    the person's own, holding more than the agent's files)."""
    created = not path.exists()
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except PermissionError:
        raise not_writable(path) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise not_writable(path)
    if created:
        os.chmod(path, 0o700)  # whatever the umask
        follow_owner(path)
    return path


def private_file(path: Path) -> Path:
    """Create (0600) or check a file the agent writes."""
    private_dir(path.parent)
    try:
        path.touch(mode=0o600, exist_ok=True)
    except PermissionError:
        raise not_writable(path) from None
    if not os.access(path, os.W_OK):
        raise not_writable(path)
    follow_owner(path)
    if path.stat().st_uid == os.geteuid():
        os.chmod(path, 0o600)
    return path


def follow_owner(path: Path) -> None:
    """As root, give ``path`` to the owner of its folder (when that is not root)."""
    if os.geteuid() != 0:
        return
    parent = path.parent.stat()
    if parent.st_uid != 0 and path.stat().st_uid != parent.st_uid:
        os.chown(path, parent.st_uid, parent.st_gid)
