"""Where each scanner's executable lives, which version it is, and how to install the pinned ones.

semgrep pins mcp 1.x and checkov replaces detect-secrets' files, so neither can share the server's
environment: each gets its own virtual environment under the tools directory, found by absolute path.
bandit, detect-secrets and zizmor (a static Rust binary in its wheel) are light and are dependencies of
this package: their scripts sit beside the server's Python.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from devops_orchestra.core.paths import user_path

# Scanner name -> (PyPI distribution, pinned version, executable). Bump with care: tests pin findings.
ISOLATED = {
    "semgrep": ("semgrep", "1.182.0", "semgrep"),
    "checkov": ("checkov", "3.3.30", "checkov"),
}
BUNDLED = {
    "bandit": ("bandit", "bandit"),
    "secrets": ("detect-secrets", "detect-secrets"),
    "zizmor": ("zizmor", "zizmor"),
    "ruff": ("ruff", "ruff"),  # the testing agent's check for run-time errors
}
_DONE_MARKER = ".devops-orchestra-complete"


def tools_dir() -> Path:
    """Where the isolated scanners are installed: $DEVOPS_ORCHESTRA_TOOLS_DIR, else the XDG data directory."""
    return user_path("DEVOPS_ORCHESTRA_TOOLS_DIR", "XDG_DATA_HOME", "tools")


def _venv(name: str) -> Path:
    dist, version, _ = ISOLATED[name]
    return tools_dir() / f"{dist}-{version}"


def executable(name: str) -> Path | None:
    """Absolute path of the scanner's executable, or None when it is not installed."""
    if name in ISOLATED:
        exe = _venv(name) / "bin" / ISOLATED[name][2]
        return exe if (_venv(name) / _DONE_MARKER).exists() and exe.exists() else None
    script = BUNDLED[name][1]
    beside = Path(sys.executable).parent / script
    if beside.exists():
        return beside
    found = shutil.which(script)
    return Path(found) if found else None


def version(name: str) -> str | None:
    """The version of the scanner as installed, or None when it is not."""
    if executable(name) is None:
        return None
    if name in ISOLATED:
        return ISOLATED[name][1]
    try:
        return metadata.version(BUNDLED[name][0])
    except metadata.PackageNotFoundError:
        return None


@dataclass(frozen=True)
class ToolStatus:
    """One scanner: its installed version and path (None when missing), and the version we pin if isolated."""

    name: str
    version: str | None
    path: Path | None
    wanted: str | None  # the pinned version, for the isolated scanners

    @property
    def installed(self) -> bool:
        """Whether the scanner's executable was found."""
        return self.path is not None


def status() -> list[ToolStatus]:
    """Every scanner we know, installed or not."""
    names = list(ISOLATED) + list(BUNDLED)
    return [
        ToolStatus(n, version(n), executable(n), ISOLATED[n][1] if n in ISOLATED else None) for n in names
    ]


def install(names: list[str] | None = None, *, log: Callable[[str], None] = print) -> None:
    """Create each isolated scanner's pinned environment unless it is already complete."""
    for name in names or list(ISOLATED):
        if name not in ISOLATED:
            continue  # bundled scanners come with the package
        if executable(name) is not None:
            log(f"{name} {ISOLATED[name][1]} already installed in {_venv(name)}")
            continue
        dist, pinned, _ = ISOLATED[name]
        venv = _venv(name)
        if venv.exists():
            shutil.rmtree(venv)  # a half-finished install is never trusted
        log(f"installing {dist}=={pinned} into {venv} ...")
        venv.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             f"{dist}=={pinned}"],
            check=True,
        )
        (venv / _DONE_MARKER).write_text(f"{dist}=={pinned}\n")
        log(f"{name} {pinned} ready")
