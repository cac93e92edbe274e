"""The repository's own Python, and lending it packages of ours without installing anything into its environment:
a directory of links to our packages, put first on the PYTHONPATH of the process we start with that Python."""

from __future__ import annotations

import importlib
import os
import shutil
import sys
from pathlib import Path


def repository_python(root: Path) -> str:
    """The interpreter of the repository's environment: its .venv or venv, the active virtual environment, or
    python3 on PATH (this process's own Python last)."""
    for candidate in (root / ".venv" / "bin" / "python", root / "venv" / "bin" / "python"):
        if candidate.exists():
            return str(candidate)
    active = os.environ.get("VIRTUAL_ENV")
    if active and (Path(active) / "bin" / "python").exists():
        return str(Path(active) / "bin" / "python")
    return shutil.which("python3") or sys.executable


def lend(site: Path, packages: list[str]) -> Path:
    """site, made to hold a link to each of our importable packages or modules named (their code only: not their
    distribution metadata, so what the repository has installed is what importlib.metadata sees there)."""
    site.mkdir(parents=True, exist_ok=True)
    for name in packages:
        module = importlib.import_module(name)
        source = Path(module.__file__ or "")
        if source.name.startswith("__init__."):  # a package (its __init__ may be compiled): its directory
            source = source.parent
        link = site / source.name
        if not link.exists():
            link.symlink_to(source, target_is_directory=source.is_dir())
    return site
