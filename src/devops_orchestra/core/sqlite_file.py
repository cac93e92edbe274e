"""What our SQLite cache files share: how they are opened, recognised as ours, and put aside when broken.

Blocking: call from a worker thread.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode, with WAL: readers never block the one writer."""
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    return db


def create(path: Path, magic: str, schema: str) -> sqlite3.Connection:
    """A connection to path with schema's tables; ValueError when another program or version wrote the file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = connect(path)
    try:
        db.executescript("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);" + schema)
        db.execute("INSERT OR IGNORE INTO meta VALUES ('magic', ?)", (magic,))
        (found,) = db.execute("SELECT value FROM meta WHERE key = 'magic'").fetchone()
        if found != magic:
            raise ValueError(f"written by {found!r}")
    except BaseException:
        db.close()
        raise
    return db


def move_aside(path: Path, what: str, exc: Exception) -> None:
    """Put a file that cannot be trusted beside itself (.broken-<time>), so that it is rebuilt and kept to look at."""
    aside = path.with_name(path.name + f".broken-{int(time.time())}")
    log.warning(f"{what} unusable; rebuilding it", path=str(path), error=str(exc), moved_to=str(aside))
    path.replace(aside)
    for suffix in ("-wal", "-shm"):  # a journal of the broken file must not be replayed into the new one
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def chunks(items: list[str], n: int) -> Iterable[list[str]]:
    """items n at a time: SQLite takes a bounded number of ? parameters."""
    for i in range(0, len(items), n):
        yield items[i : i + n]
