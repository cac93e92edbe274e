"""secrets_fast.py reports exactly what the detect-secrets command reports, on every kind of file."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devops_orchestra.core import toolchain
from devops_orchestra.scanners.entrypoints.secrets_fast import sieve
from devops_orchestra.scanners.secrets import FAST_ENTRY
from tests.helpers import EXAMPLE, write

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


# A line each for every detect-secrets plugin (some answer for two), and near misses around the gates.
PROVIDERS = [
    'artifactory = "AKCp5bueTFpfypEqQbGJPp7eHFi9LGlCbDe4gjvQN2n5EwqRrHrmJDhkEtsgH5nRUMcJYDk6X"',
    'aws_access_key_id = "AKIAZ7VRSQ5TNUD4K2PL"',
    'conn = "AccountName=x;AccountKey=lJzRc1YdHaAA2KCNJJ1tkYwF/+mKK6Ygw0NGe170Xu592euJv2wYUtBlV8z+qnlcNQSnIYVTkLWnt'
    'UO1F8j8rQ=="',
    'url = "https://admin:S3cr3tPass@db.internal:5432/app"',
    'discord = "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs"',
    'gh = "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"',
    'gl = "glpat-Zq8vLm2Rt7Yw3Nz5Kp9B"',
    'jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2'
    'MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"',
    'mc = "0123456789abcdef0123456789abcdef-us12"',
    "//registry.npmjs.org/:_authToken=743b294a-cd03-11ec-9d64-0242ac120002",
    'openai = "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"',
    "-----BEGIN RSA PRIVATE KEY-----",
    'pypi = "pypi-AgEIcHlwaS5vcmcCJDEyMzQ1Njc4LTEyMzQtMTIzNC0xMjM0LTEyMzQ1Njc4OTAxMgACJXsicGVybWlzc2lvbnMiOiAi"',
    'sg = "SG.Zq8vLm2Rt7Yw3Nz5Kp9Bd4.Hs6Jf1Gc0Ae2Ui8OyTq8vLm2Rt7Yw3Nz5Kp9Bd4Hs6Jf1G"',
    'slack = "xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"',
    'hook = "https://hooks.slack.com/services/T01ABCDEF/B01ABCDEF/Zq8vLm2Rt7Yw3Nz5Kp9Bd4Hs"',
    'square = "sq0csp-Zq8vLm2Rt7Yw3Nz5Kp9Bd4Hs6Jf1Gc0Ae2Ui8OyT_q8v"',
    'stripe = "sk_live_Zq8vLm2Rt7Yw3Nz5Kp9Bd4Hs"',
    'telegram = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawx"',
    'twilio = "AC0123456789abcdef0123456789abcdef"',
    'twilio_key = "SK0123456789abcdef0123456789abcdef"',
    'server = "8.8.4.4"',
    'digest = "9f86d081884c7d65"',
    "blob = 'q8Xv2LmR7tYw3Nz5Kp9Bd4Hs6Jf1Gc0Ae2Ui8OyT'",
    'ibm_cloud_iam_api_key = "Zq8vLm2Rt7Yw3Nz5Kp9Bd4Hs6Jf1Gc0Ae2Ui8OyTq8vL"',
    'ibm_cos_hmac_secret_access_key = "0123456789abcdef0123456789abcdef0123456789abcdef"',
    'cloudant_password = "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123"',
    'softlayer_api_key = "abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcd"',
    'db_password = "hunter2-prod-db"',
    'PaSsWoRd := "hunter2-prod-db"',
    'String dbPwd = "hunter2-prod-db";',
    'if ("hunter2-prod-db" == user_passwd) {',
    'NSString *api_key = @"hunter2-prod-db";',
    "contraseña: hunter2-prod-db",
    "ſecret = 'hunter2-prod-db'",  # a long s: a case-insensitive regex takes it for an s
    'short = "abcdef12"',  # hex, too short to pass the entropy limit
]
KINDS = ["x.py", "x.go", "x.java", "x.js", "x.yaml", "x.ini", "x.tf", "x.m", "x.cpp", "x.toml"]


def test_every_line_a_plugin_answers_on_passes_its_sieve() -> None:
    """The sieves only spare detect-secrets work: none may hold back a line some plugin reports."""
    from detect_secrets.settings import default_settings, get_plugins

    lines = PROVIDERS + [line for text in TRICKY.values() for line in text.splitlines()] + [
        line for p in EXAMPLE.rglob("*") if p.is_file() for line in p.read_text(errors="replace").splitlines()
    ]
    answered = set()
    with default_settings():
        for plugin in get_plugins():
            candidates = set(sieve(plugin)(lines))
            for filename in KINDS:
                for line in lines:
                    if plugin.analyze_line(filename=filename, line=line):
                        answered.add(type(plugin).__name__)
                        assert line in candidates, (type(plugin).__name__, filename, line)
        assert answered == {type(plugin).__name__ for plugin in get_plugins()}  # every plugin was tried


def _results(argv: list[str], cwd: Path) -> dict[str, object]:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300, check=True)
    results: dict[str, object] = json.loads(done.stdout)["results"]
    return results


@pytest.mark.parametrize("tree", ["example", "tricky", "providers"])
def test_same_results_as_detect_secrets(tree: str, tmp_path: Path) -> None:
    trees = {"tricky": TRICKY, "providers": {f"p{i}{Path(KINDS[i % len(KINDS)]).suffix}": f"{line}\n"
                                              for i, line in enumerate(PROVIDERS)}}
    root = EXAMPLE if tree == "example" else write(tmp_path, trees[tree])
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".git" not in p.parts)
    args = ["--cores", "2", "scan", "--no-verify", *files]
    official = _results([str(toolchain.executable("secrets")), *args], root)
    fast = _results([sys.executable, str(FAST_ENTRY), *args], root)
    assert official and fast == official
    if tree == "tricky":  # the transformer paths were really taken
        assert {"deploy.yaml", "settings.ini", "credentials", "keys.json"} <= set(official)
