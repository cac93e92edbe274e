"""generate_pipeline and init_config through the in-memory MCP client; the CLI's generate and init."""

import json
from pathlib import Path

import pytest
from mcp import Client

from devops_orchestra import cli
from devops_orchestra.models import SeveritySummary
from devops_orchestra.models.pipeline import GeneratedArtifacts, GeneratedFile
from devops_orchestra.server.app import create_server
from devops_orchestra.server.tools.pipeline import fit
from tests.helpers import EXPRESS_NPM, FLASK, GO, RUST, text_of, write

pytestmark = pytest.mark.scanners


@pytest.fixture(autouse=True)
def cold_checkov(monkeypatch: pytest.MonkeyPatch) -> None:
    """No warm checkov per server here: its import (2 CPU s at full priority) would crowd the other worker's
    timing-sensitive scanner tests; generation then runs checkov at the polite priority."""
    monkeypatch.setenv("DEVOPS_ORCHESTRA_WARM_CHECKOV", "0")


async def test_tools_are_listed_lean() -> None:
    async with Client(create_server([Path.cwd()])) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    gen, init = tools["generate_pipeline"], tools["init_config"]
    assert gen.output_schema is not None and gen.annotations is not None
    assert set(gen.input_schema["properties"]) == {"path", "artifacts", "write", "overwrite"}
    assert {"files", "linters", "clean", "unsatisfied"} <= set(gen.output_schema["properties"])
    assert set(init.input_schema["properties"]) == {"path"}
    assert gen.annotations.read_only_hint is False and gen.annotations.open_world_hint is False
    assert len(json.dumps(gen.model_dump(mode="json", exclude_none=True))) < 8_100  # grows with the scanner names


async def test_generate_writes_only_when_asked_and_never_overwrites_unless_told(tmp_path: Path) -> None:
    root = write(tmp_path / "svc", FLASK)
    (root / "Dockerfile").write_text("FROM python:3.12.8-slim-bookworm\n")
    async with Client(create_server([root])) as client:
        dry = await client.call_tool("generate_pipeline", {"artifacts": ["dockerfile", "kubernetes"]})
        assert not dry.is_error, dry.content
        report = GeneratedArtifacts.model_validate(dry.structured_content)
        assert report.clean and {f.status for f in report.files} == {"not-written"}
        assert not (root / "k8s").exists() and (root / "Dockerfile").read_text().count("\n") == 1
        assert "validation clean" in text_of(dry.content[0])

        wrote = GeneratedArtifacts.model_validate((await client.call_tool(
            "generate_pipeline", {"artifacts": ["dockerfile", "kubernetes"], "write": True})).structured_content)
        status = {f.path: f.status for f in wrote.files}
        assert status == {"Dockerfile": "kept-existing", ".dockerignore": "written",
                          "k8s/00-namespace.yaml": "written", "k8s/01-svc.yaml": "written"}
        manifest = next(f.content for f in wrote.files if f.path.endswith("svc.yaml"))
        assert (root / "k8s/01-svc.yaml").read_text() == manifest

        forced = GeneratedArtifacts.model_validate((await client.call_tool(
            "generate_pipeline", {"artifacts": ["dockerfile"], "write": True, "overwrite": True})).structured_content)
        dockerfile = next(f for f in forced.files if f.path == "Dockerfile")
        assert dockerfile.status == "overwritten" and dockerfile.diff
        assert dockerfile.diff.startswith("--- a/Dockerfile\n+++ b/Dockerfile\n") and "+USER 10001" in dockerfile.diff
        assert (root / "Dockerfile").read_text() == dockerfile.content
        assert next(f for f in forced.files if f.path == ".dockerignore").status == "unchanged"

        history = await client.call_tool("scan_history", {})
        assert [r["agent"] for r in history.structured_content["runs"]] == ["pipeline"] * 3
        text = (await client.read_resource(f"orchestra://runs/{forced.run_id}/artifacts/Dockerfile")).contents[0]
        assert text_of(text) == dockerfile.content


async def test_init_config_and_clear_errors(tmp_path: Path) -> None:
    write(tmp_path / "api", EXPRESS_NPM)
    write(tmp_path / "rust", RUST)
    write(tmp_path / "bad", {**GO, "devops_orchestra.yaml": "deployment:\n  stratgy: canary\n"})
    async with Client(create_server([tmp_path])) as client:
        init = await client.call_tool("init_config", {"path": "api"})
        assert not init.is_error and "port: 4000" in init.structured_content["content"]
        again = await client.call_tool("init_config", {"path": "api"})
        assert again.is_error and "already exists" in text_of(again.content[0])
        bad = await client.call_tool("generate_pipeline", {"path": "bad"})
        assert bad.is_error and "line 2: unknown key 'stratgy'" in text_of(bad.content[0])
        outside = await client.call_tool("generate_pipeline", {"path": "../.."})
        assert outside.is_error and "outside the directories" in text_of(outside.content[0])
        unknown = await client.call_tool("generate_pipeline", {"path": "api", "artifacts": ["helm"]})
        assert unknown.is_error and "helm" in text_of(unknown.content[0])
        nothing = await client.call_tool("generate_pipeline", {"path": "rust", "artifacts": ["dockerfile"]})
        assert not nothing.is_error
        report = GeneratedArtifacts.model_validate(nothing.structured_content)
        assert report.files == [] and report.unsatisfied[0].rule_id == "pipeline:stack"
        assert "rust" in report.unsatisfied[0].reason and "ANTHROPIC_API_KEY" in report.unsatisfied[0].reason


def test_big_contents_move_to_resources() -> None:
    """Over the response budget the largest files' contents are left out and named by URI."""
    files = [GeneratedFile(artifact="kubernetes", path=f"k8s/{i:02d}.yaml", content="x" * 9_000, size=9_000,
                           status="not-written") for i in range(8)]
    report = GeneratedArtifacts(
        run_id="r1", root="/r", path=".", duration_s=1, summary=SeveritySummary(), findings=[], findings_returned=0,
        findings_total=0, truncated=False, config="inferred", components=[], files=files, linters=[], clean=True)
    shown = fit(report)
    assert len(shown.model_dump_json(exclude_none=True)) < 46_000
    moved = [f for f in shown.files if f.content is None]
    assert moved and all(f.content_uri == f"orchestra://runs/r1/artifacts/{f.path}" for f in moved)
    assert all(f.content for f in report.files)  # the stored report keeps everything


def test_cli_init_and_generate_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write(tmp_path / "svc", GO)
    assert cli.main(["init", str(root)]) == 0
    assert cli.main(["generate", str(root), "--write"]) == 0
    out = capsys.readouterr().out
    assert "validation clean" in out and "- Dockerfile [written]" in out
    assert (root / ".github/workflows/ci.yml").is_file() and (root / "k8s/01-svc.yaml").is_file()
    assert cli.main(["generate", str(root), "--artifacts", "helm"]) == 2
