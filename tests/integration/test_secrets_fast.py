"""secrets_fast.py reports exactly what the detect-secrets command reports, on every kind of file."""

import itertools
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from devops_orchestra.core import toolchain
from devops_orchestra.scanners.entrypoints.secrets_fast import (
    INDIRECT_REFERENCE,
    is_indirect_reference,
    sieve,
    use_linear_indirect_reference,
)
from devops_orchestra.scanners.secrets import FAST_ENTRY
from tests.helpers import EXAMPLE, REPO, write

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
    # unknown types, read by the sieve too: a report's attribute, and a clean page
    "report.html": '<div data-key="q8Xv2LmR7tYw3Nz5Kp9Bd4Hs6Jf1Gc0Ae2Ui8OyT"></div>\n',
    "index.html": "<p>Welcome</p>\n",
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


def _output(argv: list[str], cwd: Path) -> dict[str, Any]:
    """What a scan prints (its JSON), without the time it was made at."""
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300, check=True)
    output: dict[str, Any] = json.loads(done.stdout)
    del output["generated_at"]
    return output


def _results(argv: list[str], cwd: Path) -> dict[str, object]:
    results: dict[str, object] = _output(argv, cwd)["results"]
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
        assert {"deploy.yaml", "settings.ini", "credentials", "keys.json", "report.html"} <= set(official)


# -- the indirect-reference filter, without its regex's backtracking ------------------------------------------

def _stalling(n: int) -> list[str]:
    """Lines on which detect-secrets' indirect-reference regex backtracks in time cubic in n: runs of spaces
    on both sides of an operator that no name and bracket follow, or an opening bracket nothing closes
    before the end or a vertical tab. The last two match, far along."""
    s = " " * n
    return [
        s + "=" + s + "(",
        s + "=" + s + "x",
        s + "=x(" + "a" * n,
        "| name " + s + "| default = lookup( " + s + "|",
        s + "=x(" + s + "\v)",
        s + ":=" + s + "get_secret(" + s + "z",
        "\t" * n + "!==" + "\u00a0" * n + "f(",
        "a" * n + s + "= " + "b" * n,
        "===" + s + "=x(" * (n // 3),
        s + "==" + s + "x[" + s + "]",
        s + "=" + s + "é(" + "a" * n + ")",
    ]


EDGES = [
    "", " ", "=", "==", ":=", "!==", "a(", "=a(", "=a()", "=a(]", "= a[0]", "=\ta(x)", "=\va(x)", "=a(\v)",
    "=a(x)\v", "=a(\v)b)", "a=(x)", "a = b ( c )", "=.(x)", "=-[x]", "=é(x)", "=٣(x)", "=\u00a0f(x)",
    "=\u3000f(x)", "=\x1cf(x)", "=\u200bf(x)", "=\ud800(x)", "=f(\u2028)", "=f(\n)", "=\nf()",
    "secret = get_secret_key()", "secret = request.headers['apikey']", "password = 'hunter2'",
    "if a != b(c):", "x == y[0]", "a: b(c)", "url: https://x.y/z(a)", "a(b) = c", "a=b(c\v=d(e)",
    "=a(\v)=b(", "=a(\v=b(\v)", "token = 'x' if ok else vault.read(path)", "!a(b]", ":a[b)", "!!!!a(b)",
    "=f()" + "x" * 996, "=f()" + "x" * 997, "=" + "a" * 2000 + "()",  # detect-secrets skips lines over 1000
]


def _corpus() -> dict[str, list[str]]:
    """Lines of every kind, by kind: those that stall the regex (up to 614 characters: under a second each at
    most; bench/secrets_heuristic.py goes to 1000), this repository's own, edge cases, every string of up
    to 5 characters over an alphabet of one character of each class the regex tells apart, random lines."""
    repository = [
        line for path in sorted((REPO / "examples").rglob("*")) + sorted((REPO / "src").rglob("*"))
        if path.suffix in {".py", ".tf", ".yaml", ".yml", ".md"} and path.is_file()
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
    ]
    alphabet = [" ", "\v", "=", "!", ":", "a", ".", "[", "(", "]", ")", '"']
    short = ["".join(chars) for n in range(6) for chars in itertools.product(alphabet, repeat=n)]
    rng = random.Random(14)
    letters = [*alphabet, "\t", "\n", "\x1c", "\u00a0", "\u3000", "\u2028", "é", "٣", "_", "-", "'", "`", "|",
               "$", "{", "}", "\ud800", "x", "0"]
    fuzz = ["".join(rng.choices(letters, k=rng.randrange(80))) for _ in range(20_000)]
    return {"stalling": _stalling(100) + _stalling(200), "repository": repository, "edges": EDGES,
            "short": short, "random": fuzz}


def test_linear_indirect_reference_answers_as_detect_secrets_does() -> None:
    from detect_secrets.filters import heuristic

    original = heuristic.is_indirect_reference
    assert original.__module__ == "detect_secrets.filters.heuristic"  # not ours: that is patched in main only
    assert heuristic._get_indirect_reference_regex().pattern == INDIRECT_REFERENCE
    for kind, lines in _corpus().items():
        answers = {line: original(line) for line in lines}
        assert [line for line in lines if is_indirect_reference(line) != answers[line]] == [], kind
        assert set(answers.values()) == {False, True}, kind  # both answers were tried


def test_detect_secrets_filters_call_the_linear_check(monkeypatch: pytest.MonkeyPatch) -> None:
    from detect_secrets.filters import heuristic
    from detect_secrets.settings import default_settings, get_filters

    monkeypatch.setattr(heuristic, "is_indirect_reference", heuristic.is_indirect_reference)  # undone after
    assert use_linear_indirect_reference()
    with default_settings():
        by_path = {function.path: function for function in get_filters()}
    assert by_path["detect_secrets.filters.heuristic.is_indirect_reference"] is is_indirect_reference


def test_lines_that_stall_detect_secrets_give_the_same_output_quickly(tmp_path: Path) -> None:
    s = " " * 350
    readme = [
        "# Settings", "", 'password = "hunter2-prod-db"',
        s + "=" + s + "(", "| name " + s + "| default = lookup( " + s + "|", s + "=x(" + "a" * 350,
        s + "!=" + s + "token[0", s + "db_password =" + s + '"hunter2-stall-db"',
        s + 'key = "q8Xv2LmR7tYw3Nz5Kp9Bd4Hs6Jf1Gc0Ae2Ui8OyT" if ok else vault.read(path',
        'key = "Zq8vLm2Rt7Yw3Nz5Kp9Bd4Hs6Jf1Gc0Ae2Ui8Oy"; region = lookup(zone)',
        s + 'key = "Lm2Rt7Yw3Nz5Kp9Bd4Hs6Jf1Gc0Ae2Ui8OyTq8X"; region =' + s + "lookup(zone)",
    ]
    root = write(tmp_path, {"README.md": "\n".join(readme) + "\n"})
    args = ["scan", "--no-verify", "README.md"]
    started = time.perf_counter()
    official = _output([str(toolchain.executable("secrets")), *args], root)
    official_seconds = time.perf_counter() - started
    started = time.perf_counter()
    fast = _output([sys.executable, str(FAST_ENTRY), *args], root)
    fast_seconds = time.perf_counter() - started
    assert fast == official  # settings and filters listed, results
    # the last two lines hold secrets too, but the filter drops them as indirect references
    assert [hit["line_number"] for hit in official["results"]["README.md"]] == [3, 8, 9]
    assert fast_seconds < 3, (fast_seconds, official_seconds)
