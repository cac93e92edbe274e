"""Where a command reads: its path argument, and that path resolved the one way every command shares."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_path_argument(parser: argparse.ArgumentParser) -> None:
    """The directory or file a command works on; the working directory when left out."""
    parser.add_argument("path", nargs="?", default=".", type=Path)


def resolve(path: Path) -> Path:
    """The path the shell gave, absolute with links followed, or a clear error when it does not exist."""
    from devops_orchestra.core.workspace import Roots

    return Roots([Path("/")]).resolve(str(path.absolute()))  # the shell may read anything
