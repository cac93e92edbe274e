"""deploy, rollout_status and rollback from an MCP client: absent without --allow-deploy, hidden by
--read-only, confirmed by elicitation or a single-use token; a refused deploy starts nothing."""

import asyncio
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from mcp import Client, StdioServerParameters
from mcp_types import ElicitResult

from devops_orchestra.deploy import rollout
from devops_orchestra.pipeline.config import parse
from devops_orchestra.server.app import create_server
from devops_orchestra.server.toolsets import Selection
from tests.helpers import free_port, need_binaries, text_of, webapp_config, webapp_repo

DEPLOY_TOOLS = {"deploy", "rollout_status", "rollback"}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, str]]:
    monkeypatch.setenv("DEVOPS_ORCHESTRA_DEPLOYS", str(tmp_path / "deploys"))
    config = webapp_config(free_port(), "    prod: {target: local, instances: 1, production: true}\n")
    return tmp_path / "repo", webapp_repo(tmp_path / "repo", config)


@pytest.mark.parametrize("selection", [Selection(), Selection(allow_deploy=True, read_only=True)])
async def test_without_allow_deploy_or_read_only_the_tools_are_absent_and_refused(
        repo: tuple[Path, dict[str, str]], tmp_path: Path, selection: Selection) -> None:
    root, shas = repo
    async with Client(create_server([root], selection)) as client:
        listed = {t.name for t in (await client.list_tools()).tools}
        refused = await client.call_tool("deploy", {"service": "web", "ref": shas["good"], "environment": "dev"})
    assert not listed & DEPLOY_TOOLS
    assert refused.is_error and "--allow-deploy" in text_of(refused.content[0])
    assert not (tmp_path / "deploys").exists()


async def _until_done(client: Client, deployment_id: str) -> dict[str, Any]:
    for _ in range(300):
        status = (await client.call_tool("rollout_status", {"deployment_id": deployment_id})).structured_content
        assert status is not None
        if status["state"] != "running":
            return dict(status)
        await asyncio.sleep(0.1)
    raise AssertionError("the deploy never ended")


async def test_a_token_confirms_once_and_a_wrong_one_starts_nothing(
        repo: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    need_binaries("haproxy", "prometheus")
    root, shas = repo
    args = {"service": "web", "ref": shas["good"], "environment": "dev"}
    try:
        async with Client(create_server([root], Selection(allow_deploy=True))) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert tools["deploy"].annotations and tools["deploy"].annotations.destructive_hint
            assert "answer" not in tools["deploy"].input_schema["properties"]
            planned = (await client.call_tool("deploy", args)).structured_content
            assert planned and planned["status"] == "needs confirmation"
            wrong = await client.call_tool("deploy", {**args, "confirmation": "not-the-token"})
            assert wrong.is_error and "Nothing was deployed" in text_of(wrong.content[0])
            assert not (tmp_path / "deploys").exists()
            started = (await client.call_tool("deploy", {**args, "confirmation": planned["confirmation_token"]}))
            assert started.structured_content and started.structured_content["status"] == "started"
            again = await client.call_tool("deploy", {**args, "confirmation": planned["confirmation_token"]})
            assert again.is_error and "used already" in text_of(again.content[0])
            done = await _until_done(client, planned["plan"]["deployment_id"])
            assert done["state"] == "succeeded", done
            prod = await client.call_tool("deploy", {**args, "environment": "prod"})
            assert prod.is_error and "review" in text_of(prod.content[0]) and "compliance" in text_of(prod.content[0])
    finally:
        await rollout.undeploy(parse((root / "devops_orchestra.yaml").read_text()), service="web", environment="dev")


@pytest.mark.parametrize("mode", ["auto", "legacy"])  # input_required rounds (2026-07-28), a mid-call request
async def test_elicitation_confirms_or_declines_the_plan(repo: tuple[Path, dict[str, str]], tmp_path: Path,
                                                         mode: Literal["auto", "legacy"]) -> None:
    need_binaries("haproxy", "prometheus")
    root, shas = repo
    answers: Iterator[dict[str, str | int | float | bool | list[str] | None]] = iter([{"deploy": False},
                                                                                     {"deploy": True}])
    asked: list[str] = []

    async def person(context: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content=next(answers))

    args = {"service": "web", "ref": shas["good"], "environment": "dev"}
    try:
        async with Client(create_server([root], Selection(allow_deploy=True)), elicitation_callback=person,
                          mode=mode) as client:
            declined = (await client.call_tool("deploy", args)).structured_content
            assert declined and declined["status"] == "not confirmed"
            assert not (tmp_path / "deploys").exists()
            started = (await client.call_tool("deploy", args)).structured_content
            assert started and started["status"] == "started"
            done = await _until_done(client, started["plan"]["deployment_id"])
        assert done["state"] == "succeeded" and done["plan"]["started_by"].startswith("mcp client")
        assert shas["good"][:12] in asked[0] and asked[0].endswith("Deploy?")
    finally:
        await rollout.undeploy(parse((root / "devops_orchestra.yaml").read_text()), service="web", environment="dev")


@pytest.mark.parametrize("flags", [[], ["--allow-deploy"], ["--allow-deploy", "--read-only"]])
async def test_the_serve_command_offers_the_deploy_tools_only_with_allow_deploy(tmp_path: Path,
                                                                                 flags: list[str]) -> None:
    env = {k: os.environ[k] for k in ("PATH", "DEVOPS_ORCHESTRA_STORE", "DEVOPS_ORCHESTRA_CACHE")}
    params = StdioServerParameters(command=sys.executable, env=env,
                                   args=["-m", "devops_orchestra", "serve", "--root", str(tmp_path), *flags])
    async with Client(params) as client:
        listed = {t.name for t in (await client.list_tools()).tools}
    assert (listed >= DEPLOY_TOOLS) if flags == ["--allow-deploy"] else not listed & DEPLOY_TOOLS
