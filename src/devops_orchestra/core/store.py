"""Every run of every agent, kept in SQLite: history, comparisons, and the reports behind resources.

One file (WAL, so readers never block the writer and a crash loses at most the run in flight). A run is
written as `running` when it starts and completed when it ends; a run whose process died on the way is
marked `abandoned` the next time the store is opened. Blocking: call from a worker thread.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from devops_orchestra.core.errors import OrchestraError
from devops_orchestra.core.paths import user_path
from devops_orchestra.models import AgentReport, Finding, RunStatus, SeveritySummary
from devops_orchestra.models.deploy import DeploymentRecord

R = TypeVar("R", bound=AgentReport)
SCHEMA_VERSION = 1
_OPEN_ATTEMPTS = 20  # about 10 s in all
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    agent TEXT NOT NULL,
    root TEXT NOT NULL,
    path TEXT NOT NULL,
    git_commit TEXT,
    arguments TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    state TEXT NOT NULL,              -- running | finished | failed | abandoned
    error TEXT,
    report TEXT                       -- the report without its findings, as JSON
);
CREATE INDEX IF NOT EXISTS runs_by_root ON runs (root, started_at);
CREATE TABLE IF NOT EXISTS findings (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    position INTEGER NOT NULL,        -- rank order in the report
    finding_id TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    severity TEXT NOT NULL,
    path TEXT NOT NULL,
    start_line INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, position)
);
CREATE TABLE IF NOT EXISTS deployments (
    deployment_id TEXT PRIMARY KEY,
    service TEXT NOT NULL,
    environment TEXT NOT NULL,
    sha TEXT NOT NULL,
    state TEXT NOT NULL,              -- planned | running | succeeded | rolled_back | failed
    started_at REAL NOT NULL,
    record TEXT NOT NULL              -- the DeploymentRecord as JSON
);
CREATE INDEX IF NOT EXISTS deployments_by_time ON deployments (started_at);
"""


def default_path() -> Path:
    """Where the run store lives: $DEVOPS_ORCHESTRA_STORE, else the XDG data directory."""
    return user_path("DEVOPS_ORCHESTRA_STORE", "XDG_DATA_HOME", "runs.sqlite3")


def open_store() -> Store:
    """The store at its default place, or an error that says what to do."""
    path = default_path()
    try:
        return Store(path)
    except (OSError, sqlite3.Error, RuntimeError) as exc:
        raise OrchestraError(
            f"cannot open the run store {path}: {exc}. Move the file away, or set DEVOPS_ORCHESTRA_STORE "
            "to another path."
        ) from exc


class RunRecord(BaseModel):
    """One line of history."""

    run_id: str
    agent: str
    root: str
    path: str
    git_commit: str | None = None
    state: str
    started_at: float
    duration_s: float | None = None
    summary: SeveritySummary | None = None
    scanners: dict[str, RunStatus] = {}
    error: str | None = None


