"""Work several agents of one review need, done once: one inventory, one security scan whose semgrep also
runs the SQL agent's rules, and each agent's outcome for the others that judge it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from devops_orchestra.agents.runs import Progress
from devops_orchestra.agents.security import security_scan
from devops_orchestra.core.cache import ScanCache
from devops_orchestra.core.proc import Runner
from devops_orchestra.core.workspace import Inventory, build_inventory
from devops_orchestra.models import AgentRun, Finding, GateResult, SecurityReport
from devops_orchestra.scanners import semgrep_sql
from devops_orchestra.scanners.semgrep import SemgrepScanner


@dataclass
class Outcome:
    """What one agent of a review found, in a line, and its gate if it has one."""

    findings: list[Finding]
    summary: str
    gate: GateResult | None = None


@dataclass
class Shared:
    """Work several agents need, done once per review."""

    target: Path
    inventory: Inventory
    cache: ScanCache | None
    runners: Mapping[str, Runner] | None
    changed_only: bool
    sql_rides_along: bool  # the SQL agent runs beside the security scan, so their semgrep runs are one
    scan_progress: Progress | None = None
    _scan: asyncio.Task[SecurityReport] | None = None
    _semgrep: semgrep_sql.Prescanned = field(default_factory=semgrep_sql.Prescanned)
    agents: dict[str, asyncio.Task[tuple[AgentRun, Outcome | None]]] = field(default_factory=dict)

    def security(self) -> asyncio.Task[SecurityReport]:
        """The one security scan, started on first use."""
        if self._scan is None:
            adapters = {"semgrep": SemgrepScanner(rider=self._semgrep)} if self.sql_rides_along else None
            self._scan = asyncio.create_task(security_scan(
                self.target, inventory=self.inventory, cache=self.cache, runners=self.runners, adapters=adapters,
                progress=self.scan_progress))
        return self._scan

    async def sql_semgrep(self) -> semgrep_sql.Prescanned:
        """What the security scan's semgrep found for the SQL agent, once it has run (nothing if it failed)."""
        await asyncio.gather(self.security(), return_exceptions=True)
        return self._semgrep

    def start(self, name: str, work: Callable[[Shared], Awaitable[Outcome]]) -> None:
        """Run an agent's work in the background; others may wait for its findings."""
        self.agents[name] = asyncio.create_task(_run_agent(name, work, self))

    async def findings_of(self, *names: str) -> list[Finding]:
        """The findings of other agents of this review, once they are done (none from one that failed)."""
        done = await asyncio.gather(*(self.agents[n] for n in names if n in self.agents), return_exceptions=True)
        return [f for d in done if isinstance(d, tuple) and d[1] for f in d[1].findings]

    async def stop(self) -> None:
        """Cancel the agents and the security scan (which kills their scanners) and wait for them; a no-op
        for those already done."""
        tasks = [*self.agents.values(), *([self._scan] if self._scan else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def whole_repository(self) -> Inventory:
        """The inventory of every file, for checks of the repository as a whole (CI, CODEOWNERS...)."""
        return await asyncio.to_thread(build_inventory, self.target) if self.changed_only else self.inventory


async def _run_agent(name: str, work: Callable[[Shared], Awaitable[Outcome]],
                     shared: Shared) -> tuple[AgentRun, Outcome | None]:
    t0 = time.perf_counter()
    try:
        outcome = await work(shared)
    except Exception as exc:  # one agent failing is part of the answer, not the end of it
        return AgentRun(agent=name, status="failed", duration_s=round(time.perf_counter() - t0, 2),
                        summary="failed", error=f"{type(exc).__name__}: {exc}"), None
    return AgentRun(agent=name, status="ok", duration_s=round(time.perf_counter() - t0, 2),
                    findings=len(outcome.findings), summary=outcome.summary), outcome
