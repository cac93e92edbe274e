"""The run store: every run kept, crash-safe, concurrent; history and comparisons through the tools."""

import asyncio
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client

from devops_orchestra.agents.security import recorded_security_scan
from devops_orchestra.core.store import Store
from devops_orchestra.models import SecurityReport
from devops_orchestra.models.requests import SecurityScanRequest
from devops_orchestra.server.app import create_server
from tests.helpers import text_of, write

pytestmark = pytest.mark.scanners
VULNERABLE = "import pickle\n\n\ndef load(blob):\n    return pickle.loads(blob)\n"
FIXED = "import json\n\n\ndef load(blob):\n    return json.loads(blob)\n"


def _scan(store: Store, root: Path) -> SecurityReport:
    return asyncio.run(recorded_security_scan(store, SecurityScanRequest(target=root, scanners=["bandit"])))


def test_a_finished_run_comes_back_whole(tmp_path: Path, run_store: Path) -> None:
    write(tmp_path, {"app.py": VULNERABLE, "other.py": "import subprocess\nsubprocess.call(x, shell=True)\n"})
    store = Store(run_store)
    report = _scan(store, tmp_path)
    assert store.report(report.run_id, SecurityReport) == report
    [record] = store.history(tmp_path)
    assert record.state == "finished" and record.summary == report.summary and record.scanners == {"bandit": "ok"}


def test_git_commit_is_recorded(tmp_path: Path, run_store: Path) -> None:
    write(tmp_path, {"app.py": VULNERABLE})
    for argv in (["init", "-q"], ["add", "."], ["-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "x"]):
        subprocess.run(["git", *argv], cwd=tmp_path, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout.strip()
    store = Store(run_store)
    _scan(store, tmp_path)
    assert store.history(tmp_path)[0].git_commit == head


def test_a_run_whose_process_died_is_marked_abandoned(tmp_path: Path, run_store: Path) -> None:
    """A server killed mid-scan leaves a `running` row; the next open says it never finished."""
    code = (
        "import os, sys; from pathlib import Path; from devops_orchestra.core.store import Store; "
        f"Store(Path({str(run_store)!r})).begin('dead1', agent='security', target=Path({str(tmp_path)!r}), "
        "path='.', arguments={}); os._exit(9)"
    )
    subprocess.run([sys.executable, "-c", code], check=False)
    [record] = Store(run_store).history()
    assert record.state == "abandoned" and "ended" in (record.error or "")


def test_concurrent_runs_are_all_kept(tmp_path: Path, run_store: Path) -> None:
    write(tmp_path, {"app.py": VULNERABLE})
    store = Store(run_store)

    async def many() -> list[SecurityReport]:
        return await asyncio.gather(*(
            recorded_security_scan(store, SecurityScanRequest(target=tmp_path, scanners=["bandit"])) for _ in range(4)
        ))

    reports = asyncio.run(many())
    assert {r.state for r in store.history(tmp_path)} == {"finished"}
    assert len(store.history(tmp_path)) == 4
    assert all(store.report(r.run_id, SecurityReport) == r for r in reports)
    with sqlite3.connect(run_store) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_cancelled_run_is_recorded_as_failed(tmp_path: Path, run_store: Path) -> None:
    write(tmp_path, {"app.py": VULNERABLE})
    store = Store(run_store)

    async def cancel_soon() -> None:
        request = SecurityScanRequest(target=tmp_path, scanners=["bandit"])
        task = asyncio.create_task(recorded_security_scan(store, request))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_soon())
    [record] = store.history(tmp_path)
    assert record.state == "failed" and record.error == "cancelled"


async def test_history_and_compare_through_the_tools(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": VULNERABLE})
    async with Client(create_server([tmp_path])) as client:
        first = await client.call_tool("security_scan", {"scanners": ["bandit"]})
        write(tmp_path, {"app.py": "# a comment above moves every line down\n" + FIXED,
                         "new.py": "import subprocess\nsubprocess.call(cmd, shell=True)\n"})
        second = await client.call_tool("security_scan", {"scanners": ["bandit"]})
        history = (await client.call_tool("scan_history", {})).structured_content
        diff = (await client.call_tool("compare_runs", {})).structured_content
        explicit = await client.call_tool("compare_runs", {"base_run_id": first.structured_content["run_id"],
                                                           "head_run_id": second.structured_content["run_id"]})
        missing = await client.call_tool("compare_runs", {"base_run_id": "nope", "head_run_id": "nope2"})
    assert [r["run_id"] for r in history["runs"]] == [second.structured_content["run_id"],
                                                      first.structured_content["run_id"]]
    assert {f["rule_id"] for f in diff["fixed"]} == {"bandit:B301", "bandit:B403"}
    assert {f["location"]["path"] for f in diff["new"]} == {"new.py"}
    assert diff["fixed_total"] == 2 and diff["new_total"] >= 1
    assert explicit.structured_content == diff
    assert missing.is_error and "No finished run nope" in text_of(missing.content[0])


async def test_compare_needs_two_runs(tmp_path: Path) -> None:
    async with Client(create_server([tmp_path])) as client:
        result = await client.call_tool("compare_runs", {})
    assert result.is_error and "Two finished runs" in text_of(result.content[0])


def test_cli_history_and_compare(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": VULNERABLE})
    cli = [sys.executable, "-m", "devops_orchestra"]
    first = json.loads(subprocess.run([*cli, "scan", str(tmp_path), "--scanners", "bandit", "--format", "json"],
                                      capture_output=True, text=True, check=True).stdout)
    write(tmp_path, {"app.py": FIXED})
    second = json.loads(subprocess.run([*cli, "scan", str(tmp_path), "--scanners", "bandit", "--format", "json"],
                                       capture_output=True, text=True, check=True).stdout)
    history = subprocess.run([*cli, "history", str(tmp_path)], capture_output=True, text=True, check=True).stdout
    assert history.index(second["run_id"]) < history.index(first["run_id"])
    diff = subprocess.run([*cli, "compare", first["run_id"], second["run_id"]], capture_output=True, text=True,
                          check=True).stdout
    assert diff.startswith("0 new, 2 fixed, 0 unchanged") and "fixed [medium] app.py:5" in diff


def test_a_corrupt_store_is_a_clear_error(run_store: Path) -> None:
    run_store.write_bytes(b"this is not a database" * 100)
    done = subprocess.run([sys.executable, "-m", "devops_orchestra", "history"], capture_output=True, text=True)
    assert done.returncode == 2 and "cannot open the run store" in done.stderr and "Traceback" not in done.stderr


async def test_markdown_report_resource(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": VULNERABLE})
    async with Client(create_server([tmp_path])) as client:
        scan = await client.call_tool("security_scan", {"scanners": ["bandit"]})
        run_id = scan.structured_content["run_id"]
        text = text_of((await client.read_resource(f"orchestra://runs/{run_id}/report.md")).contents[0])
    assert text.startswith(f"# Security scan `{run_id}`")
    assert "`app.py:5` · `bandit:B301`" in text and "**Fix:**" in text and "| bandit | 1.9.4 | ok |" in text
