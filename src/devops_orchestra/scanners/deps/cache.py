"""OSV's answers kept between scans and server restarts, so that a rescan asks OSV only what is stale.

Per OSV server and pinned package (ecosystem, name, version): the advisory (id, modified) pairs querybatch
answered, and when. They are used for DEVOPS_ORCHESTRA_OSV_TTL seconds (default 12 h; 0 keeps none), then
asked again: advisories change slowly, and a lock file's meaning changes only when they do. Per (id, modified):
the advisory record; it never goes stale, since a changed advisory has a new `modified`.
A failed attempt to reach the API is remembered for a minute, in memory and in the file (a CLI run is a new
process), so scans in that minute say `unavailable` at once instead of waiting for the network again.

Lives beside the scan cache (osv-cache.sqlite3 in its directory). A file that cannot be read, or that
something else wrote, is moved aside and rebuilt; any other SQLite or disk error is a miss, logged: this
cache never fails a scan. Blocking: call from a worker thread.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, TypeVar

import structlog
from pydantic import ValidationError

from devops_orchestra.core import cache as scan_cache
from devops_orchestra.core import sqlite_file
from devops_orchestra.core.errors import ScannerFailed
from devops_orchestra.scanners.deps.osv import UNREACHABLE_S, Query, Vuln

log = structlog.get_logger(__name__)
MAGIC = "devops-orchestra osv cache 1"
TTL_ENV = "DEVOPS_ORCHESTRA_OSV_TTL"
DEFAULT_TTL_S = 12 * 3600.0
KEEP_DAYS = 30  # records stored longer ago are dropped (a lookup that uses one stores it again)
T = TypeVar("T")
Pair = tuple[str, str]  # an advisory's (id, modified)
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, vulns TEXT NOT NULL, fetched REAL NOT NULL);"
    "CREATE TABLE IF NOT EXISTS records (key TEXT PRIMARY KEY, record TEXT NOT NULL, stored REAL NOT NULL);"
    "CREATE TABLE IF NOT EXISTS unreachable (url TEXT PRIMARY KEY, at REAL NOT NULL, problem TEXT);"
)


def ttl_s() -> float:
    """Seconds an OSV answer is used: $DEVOPS_ORCHESTRA_OSV_TTL, else 12 h; 0 keeps none."""
    value = os.environ.get(TTL_ENV, "").strip()
    if not value:
        return DEFAULT_TTL_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise ScannerFailed(f"{TTL_ENV}={value!r} is not a number of seconds: give e.g. 43200 (12 h), "
                            "or 0 to ask OSV on every scan")
    return seconds


def default_path() -> Path:
    """Beside the scan cache, so that $DEVOPS_ORCHESTRA_CACHE and $XDG_CACHE_HOME move both."""
    return scan_cache.default_path().with_name("osv-cache.sqlite3")


@dataclass(frozen=True)
class Answer:
    """What OSV answered for one package version, and when (seconds since the epoch)."""

    ids: tuple[Pair, ...]
    fetched: float


@dataclass(frozen=True)
class Unreachable:
    """The last failed attempt to reach an OSV server: when, and what went wrong."""

    at: float
    problem: str


class OsvCache:
    """The OSV cache file; clock is injectable so that tests need not wait out a TTL."""

    # (file, url) -> the last failed attempt: scans in one process need not read the file to know it
    _unreachable: ClassVar[dict[tuple[str, str], Unreachable]] = {}
    _ready: ClassVar[set[str]] = set()  # files whose tables exist, checked once per process

    def __init__(self, path: Path | None = None, *, ttl_s: float = DEFAULT_TTL_S,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = path or default_path()
        self.ttl_s = ttl_s
        self.clock = clock

    def answers(self, url: str, queries: Iterable[Query]) -> dict[Query, Answer]:
        """The answers younger than the TTL, for the queries the cache has."""
        if self.ttl_s <= 0:
            return {}
        by_key = {_key(url, q.ecosystem, q.name, q.version): q for q in queries}
        since = self.clock() - self.ttl_s

        def read(db: sqlite3.Connection) -> dict[Query, Answer]:
            found: dict[Query, Answer] = {}
            for chunk in sqlite_file.chunks(list(by_key), 500):
                marks = ",".join("?" * len(chunk))
                rows = db.execute(f"SELECT key, vulns, fetched FROM answers WHERE key IN ({marks}) AND fetched >= ?",
                                  [*chunk, since])
                for key, vulns, fetched in rows:
                    try:
                        found[by_key[key]] = Answer(tuple((str(i), str(m)) for i, m in json.loads(vulns)), fetched)
                    except (ValueError, TypeError):
                        continue  # an entry that does not parse is a miss
            return found

        return self._safely("read answers", read, {})

    def records(self, pairs: Collection[Pair]) -> dict[Pair, Vuln]:
        """The advisory records the cache has, by (id, modified)."""
        if self.ttl_s <= 0 or not pairs:
            return {}
        by_key = {_key(*pair): pair for pair in pairs}

        def read(db: sqlite3.Connection) -> dict[Pair, Vuln]:
            found: dict[Pair, Vuln] = {}
            for chunk in sqlite_file.chunks(list(by_key), 500):
                marks = ",".join("?" * len(chunk))
                for key, record in db.execute(f"SELECT key, record FROM records WHERE key IN ({marks})", chunk):
                    try:
                        found[by_key[key]] = Vuln.model_validate_json(record)
                    except ValidationError:
                        continue
            return found

        return self._safely("read advisories", read, {})

    def store(self, url: str, answers: dict[Query, list[Pair]], records: Iterable[Vuln]) -> None:
        """What OSV just answered, and every record the lookup used; the server is reachable again."""
        self._unreachable.pop((str(self.path), url), None)
        now = self.clock()

        def write(db: sqlite3.Connection) -> None:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM unreachable WHERE url = ?", (url,))
            if self.ttl_s > 0:
                db.executemany("INSERT OR REPLACE INTO answers VALUES (?, ?, ?)", [
                    (_key(url, q.ecosystem, q.name, q.version), json.dumps(ids), now) for q, ids in answers.items()])
                db.executemany("INSERT OR REPLACE INTO records VALUES (?, ?, ?)", [
                    (_key(v.id, v.modified), v.model_dump_json(exclude_defaults=True), now)
                    for v in records if v.modified])  # without `modified` a record cannot be known unchanged
            db.execute("COMMIT")

        self._safely("store answers", write, None)

    def unreachable(self, url: str) -> Unreachable | None:
        """The failed attempt to reach url in the last minute, if there was one."""
        now = self.clock()
        note: Unreachable | None = self._unreachable.get((str(self.path), url))
        if note is None:
            def read(db: sqlite3.Connection) -> Unreachable | None:
                row = db.execute("SELECT at, problem FROM unreachable WHERE url = ?", (url,)).fetchone()
                return Unreachable(float(row[0]), str(row[1])) if row else None

            note = self._safely("read the unreachable note", read, None)
        return note if note and 0 <= now - note.at < UNREACHABLE_S else None

    def note_unreachable(self, url: str, problem: str) -> None:
        """url could not be reached just now."""
        note = Unreachable(self.clock(), problem)
        self._unreachable[(str(self.path), url)] = note

        def write(db: sqlite3.Connection) -> None:
            db.execute("INSERT OR REPLACE INTO unreachable VALUES (?, ?, ?)", (url, note.at, note.problem))

        self._safely("note the API unreachable", write, None)

    def _safely(self, what: str, op: Callable[[sqlite3.Connection], T], default: T) -> T:
        try:
            db = self._open()
            try:
                return op(db)
            finally:
                db.close()
        except (sqlite3.Error, OSError, ValueError) as exc:  # broken since opened, disk full, read-only: a miss
            log.warning("OSV cache unusable; going without it", action=what, path=str(self.path), error=str(exc))
            self._ready.discard(str(self.path))  # the next use checks the file again, and rebuilds it if broken
            return default

    def _open(self) -> sqlite3.Connection:
        if str(self.path) not in self._ready:
            try:
                self._create()
            except (sqlite3.Error, ValueError) as exc:  # corrupt, or not ours: never trusted
                sqlite_file.move_aside(self.path, "OSV cache", exc)
                self._create()
            self._ready.add(str(self.path))
        return sqlite_file.connect(self.path)

    def _create(self) -> None:
        db = sqlite_file.create(self.path, MAGIC, _SCHEMA)
        try:
            oldest = self.clock() - max(self.ttl_s, KEEP_DAYS * 86400.0)
            db.execute("DELETE FROM answers WHERE fetched < ?", (oldest,))
            db.execute("DELETE FROM records WHERE stored < ?", (self.clock() - KEEP_DAYS * 86400.0,))
        finally:
            db.close()


def _key(*parts: str) -> str:
    return "\0".join(parts)
