"""Which tools a server offers: toolsets (one per server/tools module), single tools, and read-only mode.

A tool left out is never registered, so tools/list cannot show it and tools/call cannot reach it; a call naming
it by hand gets a message saying how to enable it (filters applied to tools/list alone were CVE-2026-46519).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from devops_orchestra.core.errors import OrchestraError

# Named after the server/tools modules that register them, in the order they are registered.
TOOLSETS = ("security", "history", "compliance", "dora", "sql", "pipeline", "architecture", "review", "orchestra",
            "deploy", "testing")
# Toolsets that change running environments: offered only when the server is started with --allow-deploy and
# without --read-only (rollout_status too: the toolset comes and goes as one).
DEPLOY_TOOLSETS = frozenset({"deploy"})
# Every toolset today: 16 tools (19 with deploy), well under the 40 tools Cursor sends of all servers together.
DEFAULT_TOOLSETS = TOOLSETS

TOOLSETS_ENV = "DEVOPS_ORCHESTRA_TOOLSETS"
TOOLS_ENV = "DEVOPS_ORCHESTRA_TOOLS"
READ_ONLY_ENV = "DEVOPS_ORCHESTRA_READ_ONLY"
ALLOW_DEPLOY_ENV = "DEVOPS_ORCHESTRA_ALLOW_DEPLOY"


@dataclass(frozen=True)
class ToolInfo:
    """What a selection needs to know of a tool: its name, its toolset, and whether it only reads."""

    name: str
    toolset: str
    read_only: bool


@dataclass(frozen=True)
class Selection:
    """Toolsets and single tools chosen, and read-only mode. No toolsets and no tools means the defaults;
    tools alone means only those tools."""

    toolsets: frozenset[str] = frozenset()
    tools: frozenset[str] = frozenset()
    read_only: bool = False
    allow_deploy: bool = False

    def allows(self, tool: ToolInfo) -> bool:
        toolsets = self.toolsets or (frozenset() if self.tools else frozenset(DEFAULT_TOOLSETS))
        chosen = tool.toolset in toolsets or tool.name in self.tools
        deploys = tool.toolset not in DEPLOY_TOOLSETS or (self.allow_deploy and not self.read_only)
        return chosen and deploys and (tool.read_only or not self.read_only)


def names(value: str | None) -> frozenset[str]:
    """A comma-separated list ('security, sql') as a set of names; empty for None or ''."""
    return frozenset(n.strip() for n in (value or "").split(",") if n.strip())


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def selection(toolsets: str | None, tools: str | None, read_only: bool, where: str,
              allow_deploy: bool = False) -> Selection:
    """A selection from the flags, the environment or a request's headers; `where` names them in errors."""
    chosen = names(toolsets)
    unknown = sorted(chosen - set(TOOLSETS))
    if unknown:
        raise OrchestraError(f"{where}: unknown toolset {', '.join(map(repr, unknown))}. "
                             f"The toolsets are: {', '.join(TOOLSETS)}.")
    return Selection(chosen, names(tools), read_only, allow_deploy)


def selection_from_env(environ: Mapping[str, str]) -> Selection:
    """The selection $DEVOPS_ORCHESTRA_TOOLSETS, _TOOLS and _READ_ONLY make (the defaults when unset)."""
    return selection(environ.get(TOOLSETS_ENV), environ.get(TOOLS_ENV), truthy(environ.get(READ_ONLY_ENV)),
                     TOOLSETS_ENV, truthy(environ.get(ALLOW_DEPLOY_ENV)))


def check_tool_names(chosen: Selection, catalog: Iterable[ToolInfo], where: str) -> None:
    """Refuse a selection naming a tool that does not exist (a typo would otherwise hide every tool)."""
    known = sorted(t.name for t in catalog)
    unknown = sorted(chosen.tools - set(known))
    if unknown:
        raise OrchestraError(f"{where}: unknown tool {', '.join(map(repr, unknown))}. The tools are: "
                             f"{', '.join(known)}.")


def not_enabled(tool: ToolInfo, chosen: Selection, how: str) -> str:
    """Why a tool cannot be called, and how to enable it. `how` says what chose: 'server' (flags and
    environment) or 'request' (the team server's headers)."""
    if how == "request":
        steps = (f"add {tool.toolset!r} to the X-Devops-Orchestra-Toolsets header or {tool.name!r} to "
                 "X-Devops-Orchestra-Tools (or drop those headers)")
        read_only = "drop the X-Devops-Orchestra-Read-Only header"
        where = "for this connection: the X-Devops-Orchestra-* headers your client sends leave it out"
    else:
        steps = (f"start the server with --toolsets {tool.toolset} or --tools {tool.name} "
                 f"(or ${TOOLSETS_ENV} / ${TOOLS_ENV})")
        read_only = f"start it without --read-only (and ${READ_ONLY_ENV})"
        where = "on this server"
    if tool.toolset in DEPLOY_TOOLSETS and (not chosen.allow_deploy or chosen.read_only):
        if how == "request":
            return f"The tool {tool.name!r} is not enabled for this connection (it deploys)."
        return (f"The tool {tool.name!r} is not enabled on this server: it deploys, and deploy tools are offered "
                f"only when the server is started with --allow-deploy (or ${ALLOW_DEPLOY_ENV}=1), and not "
                "--read-only.")
    if chosen.read_only and not tool.read_only:
        steps = read_only if chosen.allows(ToolInfo(tool.name, tool.toolset, True)) else f"{steps}, and {read_only}"
        why = "it changes things and the server is read-only"
    else:
        why = f"it is in the {tool.toolset!r} toolset, which is not selected"
    return f"The tool {tool.name!r} is not enabled {where} ({why}). To enable it, {steps}."
