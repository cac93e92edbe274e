"""Diff-aware scans: only what git says changed, labelled new or existing against the last full scan."""

import subprocess
from pathlib import Path

import pytest
from mcp import Client

from devops_orchestra.core.errors import PathError
from devops_orchestra.core.workspace import changed_files
from devops_orchestra.models import SecurityReport
from devops_orchestra.server.app import create_server
from tests.helpers import text_of, write

pytestmark = pytest.mark.scanners
PICKLE = "import pickle\n\n\ndef load(blob):\n    return pickle.loads(blob)\n"
SHELL = "import subprocess\n\n\ndef run(cmd):\n    subprocess.call(cmd, shell=True)\n"


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=a@b", "-c", "user.name=a", *args], cwd=root, check=True,
                   capture_output=True)


def _repo(tmp_path: Path) -> Path:
    write(tmp_path, {"old.py": PICKLE, "lib/util.py": "x = 1\n"})
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "first")
    return tmp_path


def test_changed_files_since_a_ref_include_untracked_ones(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    write(root, {"lib/util.py": "x = 2\n", "new.py": SHELL})
    assert changed_files(root, "main", False) == {"lib/util.py", "new.py"}
    assert changed_files(root / "lib", "main", False) == {"util.py"}
    _git(root, "add", "new.py")
    assert changed_files(root, None, True) == {"new.py"}


@pytest.mark.parametrize(("ref", "message"), [
    ("no-such-branch", "git does not know 'no-such-branch'"),
    ("--output=/tmp/x", "is not a git ref"),
])
def test_bad_refs_are_clear_errors(tmp_path: Path, ref: str, message: str) -> None:
    with pytest.raises(PathError, match=message):
        changed_files(_repo(tmp_path), ref, False)


def test_outside_git_is_a_clear_error_not_a_full_scan(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": PICKLE})
    with pytest.raises(PathError, match="not inside a git repository"):
        changed_files(tmp_path, "main", False)


async def test_changed_since_scans_only_changes_and_labels_them(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    async with Client(create_server([root])) as client:
        full = await client.call_tool("security_scan", {"scanners": ["bandit"]})
        write(root, {"new.py": SHELL})
        diff = await client.call_tool("security_scan", {"scanners": ["bandit"], "changed_since": "main"})
        again = await client.call_tool("security_scan", {"scanners": ["bandit"]})
        outside = await client.call_tool("security_scan", {"scanners": ["bandit"], "changed_since": "nope"})
    first = SecurityReport.model_validate(full.structured_content)
    assert first.baseline_run_id is None and all(f.status is None for f in first.findings)
    partial = SecurityReport.model_validate(diff.structured_content)
    assert {f.location.path for f in partial.findings} == {"new.py"}
    assert partial.scope.changed_only == "files changed since main" and partial.scope.files_scanned == 1
    assert partial.baseline_run_id == first.run_id and {f.status for f in partial.findings} == {"new"}
    later = SecurityReport.model_validate(again.structured_content)
    assert later.baseline_run_id == first.run_id  # a partial scan is never the baseline
    status = {f.location.path: f.status for f in later.findings}
    assert status["old.py"] == "existing" and status["new.py"] == "new"
    assert outside.is_error and "git does not know 'nope'" in text_of(outside.content[0])
