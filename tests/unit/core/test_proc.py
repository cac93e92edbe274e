import asyncio
import time
from pathlib import Path

import pytest

from devops_orchestra.core.errors import ScannerTimeout, ScannerUnavailable
from devops_orchestra.core.proc import run, safe_arg
from tests.helpers import alive


async def test_run_returns_exit_code_and_output(tmp_path: Path) -> None:
    """The child's exit code and both streams come back as they were."""
    result = await run(["sh", "-c", "echo out; echo err >&2; exit 3"], cwd=tmp_path, timeout_s=10)
    assert (result.returncode, result.stdout, result.stderr_tail()) == (3, b"out\n", "err")


async def test_missing_executable_is_unavailable(tmp_path: Path) -> None:
    """A scanner that is not installed is a clear 'unavailable', not a crash."""
    with pytest.raises(ScannerUnavailable, match="not installed"):
        await run([str(tmp_path / "no-such-scanner")], cwd=tmp_path, timeout_s=5)


async def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    """A hanging scanner and the children it started are all killed at the timeout."""
    pidfile = tmp_path / "child.pid"
    started = time.perf_counter()
    with pytest.raises(ScannerTimeout, match="longer than"):
        await run(["sh", "-c", f"sleep 60 & echo $! > {pidfile}; wait"], cwd=tmp_path, timeout_s=1)
    assert time.perf_counter() - started < 5
    assert not alive(int(pidfile.read_text()))


async def test_cancellation_kills_the_child(tmp_path: Path) -> None:
    """Cancelling the caller (a cancelled tool call) leaves no scanner process behind."""
    pidfile = tmp_path / "child.pid"
    task = asyncio.create_task(run(["sh", "-c", f"echo $$ > {pidfile}; exec sleep 60"], cwd=tmp_path, timeout_s=60))
    for _ in range(100):
        if pidfile.exists() and pidfile.read_text().strip():
            break
        await asyncio.sleep(0.05)
    pid = int(pidfile.read_text())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not alive(pid)


def test_file_arguments_never_look_like_options() -> None:
    """A file named like an option reaches a scanner as a path."""
    assert safe_arg("-rf.py") == "./-rf.py"
    assert safe_arg("src/app.py") == "src/app.py"


async def test_a_file_that_cannot_be_executed_is_a_failure(tmp_path: Path) -> None:
    from devops_orchestra.core.errors import ScannerFailed

    script = tmp_path / "not-executable"
    script.write_text("#!/bin/sh\n")
    with pytest.raises(ScannerFailed, match="could not start not-executable"):
        await run([str(script)], cwd=tmp_path, timeout_s=5)
