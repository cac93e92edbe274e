"""The `memory://` engine's shared state in an SQLite file, so that every shell of the machine sees the same runs,
keys and leases. Expiry is by wall-clock time (time.time), which every process of the machine shares.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import TypeVar

from devops_orchestra.core import sqlite_file
from devops_orchestra.core.errors import OrchestraError

T = TypeVar("T")
MAGIC = "devops-orchestra bus state 1"
SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires REAL);
CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires REAL NOT NULL);
CREATE INDEX IF NOT EXISTS kv_expires ON kv (expires) WHERE expires IS NOT NULL;
CREATE TABLE IF NOT EXISTS idx (name TEXT NOT NULL, member TEXT NOT NULL, score REAL NOT NULL,
                                PRIMARY KEY (name, member));
CREATE INDEX IF NOT EXISTS idx_score ON idx (name, score);
"""


class LocalState:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._created = False

    def _run(self, work: Callable[[sqlite3.Connection, float], T]) -> T:
        """work(connection, now) on a connection of its own: calls come from any worker thread."""
        try:
            db = sqlite_file.connect(self.path) if self._created else sqlite_file.create(self.path, MAGIC, SCHEMA)
        except (OSError, sqlite3.Error, ValueError) as exc:
            raise OrchestraError(
                f"cannot open the orchestra's state file {self.path}: {exc}. Move the file away, or give another "
                "path in the bus URL (memory:///abs/path/state.sqlite)."
            ) from exc
        self._created = True
        with closing(db):
            return work(db, time.time())

    async def _call(self, work: Callable[[sqlite3.Connection, float], T]) -> T:
        return await asyncio.to_thread(self._run, work)

    async def set_once(self, key: str, value: str, ttl_s: float | None) -> bool:
        def work(db: sqlite3.Connection, now: float) -> bool:
            _purge(db, now)
            # One statement, so two processes racing for the key cannot both win; an expired key is free again.
            cursor = db.execute(
                "INSERT INTO kv VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
                "expires = excluded.expires WHERE kv.expires IS NOT NULL AND kv.expires <= ?",
                (key, value, None if ttl_s is None else now + ttl_s, now),
            )
            return cursor.rowcount == 1

        return await self._call(work)

    async def get(self, key: str) -> str | None:
        def work(db: sqlite3.Connection, now: float) -> str | None:
            row = db.execute(
                "SELECT value FROM kv WHERE key = ? AND (expires IS NULL OR expires > ?)", (key, now)
            ).fetchone()
            return None if row is None else str(row[0])

        return await self._call(work)

    async def put(self, key: str, value: str, ttl_s: float | None) -> None:
        def work(db: sqlite3.Connection, now: float) -> None:
            _purge(db, now)
            expires = None if ttl_s is None else now + ttl_s
            db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?, ?)", (key, value, expires))

        await self._call(work)

    async def index_add(self, name: str, member: str, score: float, drop_below: float | None) -> None:
        def work(db: sqlite3.Connection, _now: float) -> None:
            db.execute("INSERT OR REPLACE INTO idx VALUES (?, ?, ?)", (name, member, score))
            if drop_below is not None:
                db.execute("DELETE FROM idx WHERE name = ? AND score < ?", (name, drop_below))

        await self._call(work)

    async def index_newest(self, name: str, limit: int) -> list[str]:
        def work(db: sqlite3.Connection, _now: float) -> list[str]:
            rows = db.execute("SELECT member FROM idx WHERE name = ? ORDER BY score DESC, member DESC LIMIT ?",
                              (name, max(0, limit)))  # LIMIT -1 would be all of them
            return [str(member) for (member,) in rows]

        return await self._call(work)

    async def keys(self, prefix: str) -> list[str]:
        def work(db: sqlite3.Connection, now: float) -> list[str]:
            rows = db.execute(
                "SELECT key FROM kv WHERE substr(key, 1, ?) = ? AND (expires IS NULL OR expires > ?) ORDER BY key",
                (len(prefix), prefix, now),
            )
            return [str(key) for (key,) in rows]

        return await self._call(work)

    async def acquire(self, lease: str, owner: str, ttl_s: float) -> bool:
        def work(db: sqlite3.Connection, now: float) -> bool:
            cursor = db.execute(
                "INSERT INTO leases VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, "
                "expires = excluded.expires WHERE leases.owner = excluded.owner OR leases.expires <= ?",
                (lease, owner, now + ttl_s, now),
            )
            return cursor.rowcount == 1

        return await self._call(work)

    async def release(self, lease: str, owner: str) -> None:
        await self._call(lambda db, _now: db.execute("DELETE FROM leases WHERE name = ? AND owner = ?", (lease, owner)))


def _purge(db: sqlite3.Connection, now: float) -> None:
    """Delete the expired keys, so that the file does not grow with every commit (cheap: expires is indexed)."""
    db.execute("DELETE FROM kv WHERE expires IS NOT NULL AND expires <= ?", (now,))
