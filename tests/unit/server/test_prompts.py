"""MCP prompts from prompts/*.md: served with their arguments, rendered, and malformed files stop the start."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client

from devops_orchestra.server.app import create_server
from devops_orchestra.server.prompt_files import PromptError, load_prompts
from tests.helpers import EXAMPLE, text_of, write

GOOD = "---\ntitle: T\ndescription: D\narguments:\n  - {name: path, description: P, default: '.'}\n---\nScan $path.\n"


async def test_prompts_are_listed_and_rendered_with_defaults() -> None:
    async with Client(create_server([EXAMPLE])) as client:
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        assert {"security-review", "compliance-gaps", "migration-check", "architecture-overview",
                "generate-pipeline"} <= set(prompts)
        assert [a.name for a in prompts["migration-check"].arguments or []] == ["path", "dialect"]
        given = await client.get_prompt("compliance-gaps", {"frameworks": "pci-dss"})
        default = await client.get_prompt("migration-check", {})
    text = text_of(given.messages[0].content)
    assert "`compliance_check`" in text and "[pci-dss]" in text and "$" not in text
    assert 'dialect "postgres"' in text_of(default.messages[0].content)


@pytest.mark.parametrize(("content", "expected"), [
    ("Scan $path.\n", "must start with front matter"),
    ("---\ntitle: T\n---\nScan.\n", "description"),
    ("---\ntitle: T\ndescription: D\n---\nScan $path.\n", "uses $path but declares no such argument"),
    ("---\ntitle: [\n---\nx\n", "front matter is not valid YAML"),
    (GOOD.replace("Scan $path.", "Costs $ 5."), "a '$' that is not an argument"),
    (GOOD.replace("title: T", "titel: T"), "titel"),
])
def test_malformed_prompt_file_is_a_clear_error(tmp_path: Path, content: str, expected: str) -> None:
    write(tmp_path, {"good.md": GOOD, "bad.md": content})
    with pytest.raises(PromptError) as error:
        load_prompts(tmp_path)
    assert "bad.md" in str(error.value) and expected in str(error.value)


def test_server_refuses_to_start_with_a_malformed_prompt(tmp_path: Path) -> None:
    write(tmp_path, {"bad.md": "no front matter\n"})
    done = subprocess.run([sys.executable, "-m", "devops_orchestra", "serve", "--root", str(EXAMPLE)],
                          env={**os.environ, "DEVOPS_ORCHESTRA_PROMPTS": str(tmp_path)},
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "bad.md: it must start with front matter" in done.stderr
