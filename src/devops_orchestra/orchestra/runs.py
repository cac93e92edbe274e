"""Pipeline runs kept in the bus's shared state, so every shell (memory://: SQLite) or machine (redis://) sees
the same runs. A run is written by one party at a time: the submitter creates it, then the worker holding the
ref's lease (worker.py) updates it, so a plain put is enough.

A run, its submission key and its ref's head are kept for the retention period (retention.py) after their last
change; an index of run ids by creation time, trimmed with the same period, lets `runs` read only the newest."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable

from devops_orchestra.core.errors import OrchestraError
from devops_orchestra.models.events import new_id
from devops_orchestra.models.orchestra import PipelineRun, RunState, StageRecord, now
from devops_orchestra.orchestra.bus.base import Bus
from devops_orchestra.orchestra.retention import RUNS_INDEX, Retention, retention

RUN = "run:"
SUBMISSION = "submission:"
HEAD = "head:"  # the newest run submitted for a (repo, ref): older unstarted ones are superseded by it


def head_key(repo: str, ref: str) -> str:
    return f"{HEAD}{repo}@{ref}"


class RunBook:
    """Create, read and update pipeline runs on a bus."""

    def __init__(self, bus: Bus, keep: Retention | None = None) -> None:
        self.bus = bus
        self.keep_s = (keep or retention()).runs_s

    async def create(self, *, repo: str, ref: str, sha: str, source: str, stages: list[str],
                     dirty: bool = False, from_fork: bool = False) -> tuple[PipelineRun, bool]:
        """The run of this submission, and whether this call created it: the same (repo, sha, stages) twice
        is one run (a dirty tree is a submission of its own each time: its content is not the commit's; a fork's
        pull request is one apart from the same sha pushed to the repository, which may deploy it)."""
        run_id = new_id()[:12]
        identity = f"{repo}\0{sha}\0{','.join(stages)}" + (f"\0dirty {run_id}" if dirty else "") + (
            "\0fork" if from_fork else "")
        key = SUBMISSION + hashlib.sha256(identity.encode()).hexdigest()[:32]
        if not await self.bus.set_once(key, run_id, ttl_s=self.keep_s):
            existing = await self.bus.get(key)
            run = await self.get(existing) if existing else None
            if run is None:  # the submitter died between the two writes: this one finishes its job
                run = PipelineRun(run_id=existing or run_id, repo=repo, ref=ref, sha=sha, source=source, dirty=dirty,
                                  from_fork=from_fork, stages=[StageRecord(name=s) for s in stages])
                await self.save(run)
                await self._index(run)
            return run, False
        run = PipelineRun(run_id=run_id, repo=repo, ref=ref, sha=sha, source=source, dirty=dirty,
                          from_fork=from_fork, stages=[StageRecord(name=s) for s in stages])
        await self.save(run)
        await self._index(run)
        await self.bus.put(head_key(repo, ref), run_id, ttl_s=self.keep_s)
        return run, True

    async def _index(self, run: PipelineRun) -> None:
        """List the run by its creation time, dropping from the index the runs past the retention period."""
        await self.bus.index_add(RUNS_INDEX, run.run_id, run.created_at.timestamp(),
                                 drop_below=time.time() - self.keep_s)

    async def get(self, run_id: str) -> PipelineRun | None:
        text = await self.bus.get(RUN + run_id)
        return PipelineRun.model_validate_json(text) if text else None

    async def require(self, run_id: str) -> PipelineRun:
        run = await self.get(run_id)
        if run is None:
            raise OrchestraError(f"No pipeline run {run_id!r} on this bus: `devops-orchestra runs` lists them "
                                 "(is --bus / DEVOPS_ORCHESTRA_BUS the one it was submitted to?).")
        return run

    async def save(self, run: PipelineRun) -> PipelineRun:
        run = run.model_copy(update={"updated_at": now()})
        await self.bus.put(RUN + run.run_id, run.model_dump_json(exclude_none=True), ttl_s=self.keep_s)
        return run

    async def update(self, run_id: str, change: Callable[[PipelineRun], None]) -> PipelineRun:
        """Apply change to a copy of the run and save it."""
        run = (await self.require(run_id)).model_copy(deep=True)
        change(run)
        return await self.save(run)

    async def newest(self, limit: int) -> list[PipelineRun]:
        """The newest runs, newest first, at most limit: read through the index, not every record."""
        ids = await self.bus.index_newest(RUNS_INDEX, limit)
        return [run for run in await asyncio.gather(*map(self.get, ids)) if run is not None]  # None: expired

    async def head(self, repo: str, ref: str) -> str | None:
        """The run id of the newest submission for this ref."""
        return await self.bus.get(head_key(repo, ref))


def finish(run: PipelineRun, state: RunState, *, error: str | None = None) -> None:
    """Mark run as ended; stages that never started say so."""
    run.state = state
    run.error = error
    for s in run.stages:
        if s.state == "waiting":
            s.state = "not reached"
