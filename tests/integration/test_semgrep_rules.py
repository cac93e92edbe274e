"""Our semgrep rule pack: every rule well-formed, its positive and negative cases hold, both engines agree."""

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from devops_orchestra.core import toolchain
from devops_orchestra.core.paths import policies_dir

pytestmark = pytest.mark.scanners
RULES = policies_dir() / "semgrep"
CASES = Path(__file__).resolve().parent / "semgrep_rules"
CATEGORIES = {"sql-injection", "command-injection", "code-injection", "template-injection", "deserialization",
              "weak-crypto", "insecure-random", "tls-verification", "debug-mode", "path-traversal", "ssrf", "xss",
              "secret", "xxe", "open-redirect", "insecure-cookie", "insecure-config"}
SEMGREP_FLAGS = ["--metrics=off", "--disable-version-check", "--quiet"]


def _rules() -> list[dict[str, Any]]:
    return [r for f in sorted(RULES.glob("*.yaml")) for r in yaml.safe_load(f.read_text())["rules"]]


def _semgrep() -> str:
    exe = toolchain.executable("semgrep")
    assert exe, "semgrep is not installed: run `devops-orchestra tools install`"
    return str(exe)


def test_pack_covers_four_languages_with_complete_metadata() -> None:
    rules = _rules()
    assert len(rules) >= 40
    assert len({r["id"] for r in rules}) == len(rules)
    languages = {lang for r in rules for lang in r["languages"]}
    assert {"python", "javascript", "typescript", "go", "java"} <= languages
    for r in rules:
        meta = r["metadata"]
        assert meta["category"] in CATEGORIES, r["id"]
        assert re.match(r"CWE-\d+", meta["cwe"]) and re.match(r"A\d\d:2021", meta["owasp"]), r["id"]
        assert meta["severity"] in {"critical", "high", "medium", "low", "info"}, r["id"]
        assert meta["confidence"] in {"high", "medium", "low"}, r["id"]
        assert len(meta["remediation"]) >= 30 and r["message"], r["id"]


def test_every_rule_has_a_positive_and_a_negative_case() -> None:
    text = "\n".join(p.read_text() for p in CASES.iterdir() if p.suffix in {".py", ".js", ".ts", ".go", ".java"})
    for r in _rules():
        assert re.search(rf"ruleid:.*\b{re.escape(r['id'])}\b", text), f"no positive case for {r['id']}"
        assert re.search(rf"\bok:.*\b{re.escape(r['id'])}\b", text), f"no negative case for {r['id']}"


def test_semgrep_own_test_runner_passes() -> None:
    done = subprocess.run([_semgrep(), "--test", *SEMGREP_FLAGS, "--config", str(RULES), str(CASES)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_both_engines_give_the_same_findings() -> None:
    """We run the fast OCaml engine (--experimental); it must find what the standard engine finds."""
    targets = sorted(str(p) for p in CASES.iterdir() if p.suffix != ".md")

    def hits(*extra: str) -> set[tuple[str, str, int]]:
        done = subprocess.run([_semgrep(), "scan", "--json", *SEMGREP_FLAGS, *extra, "--config", str(RULES),
                               "--x-ignore-semgrepignore-files", *targets],
                              capture_output=True, text=True, timeout=300)
        return {(r["check_id"].rsplit(".", 1)[-1], r["path"], r["start"]["line"])
                for r in json.loads(done.stdout)["results"]}

    standard, experimental = hits(), hits("--experimental")
    assert standard and standard == experimental
