"""Opening the agent's SQLite database: migrate to the current schema, then hand out sessions."""

from __future__ import annotations

import fcntl
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from .datadir import private_file

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _sqlite_file(url: str) -> Path | None:
    prefix = "sqlite:///"
    return Path(url[len(prefix):]) if url.startswith(prefix) and url != "sqlite:///:memory:" else None


def open_database(url: str) -> sessionmaker[Session]:
    """Create or migrate the database at ``url``; the file is readable by its owner only."""
    path = _sqlite_file(url)
    if path is not None:
        private_file(path)  # a new data directory is private; one the user cannot write is a clear error
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    with _migration_lock(path):
        command.upgrade(config, "head")
    engine = create_engine(url)
    _sqlite_pragmas(engine)
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def _migration_lock(path: Path | None):
    """Two agent processes starting together (``mta run`` and ``mta book``) migrate one after the other."""
    if path is None:
        yield
        return
    lock_path = private_file(path.with_name(path.name + ".migrate.lock"))
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # pragma: no cover - trivial
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # a committed processId survives a crash
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()
