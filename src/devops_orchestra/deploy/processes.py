"""Long-lived processes of a deployed environment (instances, haproxy, Prometheus): started in a session of
their own so they outlive the command that started them, found again by pid, stopped with their children."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from devops_orchestra.deploy.targets.base import DeployError

_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}  # ours to reap, so a dead child is not a zombie


def need(binary: str, purpose: str) -> str:
    """The path of a Debian-packaged binary the local target runs, or an error saying how to install it."""
    found = shutil.which(binary)
    if not found:
        raise DeployError(f"{binary} is not installed; the local target needs it {purpose}. Install it: "
                          f"`apt-get install -y {binary}` (or `make setup`).")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def spawn(argv: Sequence[str], *, cwd: Path, log: Path, env: Mapping[str, str] | None = None) -> int:
    """Start argv detached (its own session, output to log); its pid."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(list(argv), cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, **(env or {})}, start_new_session=True)
    _CHILDREN[proc.pid] = proc
    return proc.pid


def alive(pid: int | None) -> bool:
    """True while pid runs (a zombie is dead)."""
    if not pid:
        return False
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        del _CHILDREN[pid]
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


async def stop(pid: int | None, grace_s: float = 3.0) -> None:
    """SIGTERM to pid's process group, SIGKILL after grace_s; returns when it is gone."""
    if not pid or not alive(pid):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    if await _gone(pid, grace_s):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    await _gone(pid, 5.0)


async def _gone(pid: int, within_s: float) -> bool:
    for _ in range(int(within_s / 0.05)):
        if not alive(pid):
            return True
        await asyncio.sleep(0.05)
    return not alive(pid)


async def wait_http(url: str, *, timeout_s: float, pid: int | None = None) -> bool:
    """True once url answers 2xx within timeout_s; False on timeout or when pid dies first."""
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=1.0) as client:
        while time.monotonic() < deadline:
            if pid is not None and not alive(pid):
                return False
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).is_success:
                    return True
            await asyncio.sleep(0.1)
    return False


def tail(path: Path, limit: int = 800) -> str:
    """The end of a log, for an error message."""
    try:
        return path.read_bytes()[-limit:].decode("utf-8", "replace").strip()
    except OSError:
        return ""
