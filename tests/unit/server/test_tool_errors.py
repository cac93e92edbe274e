"""Every error a tool returns says what was wrong and what to do, through the in-memory MCP client."""

from pathlib import Path

import git
import pytest
from mcp import Client

from devops_orchestra.agents import dora as agents_dora
from devops_orchestra.server.app import create_server
from tests.helpers import text_of, write


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DEVOPS_ORCHESTRA_WARM_CHECKOV", "0")
    monkeypatch.setenv("DEVOPS_ORCHESTRA_STORE", str(tmp_path / "runs.sqlite3"))
    root = write(tmp_path / "repo", {"app.py": "print(1)\n"})
    repo = git.Repo.init(root, initial_branch="main")
    repo.index.add(["app.py"])
    repo.index.commit("first", author=git.Actor("t", "t@example.com"))
    return root


async def test_an_over_long_path_is_a_path_error_a_person_can_act_on(repo: Path) -> None:
    async with Client(create_server([repo])) as client:
        results = [await client.call_tool(tool, {"path": "a" * 5000})
                   for tool in ("review", "dora_metrics", "generate_pipeline", "architecture_analysis", "init_config")]
    for result in results:
        text = text_of(result.content[0])
        assert result.is_error and "cannot be used as a path: File name too long" in text, text
        assert "(5000 characters)" in text and len(text) < 500 and "inside the workspace" in text


async def test_dora_with_nothing_matching_a_non_ascii_tag_pattern_answers(repo: Path) -> None:
    """It used to fail the output schema (a metric without a value), seen as a bare 'Error executing tool'."""
    async with Client(create_server([repo])) as client:
        result = await client.call_tool("dora_metrics", {"tag_pattern": "vé*"})
    assert not result.is_error, result.content


async def test_an_unexpected_exception_names_the_tool_the_error_and_what_to_do(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def crash(*_: object, **__: object) -> None:
        raise KeyError("token=ghp_" + "a1" * 20)

    monkeypatch.setattr(agents_dora, "recorded_dora_metrics", crash)  # the tool imports it when called
    async with Client(create_server([repo])) as client:
        result = await client.call_tool("dora_metrics", {})
    text = text_of(result.content[0])
    assert result.is_error and text.startswith("dora_metrics failed: KeyError: ")
    assert "a1a1a1" not in text  # secrets never included
    assert "this is a bug in devops-orchestra: please report it with error id " in text
