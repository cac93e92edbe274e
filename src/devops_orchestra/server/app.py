"""Builds the MCP server: the tools, the resources, and the state they share."""

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import structlog
from mcp.server.mcpserver import MCPServer

from devops_orchestra import __version__
from devops_orchestra.core import toolchain
from devops_orchestra.core.cache import ScanCache
from devops_orchestra.core.store import open_store
from devops_orchestra.core.workspace import Roots
from devops_orchestra.scanners.checkov_warm import WarmCheckov, warm_wanted
from devops_orchestra.server.boundary import OrchestraServer
from devops_orchestra.server.state import AppState
from devops_orchestra.server.tools import (
    architecture,
    compliance,
    deploy,
    dora,
    history,
    orchestra,
    pipeline,
    prompts,
    review,
    security,
    sql,
    testing,
)
from devops_orchestra.server.toolsets import TOOLSETS, Selection

# Each toolset and the module that defines its tools.
GROUPS = {
    "security": security.register, "history": history.register, "compliance": compliance.register,
    "dora": dora.register, "sql": sql.register, "pipeline": pipeline.register,
    "architecture": architecture.register, "review": review.register, "orchestra": orchestra.register,
    "deploy": deploy.register,
    "testing": testing.register,
}
assert tuple(GROUPS) == TOOLSETS, "a toolset without its module, or the other way round"

WARM_AFTER_S = 2.0  # the warm checkov starts once tools/list is answered, or this long after the start

INSTRUCTIONS = (
    "DevOps agents for the repository open in the IDE. security_scan finds vulnerabilities, secrets and "
    "infrastructure misconfigurations with file, line, severity and the fix; scan_history and compare_runs "
    "show earlier runs and what changed; compliance_check maps findings and repository checks to SOC 2, HIPAA "
    "and PCI DSS controls; dora_metrics measures delivery from git history; generate_pipeline writes validated "
    "Dockerfiles, CI, Kubernetes and Terraform;"
    " sql_analysis checks SQL: migration safety (locks, rewrites, breaking changes), queries and injection;"
    " architecture_analysis maps the system (components, data stores, infrastructure, import graph) with "
    "findings and Mermaid diagrams; run_pipeline runs the orchestra's stages for a commit;"
    " test_gaps runs the repository's own tests with coverage (executing its code) and ranks what they leave unrun;"
    " generate_tests keeps candidate tests that pass and add coverage."
)


def create_server(
    roots: list[Path], selection: Selection | None = None, where: str = "--tools"
) -> OrchestraServer:
    """The MCP server with the selected tools (default: the default toolsets), every resource and prompt,
    allowed to read only under these roots. `where` names what made the selection, in its errors."""
    allowed = Roots(roots)
    store = open_store()
    cache = None if os.environ.get("DEVOPS_ORCHESTRA_NO_CACHE") else ScanCache()

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        log = structlog.get_logger("devops_orchestra")
        scanners = {t.name: t.version or "NOT INSTALLED" for t in toolchain.status()}
        log.info("server ready", roots=[str(r) for r in allowed.roots], scanners=scanners, store=str(store.path))
        warm = WarmCheckov()
        starting = False

        async def warm_soon() -> None:
            # checkov's 2 s import takes a core: not while the client's handshake waits for its tools/list
            nonlocal starting
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.tools_listed.wait(), WARM_AFTER_S)
                await asyncio.sleep(0.2)  # the answer is on its way, and the client's next step too
            starting = True
            await warm.start()  # imports checkov in the background; the first scan may wait for it

        starter = asyncio.create_task(warm_soon()) if warm_wanted() else None
        try:
            yield AppState(roots=allowed, store=store, cache=cache, runners={"checkov": warm.run})
        finally:
            if starter is not None:
                if not starting:
                    starter.cancel()
                await asyncio.gather(starter, return_exceptions=True)  # a started process is then stopped
            await warm.close()

    server = OrchestraServer(
        "devops-orchestra", version=__version__, instructions=INSTRUCTIONS, lifespan=lifespan,
        selection=selection or Selection(),
    )
    server.register_toolsets(GROUPS, where)
    prompts.register(server)
    return server

