"""Repositories without webhooks, and webhooks that got lost: every interval, each watched branch's head is
fetched and submitted. A submission is idempotent (one run per repository, sha and stages), so a head already
run costs a fetch and nothing more; GitHub never redelivers a lost webhook by itself, this does the catching up.

Watched: every --poll OWNER/NAME[@BRANCH], and every branch a webhook has pushed to since the server started."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from devops_orchestra.core.errors import OrchestraError
from devops_orchestra.gitops.secrets import REDACT
from devops_orchestra.orchestra import submit
from devops_orchestra.orchestra.bus.base import Bus
from devops_orchestra.orchestra.workspaces import WorkspaceCache

log = structlog.get_logger("devops_orchestra.gitops")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smh]?)$")


@dataclass(frozen=True)
class Target:
    repo: str  # owner/name
    source: str  # clone URL
    ref: str | None  # None: the default branch


def duration(text: str) -> float:
    """Seconds in 90, 30s, 5m or 1h."""
    m = _DURATION.match(text.strip())
    if not m or float(m[1]) <= 0:
        raise OrchestraError(f"--every {text!r}: give a duration such as 30s, 5m or 1h.")
    return float(m[1]) * {"": 1, "s": 1, "m": 60, "h": 3600}[m[2]]


def target(spec: str, repo_map: dict[str, str]) -> Target:
    """OWNER/NAME[@BRANCH], fetched from its --repo-map source or from github.com."""
    repo, _, ref = spec.partition("@")
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise OrchestraError(f"--poll {spec!r}: give OWNER/NAME or OWNER/NAME@BRANCH.")
    return Target(repo, repo_map.get(repo.lower(), f"https://github.com/{repo}.git"), ref or None)


async def poll_once(bus: Bus, targets: list[Target], stages: list[str] | None = None,
                    modules: list[str] | None = None) -> list[str]:
    """Submit each target's head; the ids of the runs this created (heads not run before)."""
    created = []
    for t in targets:
        try:
            name, sha = await asyncio.to_thread(WorkspaceCache().resolve, t.source, t.ref)
            run, new = await submit.submit(bus, submit.Commit(source=t.source, repo=t.repo, ref=name, sha=sha), stages,
                                             modules)
        except Exception as exc:  # one repository unreachable must not stop the others
            log.warning("cannot poll", repo=t.repo, ref=t.ref, error=REDACT(str(exc)))
            continue
        if new:
            log.info("new commit found by polling", repo=t.repo, ref=name, sha=sha, run=run.run_id)
            created.append(run.run_id)
    return created


async def poll_forever(bus: Bus, targets: Callable[[], list[Target]], every_s: float, stop: asyncio.Event,
                       stages: list[str] | None = None, modules: list[str] | None = None) -> None:
    """poll_once on targets() now and every every_s seconds until stop is set."""
    while not stop.is_set():
        await poll_once(bus, targets(), stages, modules)
        try:
            await asyncio.wait_for(stop.wait(), every_s)
        except TimeoutError:
            pass
