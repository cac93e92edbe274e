"""Run one external program without blocking the event loop, with a timeout, and never leave it behind."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from devops_orchestra.core.errors import ScannerFailed, ScannerTimeout, ScannerUnavailable


@dataclass(frozen=True)
class ProcResult:
    """How a program run ended: exit code, its output and how long it took."""

    returncode: int
    stdout: bytes
    stderr: bytes
    duration_s: float

    def stderr_tail(self, limit: int = 600) -> str:
        """The end of stderr as text, for an error message."""
        text = self.stderr.decode("utf-8", "replace").strip()
        return text[-limit:]


class Runner(Protocol):
    """How a scanner's process is run: `run` below, or a pre-warmed stand-in with the same call."""

    def __call__(
        self, argv: Sequence[str], *, cwd: Path, timeout_s: float, env: Mapping[str, str] | None = None,
        nice: int = 0,
    ) -> Awaitable[ProcResult]: ...


def safe_arg(path: str) -> str:
    """A file argument that can never be read as an option, whatever the file is called."""
    return f"./{path}" if path.startswith("-") else path


async def run(
    argv: Sequence[str],
    *,
    cwd: Path,
    timeout_s: float,
    env: Mapping[str, str] | None = None,
    nice: int = 0,
    inherit_env: bool = True,
) -> ProcResult:
    """Run argv in cwd; raise ScannerUnavailable if it does not exist, ScannerTimeout past timeout_s.

    env is added to this process's environment, or (inherit_env=False) is the whole of the child's.

    The child gets its own process group so that a timeout or a cancelled tool call kills it and
    everything it started (semgrep-core, detect-secrets' worker pool). nice > 0 lowers its CPU
    priority and that of what it starts.
    """
    started = time.perf_counter()
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=dict(env or {}) if not inherit_env else {**os.environ, **env} if env else None,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise ScannerUnavailable(f"{argv[0]} is not installed") from exc
    except OSError as exc:  # not executable, argument list too long...
        raise ScannerFailed(f"could not start {Path(argv[0]).name}: {exc}") from exc
    if nice:
        _lower_priority(proc.pid, nice)
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        await _kill(proc)
        raise ScannerTimeout(f"{Path(argv[0]).name} ran longer than {timeout_s:.0f} s and was stopped") from None
    except BaseException:  # cancelled tool call: take the children down with us
        await _kill(proc)
        raise
    assert proc.returncode is not None
    return ProcResult(proc.returncode, stdout, stderr, time.perf_counter() - started)


def _lower_priority(pid: int, nice: int) -> None:
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, pid, nice)
    # With autogroup scheduling a new session is a scheduling group of its own, where a process's nice
    # value counts only against its own group: the group needs the nice value too.
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/autogroup").write_text(str(nice))


def kill_group(pid: int) -> None:
    """SIGKILL to a process group, gone already or not."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


async def _kill(proc: asyncio.subprocess.Process) -> None:
    kill_group(proc.pid)
    # Reap it even if we are being cancelled, so no zombie stays behind.
    await asyncio.shield(proc.wait())
