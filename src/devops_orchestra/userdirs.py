"""Where devops-orchestra keeps its own files on the user's machine (XDG), each movable by a variable."""

from __future__ import annotations

import os
from pathlib import Path

_DEFAULTS = {"XDG_DATA_HOME": (".local", "share"), "XDG_CACHE_HOME": (".cache",)}


def user_path(override_var: str, xdg_var: str, name: str) -> Path:
    """$override_var if set, else $xdg_var/devops-orchestra/name (XDG's default when that is unset)."""
    override = os.environ.get(override_var)
    if override:
        return Path(override).expanduser()
    home = os.environ.get(xdg_var) or Path.home().joinpath(*_DEFAULTS[xdg_var])
    return Path(home) / "devops-orchestra" / name
