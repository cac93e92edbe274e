"""Golden tests for the scanner parsers: recorded raw JSON in, Findings out (see tests/golden/record.py)."""

import json
from pathlib import Path

import pytest

from devops_orchestra.scanners import secrets
from tests.helpers import EXAMPLE, GOLDEN, GOLDEN_TREES, SCANNER_PARSERS, write


def _tree(name: str, tmp_path: Path) -> Path:
    """Where the scanner ran when its output was recorded: the example, or a tree written again here."""
    return write(tmp_path, GOLDEN_TREES[name]) if name in GOLDEN_TREES else EXAMPLE


@pytest.mark.parametrize("name", list(SCANNER_PARSERS))
def test_parser_matches_golden(name: str, tmp_path: Path) -> None:
    raw = json.loads((GOLDEN / f"{name}.raw.json").read_text())
    expected = json.loads((GOLDEN / f"{name}.expected.json").read_text())
    got = [f.model_dump(mode="json", exclude_none=True) for f in SCANNER_PARSERS[name](raw, _tree(name, tmp_path))]
    assert got == expected
    assert got, "a golden file with no findings tests nothing"


@pytest.mark.parametrize("name", list(SCANNER_PARSERS))
def test_every_finding_is_actionable(name: str, tmp_path: Path) -> None:
    """Every finding names a file inside the scanned tree, a line, and a fix of real length."""
    tree = _tree(name, tmp_path)
    for f in json.loads((GOLDEN / f"{name}.expected.json").read_text()):
        assert (tree / f["location"]["path"]).is_file()
        assert f["location"]["start_line"] >= 1
        assert len(f["remediation"]["summary"]) >= 30, f


def test_secret_values_never_leave_the_parser() -> None:
    """detect-secrets' findings carry the hash, never the value: snippets and messages are redacted."""
    raw = json.loads((GOLDEN / "secrets.raw.json").read_text())
    for f in secrets.parse(raw, EXAMPLE):
        line = (EXAMPLE / f.location.path).read_text().splitlines()[f.location.start_line - 1]
        value_like = [tok for tok in line.replace('"', " ").replace("'", " ").replace("=", " ").split()
                      if len(tok) >= 12 and any(c.isdigit() for c in tok)]
        for tok in value_like:
            assert tok not in (f.location.snippet or "") and tok not in f.message, (f.location, tok)