class Store:
    """The run store: each run's state and report, and its findings in rank order (open it with open_store)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Processes that create the file at once (workers started together) can meet SQLite's immediate
        # "database is locked" while one turns on WAL, which no busy timeout waits for: try again, briefly.
        for attempt in range(_OPEN_ATTEMPTS):
            try:
                self._set_up()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == _OPEN_ATTEMPTS - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))

    def _set_up(self) -> None:
        with self._connect() as db:
            db.executescript(_SCHEMA)
            db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
            if int(version) != SCHEMA_VERSION:
                raise RuntimeError(f"{self.path} has schema version {version}; this build reads {SCHEMA_VERSION}")
            self._mark_abandoned(db)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA synchronous=NORMAL")
            yield db
        finally:
            db.close()

    @staticmethod
    def _mark_abandoned(db: sqlite3.Connection) -> None:
        for run_id, pid in db.execute("SELECT run_id, pid FROM runs WHERE state = 'running'").fetchall():
            if not _alive(pid):
                db.execute(
                    "UPDATE runs SET state = 'abandoned', error = 'the process running it ended before it did' "
                    "WHERE run_id = ?", (run_id,))

    def begin(self, run_id: str, *, agent: str, target: Path, path: str, arguments: dict[str, Any]) -> Path:
        """Record a run as started; its root, returned, is the scanned directory (a file's parent)."""
        root = target if target.is_dir() else target.parent
        with self._connect() as db:
            db.execute(
                "INSERT INTO runs (run_id, agent, root, path, git_commit, arguments, pid, started_at, state) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running')",
                (run_id, agent, str(root), path, git_commit(root), json.dumps(arguments), os.getpid(), time.time()),
            )
        return root

    def finish(self, report: AgentReport) -> None:
        """Record a run as finished, with its report and every finding."""
        header = report.model_dump(mode="json", exclude={"findings"}, exclude_none=True)
        rows = [
            (report.run_id, i, f.id, f.rule_id, f.severity.value, f.location.path, f.location.start_line,
             f.model_dump_json(exclude_none=True))
            for i, f in enumerate(report.findings)
        ]
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM findings WHERE run_id = ?", (report.run_id,))
            db.executemany("INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            db.execute(
                "UPDATE runs SET state = 'finished', finished_at = ?, report = ? WHERE run_id = ?",
                (time.time(), json.dumps(header), report.run_id),
            )
            db.execute("COMMIT")

    def fail(self, run_id: str, error: str) -> None:
        """Record a run as failed, with the error."""
        with self._connect() as db:
            db.execute("UPDATE runs SET state = 'failed', finished_at = ?, error = ? WHERE run_id = ?",
                       (time.time(), error, run_id))

    def report(self, run_id: str, kind: type[R]) -> R | None:
        """The whole report of a finished run of kind's agent, every finding included."""
        with self._connect() as db:
            row = db.execute("SELECT report FROM runs WHERE run_id = ? AND agent = ? AND state = 'finished'",
                             (run_id, kind.agent)).fetchone()
            if row is None:
                return None
            data = [d for (d,) in db.execute(
                "SELECT data FROM findings WHERE run_id = ? ORDER BY position", (run_id,))]
        header = json.loads(row[0])
        return kind.model_validate({
            **header, "findings": [json.loads(d) for d in data],
            "findings_returned": len(data), "truncated": False,
        })

    def history(self, root: Path | None = None, limit: int = 20) -> list[RunRecord]:
        """The newest runs of every agent first (at most limit), on root or on any root."""
        query = "SELECT run_id, agent, root, path, git_commit, state, started_at, report, error FROM runs"
        args: tuple[Any, ...] = ()
        if root is not None:
            query += " WHERE root = ?"
            args = (str(root),)
        query += " ORDER BY started_at DESC LIMIT ?"
        with self._connect() as db:
            rows = db.execute(query, (*args, limit)).fetchall()
        records = []
        for run_id, agent, root_, path, commit, state, started, report, error in rows:
            header = json.loads(report) if report else {}
            records.append(RunRecord(
                run_id=run_id, agent=agent, root=root_, path=path, git_commit=commit, state=state,
                started_at=started, duration_s=header.get("duration_s"), summary=header.get("summary"),
                scanners={r["name"]: r["status"] for r in header.get("scanners", [])}, error=error,
            ))
        return records

    def latest_finished(self, root: Path, before: str | None = None, full_only: bool = False,
                        agent: str = "security") -> str | None:
        """The newest finished run of agent on root (older than run `before`, when given).

        full_only: not limited to changed or staged files (a baseline for new/existing).
        """
        partial = ("AND json_extract(arguments, '$.changed_since') IS NULL "
                   "AND json_extract(arguments, '$.files') IS NULL "
                   "AND COALESCE(json_extract(arguments, '$.staged'), 0) = 0 ") if full_only else ""
        with self._connect() as db:
            row = db.execute(
                "SELECT run_id FROM runs WHERE root = ? AND agent = ? AND state = 'finished' " + partial +
                "AND started_at < COALESCE((SELECT started_at FROM runs WHERE run_id = ?), 1e300) "
                "ORDER BY started_at DESC LIMIT 1",
                (str(root), agent, before),
            ).fetchone()
        return row[0] if row else None

    def latest_findings(self, root: Path, ids: Collection[str], agent: str = "security") -> dict[str, Finding]:
        """For each id, the finding as the newest finished run of agent on root that had it recorded it."""
        found: dict[str, Finding] = {}
        with self._connect() as db:
            for finding_id in ids:
                row = db.execute(
                    "SELECT f.data FROM findings f JOIN runs r USING (run_id) WHERE r.root = ? AND "
                    "r.agent = ? AND r.state = 'finished' AND f.finding_id = ? ORDER BY r.started_at DESC LIMIT 1",
                    (str(root), agent, finding_id),
                ).fetchone()
                if row:
                    found[finding_id] = Finding.model_validate_json(row[0])
        return found

    def agent_of(self, run_id: str) -> str | None:
        """The agent of a finished run, None when there is no such run."""
        with self._connect() as db:
            row = db.execute("SELECT agent FROM runs WHERE run_id = ? AND state = 'finished'", (run_id,)).fetchone()
        return str(row[0]) if row else None

    def findings(self, run_id: str) -> list[Finding] | None:
        """Every finding of a finished run of any agent, worst first; None when there is no such run."""
        with self._connect() as db:
            if not db.execute("SELECT 1 FROM runs WHERE run_id = ? AND state = 'finished'", (run_id,)).fetchone():
                return None
            return [Finding.model_validate_json(d) for (d,) in db.execute(
                "SELECT data FROM findings WHERE run_id = ? ORDER BY position", (run_id,))]

    def finding_ids(self, run_id: str) -> set[str]:
        """The ids of every finding a run recorded."""
        with self._connect() as db:
            return {i for (i,) in db.execute("SELECT finding_id FROM findings WHERE run_id = ?", (run_id,))}

    def latest_for_commit(self, agent: str, sha: str) -> str | None:
        """The newest finished run of agent on the commit sha (a deploy's gates look for review, compliance)."""
        with self._connect() as db:
            row = db.execute("SELECT run_id FROM runs WHERE agent = ? AND git_commit = ? AND state = 'finished' "
                             "ORDER BY started_at DESC LIMIT 1", (agent, sha)).fetchone()
        return str(row[0]) if row else None

    def save_deployment(self, record: DeploymentRecord) -> None:
        """Insert or update a deployment: the audit trail of who deployed what, where, how it ended."""
        plan = record.plan
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO deployments VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (plan.deployment_id, plan.service, plan.environment, plan.sha, record.state,
                        record.started_at.timestamp(), record.model_dump_json(exclude_none=True)))

    def deployment(self, deployment_id: str) -> DeploymentRecord | None:
        with self._connect() as db:
            row = db.execute("SELECT record FROM deployments WHERE deployment_id = ?", (deployment_id,)).fetchone()
        return DeploymentRecord.model_validate_json(row[0]) if row else None

    def deployments(self, *, service: str | None = None, environment: str | None = None,
                    since: float = 0, limit: int = 50) -> list[DeploymentRecord]:
        """Deployments started since (a timestamp), newest first, of one service and environment if given."""
        query = "SELECT record FROM deployments WHERE started_at >= ?"
        args: list[Any] = [since]
        for column, value in (("service", service), ("environment", environment)):
            if value is not None:
                query += f" AND {column} = ?"
                args.append(value)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY started_at DESC LIMIT ?", (*args, limit)).fetchall()
        return [DeploymentRecord.model_validate_json(r) for (r,) in rows]


class Comparison(BaseModel):
    """What changed between two runs, by stable finding id (it survives edits above a finding)."""

    base_run_id: str
    head_run_id: str
    new_total: int
    fixed_total: int
    unchanged: int
    new: list[Finding] = Field(description="Worst first; at most `limit`.")
    fixed: list[Finding] = Field(description="Worst first; at most `limit`.")


def compare(base_run_id: str, base: list[Finding], head_run_id: str, head: list[Finding],
            limit: int = 50) -> Comparison:
    """The findings new in head and fixed since base, matched by id; at most limit of each."""
    before = {f.id: f for f in base}
    after = {f.id: f for f in head}
    new = [f for i, f in after.items() if i not in before]
    fixed = [f for i, f in before.items() if i not in after]
    return Comparison(
        base_run_id=base_run_id, head_run_id=head_run_id, new_total=len(new), fixed_total=len(fixed),
        unchanged=len(before.keys() & after.keys()), new=new[:limit], fixed=fixed[:limit],
    )


def git_commit(path: Path) -> str | None:
    """The commit checked out at path, or None outside git."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path if path.is_dir() else path.parent,
                              capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
