"""The warm checkov: the same findings as a fresh checkov, without its start-up, and never stuck."""

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import pytest

from devops_orchestra.agents.security import security_scan
from devops_orchestra.core.errors import ScannerTimeout
from devops_orchestra.scanners.checkov_warm import WarmCheckov, warming
from tests.helpers import EXAMPLE, alive

pytestmark = pytest.mark.scanners
ARGS = ["checkov", "--skip-download", "--quiet", "--compact", "--output", "json", "--framework", "dockerfile",
        "--file", "Dockerfile"]


async def _warm() -> WarmCheckov:
    warm = WarmCheckov()
    await warm.start()
    return warm


async def test_warm_and_cold_checkov_find_the_same() -> None:
    warm = await _warm()
    try:
        cold = await security_scan(EXAMPLE, scanners=["checkov"])
        hot = await security_scan(EXAMPLE, scanners=["checkov"], runners={"checkov": warm.run})
        again = await security_scan(EXAMPLE, scanners=["checkov"], runners={"checkov": warm.run})
    finally:
        await warm.close()
    ids = [f.id for f in cold.findings]
    assert ids and ids == [f.id for f in hot.findings] == [f.id for f in again.findings]
    assert warm.cpu_s > 0  # the scans really ran in the warm process's children
    assert hot.scanners[0].duration_s < cold.scanners[0].duration_s


async def test_timeout_kills_the_scan_and_the_warm_process_serves_on() -> None:
    warm = await _warm()
    try:
        assert await warm.ready()
        with pytest.raises(ScannerTimeout):
            # A scan of a tree large enough to outlast 0.01 s.
            await warm.run([*ARGS[:-2], "--directory", str(EXAMPLE)], cwd=EXAMPLE, timeout_s=0.01)
        result = await warm.run(ARGS, cwd=EXAMPLE, timeout_s=60)
        assert result.returncode == 1 and b"CKV_DOCKER" in result.stdout
    finally:
        await warm.close()


async def test_a_dead_warm_process_falls_back_to_a_fresh_checkov_and_is_replaced() -> None:
    warm = await _warm()
    try:
        assert await warm.ready() and warm.pid
        first = warm.pid
        os.killpg(first, signal.SIGKILL)
        await asyncio.sleep(0.2)
        assert not await warm.ready()
        result = await warm.run([_checkov(), *ARGS[1:]], cwd=EXAMPLE, timeout_s=120)  # this one runs cold
        assert result.returncode == 1 and b"CKV_DOCKER" in result.stdout
        assert warm.pid != first and await warm.ready()  # a new warm process, checkov imported
        again = await warm.run(ARGS, cwd=EXAMPLE, timeout_s=60)
        assert again.returncode == 1 and b"CKV_DOCKER" in again.stdout and warm.cpu_s > 0
    finally:
        await warm.close()


async def test_a_warm_process_dying_mid_scan_loses_no_scan(tmp_path: Path) -> None:
    for i in range(600):  # a scan that takes the warm checkov seconds
        (tmp_path / f"b{i}.tf").write_text(f'resource "aws_s3_bucket" "b{i}" {{\n  bucket = "b{i}"\n}}\n')
    warm = await _warm()
    try:
        assert await warm.ready() and warm.pid
        first = warm.pid
        argv = [_checkov(), "--skip-download", "--quiet", "--compact", "--output", "json", "--framework",
                "terraform", "--directory", str(tmp_path)]
        scan = asyncio.create_task(warm.run(argv, cwd=tmp_path, timeout_s=300))
        await asyncio.sleep(0.5)
        scanning = _children(first)
        assert scanning  # the scan runs in the warm process's child
        os.kill(first, signal.SIGKILL)
        for _ in range(30):  # the orphaned scan is killed at once, long before it would have finished
            if not any(map(alive, scanning)):
                break
            await asyncio.sleep(0.05)
        assert not any(map(alive, scanning)) and not scan.done()
        result = await scan  # answered by a fresh checkov instead
        assert result.returncode == 1 and b"CKV_AWS" in result.stdout
        assert warm.pid != first
    finally:
        await warm.close()


async def test_server_closes_its_warm_checkov(tmp_path: Path) -> None:
    from mcp import Client

    from devops_orchestra.server.app import create_server

    async with Client(create_server([tmp_path])) as client:
        await client.list_tools()  # the warm checkov starts once the handshake is over
        await asyncio.sleep(0.5)
        zygotes = _zygotes()
        assert zygotes
    await asyncio.sleep(0.2)
    assert not set(zygotes) & set(_zygotes())


async def test_server_starts_its_warm_checkov_without_a_tools_list_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mcp import Client

    from devops_orchestra.server import app

    monkeypatch.setattr(app, "WARM_AFTER_S", 0.1)
    async with Client(app.create_server([tmp_path])):
        await asyncio.sleep(0.4)
        zygotes = _zygotes()
        assert zygotes
    await asyncio.sleep(0.2)
    assert not set(zygotes) & set(_zygotes())


def _checkov() -> str:
    from devops_orchestra.core import toolchain

    exe = toolchain.executable("checkov")
    assert exe
    return str(exe)


def _children(parent: int) -> list[int]:
    """Processes whose parent is this pid, running or not."""
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _parent(p.name) == parent]


def _parent(pid: str) -> int | None:
    try:
        return int((Path("/proc") / pid / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None  # gone


def _zygotes() -> list[int]:
    """Live warm-checkov processes started by this test process (other tests run in parallel)."""
    found = []
    for pid in _children(os.getpid()):
        with contextlib.suppress(OSError):
            if alive(pid) and b"checkov_zygote.py" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
    return found


async def test_a_one_off_scan_warms_checkov_and_stops_it_when_nothing_is_for_checkov(tmp_path: Path) -> None:
    async with warming(EXAMPLE) as runners:  # the example has IaC: the warm checkov serves its scan
        report = await security_scan(EXAMPLE, scanners=["checkov"], runners=runners)
        warm = runners["checkov"].__self__  # type: ignore[attr-defined]
        assert report.findings and warm.cpu_s > 0
    assert warm.pid is None  # and it is gone with the scan

    (tmp_path / "app.py").write_text("print('no infrastructure here')\n")
    async with warming(tmp_path) as runners:
        pid = runners["checkov"].__self__.pid  # type: ignore[attr-defined]
        for _ in range(100):  # stopped once the inventory shows nothing for checkov, long before the scan ends
            if not alive(pid):
                break
            await asyncio.sleep(0.05)
        assert not alive(pid)
    async with warming(tmp_path, checkov_wanted=False) as runners:
        assert runners == {}
