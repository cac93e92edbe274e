"""Where our files are: the bundled policies/ and prompts/, and what we keep on the user's machine (XDG)."""

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


def bundled_dir(name: str) -> Path:
    """A top-level directory of the project (policies/, prompts/): inside an installed wheel, or at the top
    of a source checkout."""
    here = Path(__file__).resolve().parents[1]  # the package
    for candidate in (here / name, here.parents[1] / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"{name}/ not found beside the package nor at the top of the checkout")


def policies_dir() -> Path:
    """The bundled policies/: scanner catalogues, semgrep rules, compliance frameworks."""
    return bundled_dir("policies")
