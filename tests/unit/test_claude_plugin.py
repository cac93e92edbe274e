"""The Claude Code plugin at the repository root runs our own commands, as docs/ide-hook.md shows them."""

import json
import re
import shlex
from typing import Any

from devops_orchestra.cli import _parser
from devops_orchestra.cli.hook import DEFAULT_TIMEOUT_S, EDIT_TOOLS
from tests.helpers import REPO

PLUGIN = REPO / ".claude-plugin" / "plugin.json"


def _manifest() -> dict[str, Any]:
    return dict(json.loads(PLUGIN.read_text(encoding="utf-8")))


def test_the_plugin_starts_our_server_and_our_hook() -> None:
    manifest = _manifest()
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", manifest["name"])  # the reference asks for kebab-case
    (server,) = manifest["mcpServers"].values()
    assert server["command"] == "devops-orchestra"
    assert _parser().parse_args(server["args"]).command == "serve"
    (entry,) = manifest["hooks"]["PostToolUse"]
    assert set(entry["matcher"].split("|")) == set(EDIT_TOOLS)
    (hook,) = entry["hooks"]
    program, *args = shlex.split(hook["command"])
    assert program == "devops-orchestra"
    parsed = _parser().parse_args(args)
    assert (parsed.command, parsed.event) == ("hook", "post-edit")
    assert hook["timeout"] > DEFAULT_TIMEOUT_S  # our own limit ends the scan before Claude Code kills us


def test_the_settings_snippet_in_the_docs_is_the_plugins_hook() -> None:
    page = (REPO / "docs" / "ide-hook.md").read_text(encoding="utf-8")
    snippets = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", page, re.S)]
    assert {"hooks": _manifest()["hooks"]} in snippets
