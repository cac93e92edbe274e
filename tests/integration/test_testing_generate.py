"""generate_tests on a fixture repository: Hypothesis' ghostwriter candidates run alone under coverage in the
isolated copy; one that fails is dropped, one that passes and adds coverage is kept with its delta; nothing is
written unless asked; Claude's candidates (a local server speaking the Messages API) go through the same loop."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from devops_orchestra import cli
from devops_orchestra.agents.testing.generate import generate_tests
from devops_orchestra.core.errors import OrchestraError
from tests.helpers import NODE_TESTED, PY_TESTED, json_api, write

MATHS = {"shop/maths.py": (
    "def ratio(a: int, b: int) -> float:\n    return a / b\n\n\n"  # fails for b == 0: its test is dropped
    "def clamp(x: int, low: int = 0, high: int = 10) -> int:\n"
    "    if x < low:\n        return low\n    if x > high:\n        return high\n    return x\n")}
LABEL_TEST = """```python
import unittest

from shop.report import label


class LabelTest(unittest.TestCase):
    def test_labels(self):
        self.assertEqual(label({'refunded': True}), 'refund')
        self.assertEqual(label({'total': 5000}), 'large')
        self.assertEqual(label({}), 'small')
```"""


@pytest.fixture
def bare_venv(tmp_path: Path) -> Path:
    """The repository's own environment with nothing installed: coverage.py and hypothesis must be lent to it."""
    subprocess.run([Path(sys.base_prefix) / "bin" / "python3", "-m", "venv", "--without-pip", tmp_path / ".venv"],
                   check=True)
    return tmp_path / ".venv"


async def test_a_failing_candidate_is_dropped_and_a_covering_one_kept_with_its_delta(tmp_path: Path,
                                                                                   bare_venv: Path) -> None:
    write(tmp_path, {**PY_TESTED, **MATHS})
    result = await generate_tests(tmp_path, function="shop/maths.py")
    kept = {t.target: t for t in result.tests}
    assert set(kept) == {"shop/maths.py:clamp"}, result.dropped
    clamp = kept["shop/maths.py:clamp"]
    assert clamp.source == "ghostwriter" and clamp.lines_added >= 5 and not clamp.written
    assert "@given(" in clamp.code and clamp.file == "tests/test_generated_maths_clamp.py"
    assert any(d.startswith("shop/maths.py:ratio (ghostwriter): fails: ZeroDivisionError") for d in result.dropped)
    assert result.coverage_before is not None and result.coverage_after is not None
    assert result.coverage_after > result.coverage_before
    assert "### shop/maths.py:1-2 ratio" in result.context and "An existing test to follow" in result.context
    assert not (tmp_path / clamp.file).exists()  # nothing written unless asked


def test_written_tests_land_beside_the_others_and_pass_there(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    write(tmp_path, {**PY_TESTED, **MATHS})
    assert cli.main(["tests", "generate", str(tmp_path), "--target", "shop/maths.py:clamp", "--write"]) == 0
    assert "1 generated tests kept" in capsys.readouterr().out
    assert (tmp_path / "tests" / "test_generated_maths_clamp.py").is_file()
    done = subprocess.run([sys.executable, "-m", "unittest", "discover", "-s", "tests"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Ran 4 tests" in done.stderr, done.stderr


async def test_a_function_that_would_act_on_the_world_is_left_to_a_person(tmp_path: Path) -> None:
    write(tmp_path, PY_TESTED)
    with pytest.raises(OrchestraError, match=r"no untested Python function matches 'shop/nope\.py'"):
        await generate_tests(tmp_path, function="shop/nope.py")
    result = await generate_tests(tmp_path, function="shop/server.py")
    assert result.tests == [] and any("main: not called with made-up arguments" in d for d in result.dropped)


def _messages(method: str, path: str, headers: Mapping[str, str], body: Any) -> tuple[int, dict[str, str], Any]:
    """Anthropic's Messages API, answering every request with LABEL_TEST."""
    return 200, {}, {"id": "msg_1", "type": "message", "role": "assistant", "model": body["model"],
                     "content": [{"type": "text", "text": LABEL_TEST}], "stop_reason": "end_turn",
                     "stop_sequence": None, "usage": {"input_tokens": 9, "output_tokens": 9}}


@pytest.fixture
def claude(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with json_api(_messages) as url:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
        yield


async def test_claudes_candidates_go_through_the_same_loop(tmp_path: Path, claude: None) -> None:
    write(tmp_path, PY_TESTED)
    result = await generate_tests(tmp_path, function="shop/report.py:label", use_llm=True)
    by_source = {t.source: t for t in result.tests}
    assert "anthropic" in by_source, result.dropped
    assert by_source["anthropic"].target == "shop/report.py:label" and by_source["anthropic"].lines_added >= 4


async def test_node_gets_the_gaps_context_for_the_ides_model(tmp_path: Path) -> None:
    write(tmp_path, NODE_TESTED)
    result = await generate_tests(tmp_path)
    assert result.tests == [] and result.coverage_before == result.coverage_after is not None
    assert "### lib/cart.js:1-9 discount (never run: lines 6)" in result.context
    assert "```javascript\nfunction discount(total, code) {" in result.context
    assert "An existing test to follow (test/cart.test.js)" in result.context
