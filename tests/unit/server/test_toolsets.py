"""Toolsets, single tools and read-only mode, through the in-memory MCP client and `serve`'s flags."""

from pathlib import Path

import pytest
from mcp import Client

from devops_orchestra import cli
from devops_orchestra.server.app import create_server
from devops_orchestra.server.toolsets import TOOLSETS, Selection, selection
from tests.helpers import text_of

# the tools without readOnlyHint
WRITERS = {"generate_pipeline", "init_config", "run_pipeline", "test_gaps", "generate_tests"}
DEPLOYS = {"deploy", "rollout_status", "rollback"}  # only with --allow-deploy, never with --read-only


@pytest.fixture(autouse=True)
def quiet(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DEVOPS_ORCHESTRA_WARM_CHECKOV", "0")
    monkeypatch.setenv("DEVOPS_ORCHESTRA_STORE", str(tmp_path / "runs.sqlite3"))


async def listed(chosen: Selection, root: Path) -> set[str]:
    async with Client(create_server([root], chosen)) as client:
        return {t.name for t in (await client.list_tools()).tools}


async def test_default_is_every_toolset_well_under_cursors_cap(tmp_path: Path) -> None:
    server = create_server([tmp_path])
    tools = await listed(Selection(), tmp_path)
    assert tools == set(server.catalog) - DEPLOYS and len(tools) == 16 <= 40 - 20  # room for other servers' tools
    assert {info.toolset for info in server.catalog.values()} == set(TOOLSETS)


async def test_toolsets_and_tools_add_up_and_tools_alone_are_all(tmp_path: Path) -> None:
    assert await listed(selection("sql,history", "dora_metrics", False, "test"), tmp_path) == {
        "sql_analysis", "scan_history", "compare_runs", "dora_metrics"}
    assert await listed(selection(None, "review", False, "test"), tmp_path) == {"review"}


async def test_read_only_lists_only_tools_with_read_only_hint(tmp_path: Path) -> None:
    async with Client(create_server([tmp_path], Selection(read_only=True))) as client:
        tools = (await client.list_tools()).tools
    assert tools and all(t.annotations and t.annotations.read_only_hint for t in tools)
    assert {t.name for t in tools} == set(create_server([tmp_path]).catalog) - WRITERS - DEPLOYS


async def test_a_hidden_tool_called_by_name_is_refused_with_how_to_enable_it(tmp_path: Path) -> None:
    """Not only absent from tools/list: tools/call refuses it too, and says which flag enables it."""
    (tmp_path / "app.py").write_text("print(1)\n")
    async with Client(create_server([tmp_path], selection("sql", None, True, "test"))) as client:
        assert {t.name for t in (await client.list_tools()).tools} == {"sql_analysis"}
        hidden = await client.call_tool("security_scan", {"path": "."})
        writer = await client.call_tool("init_config", {"path": "."})
        unknown = await client.call_tool("no_such_tool", {})
    assert hidden.is_error and "'security_scan' is not enabled on this server" in text_of(hidden.content[0])
    assert "--toolsets security or --tools security_scan" in text_of(hidden.content[0])
    assert writer.is_error and "changes things and the server is read-only" in text_of(writer.content[0])
    assert "without --read-only" in text_of(writer.content[0])
    assert not (tmp_path / "devops_orchestra.yaml").exists()  # init_config did not run
    assert unknown.is_error and "Unknown tool" in text_of(unknown.content[0])


def test_serve_refuses_unknown_names_and_lists_the_right_ones(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["serve", "--toolsets", "security,secrets"]) == 2
    error = capsys.readouterr().err
    assert "--toolsets: unknown toolset 'secrets'" in error and ", ".join(TOOLSETS) in error
    monkeypatch.setenv("DEVOPS_ORCHESTRA_TOOLS", "security_scan,scan")
    assert cli.main(["serve"]) == 2
    error = capsys.readouterr().err
    assert "$DEVOPS_ORCHESTRA_TOOLS: unknown tool 'scan'" in error and "verify_fix" in error


def test_serve_help_lists_the_toolsets(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["serve", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert ", ".join(TOOLSETS) in help_text and "--read-only" in help_text and "DEVOPS_ORCHESTRA_READ_ONLY" in help_text
