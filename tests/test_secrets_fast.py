"""secrets_fast.py reports exactly what the detect-secrets command reports, on every kind of file."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devops_orchestra import toolchain
from devops_orchestra.scanners.secrets import FAST_ENTRY
from tests.conftest import EXAMPLE, write

pytestmark = pytest.mark.scanners

TRICKY = {
    "app.py": 'password = "hunter2-prod-db"\nx = 1\n',
    "clean.py": "def add(a, b):\n    return a + b\n",
    "deploy.yaml": "db:\n  password: q8Xv2LmR7tYw3Nz5Kp9Bd4Hs6Jf1Gc0Ae2Ui8OyT\n",  # YAML transformer adds quotes
    "settings.ini": "[aws]\nsecret = q8Xv2LmR7tYw3Nz5Kp9Bd4Hs6Jf1Gc0Ae2Ui8OyT\n",  # INI transformer
    "service.conf": "token = q8Xv2LmR7tYw3Nz5Kp9Bd4Hs6Jf1Gc0Ae2Ui8OyT\n",
    "credentials": "aws_secret = q8Xv2LmR7tYw3Nz5Kp9Bd4Hs6Jf1Gc0Ae2Ui8OyT\n",  # unknown type: eager second pass
    "keys.json": '{"api_key": "sk_live_51HvulnshopQ2xK7dP9mL3vT8rW4yZ6bN1cF5gH0jS"}\n',
    "allowed.py": 'token = "ghp_R8x2Lq9Vt4Zp7Nw3Ky6Bm1Hc5Jd0Fg8Sa2Ue"  # pragma: allowlist secret\n',
    "main.tf": 'resource "x" "y" {\n  password = "Orders2019!"\n}\n',
    "notes.md": "no secrets here, only prose\n",
}


def _results(argv: list[str], cwd: Path) -> dict[str, object]:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300, check=True)
    return json.loads(done.stdout)["results"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("tree", ["example", "tricky"])
def test_same_results_as_detect_secrets(tree: str, tmp_path: Path) -> None:
    root = EXAMPLE if tree == "example" else write(tmp_path, TRICKY)
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".git" not in p.parts)
    args = ["--cores", "2", "scan", "--no-verify", *files]
    official = _results([str(toolchain.executable("secrets")), *args], root)
    fast = _results([sys.executable, str(FAST_ENTRY), *args], root)
    assert official and fast == official
    if tree == "tricky":  # the transformer paths were really taken
        assert {"deploy.yaml", "settings.ini", "credentials", "keys.json"} <= set(official)
