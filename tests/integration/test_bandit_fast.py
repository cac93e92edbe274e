"""bandit_fast.py reports exactly what the bandit command reports, nosec comments and all."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from devops_orchestra.core import toolchain
from devops_orchestra.scanners.bandit import FAST_ENTRY
from tests.helpers import EXAMPLE, write

pytestmark = pytest.mark.scanners

TRICKY = {
    "plain.py": "import subprocess\nsubprocess.call('ls', shell=True)\nassert 1\n",
    "nosec_all.py": "import subprocess\nsubprocess.call('ls', shell=True)  # nosec\n",
    "nosec_one.py": "import subprocess\nsubprocess.call('ls', shell=True)  # nosec B602\neval('1')  # nosec B101\n",
    "nosec_multiline.py": "import subprocess\nsubprocess.call(  # nosec: B602, B404\n    'ls',\n    shell=True,\n)\n",
    "nosec_in_string.py": "import pickle\nNOTE = 'add # nosec to silence it'\npickle.loads(b'')\n",
    "nosec_misspelt.py": "import pickle\npickle.loads(b'')  # NOSEC\n",
    "syntax_error.py": "def broken(:\n    pass\n",
    "tabs.py": "if True:\n\tx = eval('1')\n",
    "pkg/deep.py": "import hashlib\nhashlib.md5(b'x')\nPASSWORD = 'hunter2'\n",
}


def _report(argv: list[str], cwd: Path) -> dict[str, Any]:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    report.pop("generated_at")
    return report


@pytest.mark.parametrize("tree", ["example", "tricky"])
def test_same_report_as_bandit(tree: str, tmp_path: Path) -> None:
    root = EXAMPLE if tree == "example" else write(tmp_path, TRICKY)
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*.py"))
    args = ["--format", "json", "--quiet", *files]
    official = _report([str(toolchain.executable("bandit")), *args], root)
    fast = _report([sys.executable, str(FAST_ENTRY), *args], root)
    assert official["results"] and fast == official
    if tree == "tricky":  # the nosec and error paths were really taken
        metrics = official["metrics"]["_totals"]
        assert metrics["nosec"] >= 1 and metrics["skipped_tests"] >= 1
        assert any("syntax_error.py" in e["filename"] for e in official["errors"])
