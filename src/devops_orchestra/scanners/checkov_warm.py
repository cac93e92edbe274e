"""A checkov kept warm (checkov_zygote.py): for the server's lifetime, so that scans skip checkov's 2 s import,
or for one command-line scan, begun as it starts, so that the import overlaps ours and the inventory."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import NoReturn

import structlog

from devops_orchestra.core import proc, toolchain
from devops_orchestra.core.errors import ScannerTimeout
from devops_orchestra.core.workspace import build_inventory
from devops_orchestra.scanners.checkov import CheckovScanner

log = structlog.get_logger(__name__)
ZYGOTE = Path(__file__).parent / "entrypoints" / "checkov_zygote.py"
REPLACEMENTS = 3  # a warm checkov that keeps dying is given up on: scans then start checkov each time
WARM_ENV = "DEVOPS_ORCHESTRA_WARM_CHECKOV"  # 0: checkov starts cold for every scan


def warm_wanted() -> bool:
    return os.environ.get(WARM_ENV, "1") != "0"


class _Gone(Exception):
    """The warm process died (killed, out of memory) before it answered."""


class WarmCheckov:
    """Same call as proc.run; falls back to a cold checkov process when the warm one is not there, and
    replaces a warm one that died. Its memory does not grow with use: each scan runs in a forked child."""

    def __init__(self) -> None:
        self._proc: asyncio.subprocess.Process | None = None
        self._ready: asyncio.Task[bool] | None = None
        self._replaced = 0
        self._lock = asyncio.Lock()  # one request at a time on the zygote's pipe
        self.cpu_s = 0.0  # CPU seconds its scans used (they run in its children, out of our own count)

    async def start(self) -> None:
        """Start importing checkov in the background; returns at once."""
        exe = toolchain.executable("checkov")
        if exe is None:
            return
        self._proc = await asyncio.create_subprocess_exec(
            str(exe.with_name("python")), str(ZYGOTE),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
        self._ready = asyncio.create_task(self._await_ready(self._proc))

    @staticmethod
    async def _await_ready(zygote: asyncio.subprocess.Process) -> bool:
        assert zygote.stdout
        line = await zygote.stdout.readline()
        ready = bool(line) and json.loads(line).get("ready") is True
        if not ready:
            log.warning("warm checkov did not start; scans will start checkov each time")
        return ready

    async def close(self) -> None:
        """Stop the warm process, if there is one."""
        if self._ready:
            self._ready.cancel()
        if self._proc and self._proc.returncode is None:
            proc.kill_group(self._proc.pid)
            await self._proc.wait()
        self._proc = self._ready = None

    async def run(
        self, argv: Sequence[str], *, cwd: Path, timeout_s: float, env: Mapping[str, str] | None = None,
        nice: int = 0,
    ) -> proc.ProcResult:
        """Run a checkov command line in the warm process when it is ready, else cold; the same call as proc.run."""
        async with self._lock:
            if await self.ready():
                with tempfile.TemporaryDirectory(prefix="devops-orchestra-checkov-") as tmp:
                    out, err = Path(tmp) / "stdout", Path(tmp) / "stderr"
                    started = time.perf_counter()
                    try:
                        code = await self._request(
                            {"args": list(argv[1:]), "cwd": str(cwd), "env": dict(env or {}),
                             "stdout": str(out), "stderr": str(err)},
                            timeout_s,
                        )
                    except _Gone:
                        pass  # this scan runs cold, below
                    else:
                        return proc.ProcResult(code, out.read_bytes(), err.read_bytes(),
                                               time.perf_counter() - started)
            await self._replace_if_dead()
            return await proc.run(argv, cwd=cwd, timeout_s=timeout_s, env=env, nice=nice)

    async def _replace_if_dead(self) -> None:
        if self._proc is None or self._proc.returncode is None or self._replaced >= REPLACEMENTS:
            return
        self._replaced += 1
        log.warning("warm checkov exited; starting a new one", exit_code=self._proc.returncode,
                    replacement=self._replaced)
        await self.start()

    @property
    def pid(self) -> int | None:
        """The warm process's id, or None when there is none."""
        return self._proc.pid if self._proc else None

    async def ready(self) -> bool:
        """Wait until checkov is imported; False when the warm process is not there (cold runs then)."""
        if self._ready is None or self._proc is None or self._proc.returncode is not None:
            return False
        try:
            return await asyncio.shield(self._ready)
        except Exception:
            return False

    async def _request(self, request: dict[str, object], timeout_s: float) -> int:
        assert self._proc and self._proc.stdin and self._proc.stdout
        try:
            self._proc.stdin.write((json.dumps(request) + "\n").encode())
            await self._proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            await self._gone()
        started = await self._proc.stdout.readline()
        if not started:
            await self._gone()
        child = json.loads(started)["pid"]
        done = asyncio.ensure_future(self._proc.stdout.readline())
        try:
            line = await asyncio.wait_for(asyncio.shield(done), timeout_s)
        except BaseException as exc:  # timeout or a cancelled call: kill the scan, keep the zygote in step
            proc.kill_group(child)
            await asyncio.shield(done)
            if isinstance(exc, TimeoutError):
                raise ScannerTimeout(f"checkov ran longer than {timeout_s:.0f} s and was stopped") from None
            raise
        if not line:  # died mid-scan: its orphaned child's answer would have nowhere to go
            proc.kill_group(child)
            await self._gone()
        result = json.loads(line)
        self.cpu_s += float(result.get("cpu_s", 0.0))
        return int(result["exit"])

    async def _gone(self) -> NoReturn:
        assert self._proc
        await self._proc.wait()
        raise _Gone


@asynccontextmanager
async def warming(target: Path, *, checkov_wanted: bool = True) -> AsyncIterator[dict[str, proc.Runner]]:
    """The runners of one scan of target with checkov imported from now on: a cold scan's longest pole
    (checkov's 2 s import on one core) overlaps our own start and the inventory (pygoat: 3.4 s -> 3.1 s). Stopped
    as soon as an inventory shows nothing under target for checkov, so that it takes no core from the others."""
    if not (checkov_wanted and warm_wanted()):
        yield {}
        return
    warm = WarmCheckov()
    await warm.start()

    async def stop_unless_needed() -> None:
        try:
            needed = bool(CheckovScanner().select(await asyncio.to_thread(build_inventory, target)))
        except Exception:  # the scan itself will say what is wrong with target
            needed = False
        if not needed:
            await warm.close()

    check = asyncio.create_task(stop_unless_needed())
    try:
        yield {"checkov": warm.run}
    finally:
        check.cancel()
        await asyncio.gather(check, return_exceptions=True)
        await warm.close()
