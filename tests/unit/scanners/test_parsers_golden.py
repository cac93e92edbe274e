"""Golden tests for the scanner parsers: recorded raw JSON in, Findings out (see tests/golden/record.py)."""

import json

import pytest

from devops_orchestra.scanners import secrets
from tests.helpers import EXAMPLE, GOLDEN, SCANNER_PARSERS


@pytest.mark.parametrize("name", list(SCANNER_PARSERS))
def test_parser_matches_golden(name: str) -> None:
    raw = json.loads((GOLDEN / f"{name}.raw.json").read_text())
    expected = json.loads((GOLDEN / f"{name}.expected.json").read_text())
    got = [f.model_dump(mode="json", exclude_none=True) for f in SCANNER_PARSERS[name](raw, EXAMPLE)]
    assert got == expected
    assert got, "a golden file with no findings tests nothing"


@pytest.mark.parametrize("name", list(SCANNER_PARSERS))
def test_every_finding_is_actionable(name: str) -> None:
    """Every finding names a file inside the example, a line, and a fix of real length."""
    for f in json.loads((GOLDEN / f"{name}.expected.json").read_text()):
        assert (EXAMPLE / f["location"]["path"]).is_file()
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
