"""What each scanner said about each file, by content: a rescan only runs on what changed.

The key is the scanner, its version, our rules and catalogues, the file's path and the sha256 of its
content (for checkov also of the other IaC files beside it: Terraform reads a directory as one module).
Lives outside the user's repository, in the XDG cache directory. A cache that cannot be read, or that
another program or version wrote, is moved aside and rebuilt; an entry that does not parse is a miss.
Blocking: call from a worker thread.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterable
from functools import cache
from pathlib import Path, PurePosixPath

import structlog
from pydantic import TypeAdapter, ValidationError

from devops_orchestra import __version__
from devops_orchestra.core import sqlite_file
from devops_orchestra.core.paths import policies_dir, user_path
from devops_orchestra.core.workspace import SourceFile
from devops_orchestra.models import Finding

log = structlog.get_logger(__name__)
MAGIC = "devops-orchestra scan cache 1"
MARK_USED_EVERY_S = 86_400.0  # how stale an entry's last-used time may get before a lookup renews it
KEEP_DAYS = 30  # entries unused for this long are dropped
_FINDINGS = TypeAdapter(list[Finding])
_SCHEMA = "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, findings TEXT NOT NULL, used REAL NOT NULL);"


def default_path() -> Path:
    """Where the scan cache lives: $DEVOPS_ORCHESTRA_CACHE, else the XDG cache directory."""
    return user_path("DEVOPS_ORCHESTRA_CACHE", "XDG_CACHE_HOME", "scan-cache.sqlite3")


SCANNER_POLICIES = ("semgrep", "catalog", "sql", "checkov")
# Our code that turns what is read into cached findings: scanners' output parsers, the SQL analysers.
FINDING_CODE = ("scanners", "analyzers/sql")


@cache
def rules_digest() -> str:
    """Our semgrep rules, checkov checks, scanner catalogues, the code that makes findings (FINDING_CODE), and
    our version: a change to any of them makes every entry stale (compliance policies and the like do not touch
    what a scanner says; a developer's edit to a parser or a SQL rule needs no version bump)."""
    h = hashlib.sha256(__version__.encode())
    package = Path(__file__).parent.parent
    for base, part in (*((policies_dir(), p) for p in SCANNER_POLICIES), *((package, c) for c in FINDING_CODE)):
        for path in sorted((base / part).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:  # checkov compiles our checks as it loads them
                h.update(path.relative_to(base).as_posix().encode())
                h.update(path.read_bytes())
    return h.hexdigest()


class ScanCache:
    """The scan cache file: findings per file and scanner, looked up by cache key (see keys_for)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        try:
            self._open()
        except (sqlite3.Error, ValueError) as exc:  # corrupt, or not ours: never trusted
            sqlite_file.move_aside(self.path, "scan cache", exc)
            self._open()

    def _connect(self) -> sqlite3.Connection:
        return sqlite_file.connect(self.path)

    def _open(self) -> None:
        db = sqlite_file.create(self.path, MAGIC, _SCHEMA)
        try:
            db.execute("DELETE FROM entries WHERE used < ?", (time.time() - KEEP_DAYS * 86400,))
        finally:
            db.close()

    def lookup(self, keys: dict[str, str]) -> dict[str, list[Finding]]:
        """{name: key} -> {name: findings} for the keys the cache knows (a name: a file, or the key itself)."""
        if not keys:
            return {}
        found: dict[str, list[Finding]] = {}
        by_key = {key: rel for rel, key in keys.items()}
        now = time.time()
        stale: list[str] = []  # entries last marked used over a day ago: marked again, so eviction spares them
        db = self._connect()
        try:
            for chunk in sqlite_file.chunks(list(by_key), 500):
                marks = ",".join("?" * len(chunk))
                rows = db.execute(f"SELECT key, findings, used FROM entries WHERE key IN ({marks})", chunk)
                for key, data, used in rows:
                    try:
                        found[by_key[key]] = _FINDINGS.validate_json(data)
                    except ValidationError:
                        continue  # an entry that does not parse is a miss
                    if used < now - MARK_USED_EVERY_S:
                        stale.append(key)
            if stale:  # a rescan within the day writes nothing: no commit, no fsync (half its time)
                db.execute("BEGIN IMMEDIATE")  # one commit, not one per entry
                db.executemany("UPDATE entries SET used = ? WHERE key = ?", [(now, key) for key in stale])
                db.execute("COMMIT")
        finally:
            db.close()
        return found

    def store(self, keys: dict[str, str], findings: Iterable[Finding]) -> None:
        """Record what a scanner found for each of these files (nothing, for most)."""
        per_file: dict[str, list[Finding]] = {rel: [] for rel in keys}
        for f in findings:
            per_file.setdefault(f.location.path, []).append(f)
        now = time.time()
        rows = [(keys[rel], _FINDINGS.dump_json(fs, exclude_none=True).decode(), now)
                for rel, fs in per_file.items() if rel in keys]
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?)", rows)
            db.execute("COMMIT")
        finally:
            db.close()


def keys_for(scanner: str, version: str, files: list[SourceFile]) -> dict[str, str]:
    """The cache key of each file for this scanner. checkov's findings on a file also depend on the
    other files of its directory (a Terraform module), so they are in its key."""
    context: dict[str, str] = {}
    if scanner == "checkov":
        by_dir: dict[str, hashlib._Hash] = {}
        for f in sorted(files, key=lambda f: f.rel):
            by_dir.setdefault(str(PurePosixPath(f.rel).parent), hashlib.sha256()).update(
                f"{f.rel}\0{f.digest}\0".encode())
        context = {d: h.hexdigest() for d, h in by_dir.items()}
    prefix = f"{scanner}\0{version}\0{rules_digest()}\0"
    return {
        f.rel: hashlib.sha256(
            f"{prefix}{f.rel}\0{f.digest}\0{f.is_test}\0{context.get(str(PurePosixPath(f.rel).parent), '')}".encode()
        ).hexdigest()
        for f in files
    }
