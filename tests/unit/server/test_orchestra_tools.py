"""run_pipeline and pipeline_status through the in-memory MCP client, on the default (memory://) bus."""

from pathlib import Path

import git
import pytest
from mcp import Client

from devops_orchestra.models.orchestra import PipelineRun
from devops_orchestra.server.app import create_server
from tests.helpers import text_of, write


async def test_run_pipeline_reports_each_stage_and_pipeline_status_finds_the_run(tmp_path: Path) -> None:
    root = write(tmp_path / "shop", {"app.py": "def hello():\n    return 'hi'\n"})
    repo = git.Repo.init(root, initial_branch="main")
    repo.index.add(["app.py"])
    sha = repo.index.commit("first", author=git.Actor("t", "t@example.com")).hexsha
    steps: list[tuple[float, float | None, str]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        steps.append((progress, total, message or ""))

    async with Client(create_server([tmp_path])) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools["run_pipeline"].input_schema["properties"]) == {"path", "ref", "stages"}
        assert tools["pipeline_status"].annotations and tools["pipeline_status"].annotations.read_only_hint
        result = await client.call_tool("run_pipeline", {"path": "shop", "stages": ["analysis"]},
                                        progress_callback=on_progress)
        assert not result.is_error, result.content
        run = PipelineRun.model_validate(result.structured_content)
        assert (run.state, run.sha, run.stage("analysis").state) == ("succeeded", sha, "succeeded")
        assert text_of(result.content[0]).startswith(f"Pipeline run {run.run_id} of shop main {sha[:12]}: succeeded")
        assert steps[0] == (0, 1, "queued") and steps[-1][:2] == (1, 1)
        assert any(m.startswith("analysis: running") for _, _, m in steps)
        assert steps[-1][2].startswith("analysis: succeeded: safe to merge")

        status = await client.call_tool("pipeline_status", {"run_id": run.run_id})
        assert PipelineRun.model_validate(status.structured_content) == run
        missing = await client.call_tool("pipeline_status", {"run_id": "nope"})
        assert missing.is_error and "No pipeline run 'nope' on this bus" in text_of(missing.content[0])
        outside = await client.call_tool("run_pipeline", {"path": "/etc"})
        assert outside.is_error and "outside the directories this server may read" in text_of(outside.content[0])


@pytest.mark.parametrize("stages", [["plan"], ["nope"]])
async def test_run_pipeline_refuses_stages_that_cannot_run(tmp_path: Path, stages: list[str]) -> None:
    root = write(tmp_path, {"a.py": "A = 1\n"})
    repo = git.Repo.init(root, initial_branch="main")
    repo.index.add(["a.py"])
    repo.index.commit("first", author=git.Actor("t", "t@example.com"))
    async with Client(create_server([tmp_path])) as client:
        result = await client.call_tool("run_pipeline", {"stages": stages})
    assert result.is_error and ("would never run" in text_of(result.content[0])
                                or "no stage nope" in text_of(result.content[0]))


async def test_run_pipeline_never_deploys_from_a_server_without_allow_deploy(tmp_path: Path) -> None:
    root = write(tmp_path, {"index.html": "<h1>hi</h1>\n"})
    repo = git.Repo.init(root, initial_branch="main")
    repo.index.add(["index.html"])
    repo.index.commit("first", author=git.Actor("t", "t@example.com"))
    async with Client(create_server([tmp_path])) as client:
        named = await client.call_tool("run_pipeline", {"stages": ["analysis", "plan", "test", "build", "deploy"]})
        assert named.is_error and "start it with `serve --allow-deploy`" in text_of(named.content[0])
        result = await client.call_tool("run_pipeline", {})
    run = PipelineRun.model_validate(result.structured_content)
    assert [s.name for s in run.stages] == ["analysis", "plan", "test", "build"], run
