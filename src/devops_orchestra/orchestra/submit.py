"""Submitting a commit to the pipeline: find its ref and sha, create its run, publish its code_push; and running
the pipeline here, in this process, for the one-machine case."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import git

from devops_orchestra.core.errors import OrchestraError, PathError
from devops_orchestra.models.events import CodePush, Envelope, new_id
from devops_orchestra.models.orchestra import PipelineRun
from devops_orchestra.orchestra import stages as registry
from devops_orchestra.orchestra.bus.base import Bus
from devops_orchestra.orchestra.runs import RunBook
from devops_orchestra.orchestra.worker import Watcher, Worker, watch
from devops_orchestra.orchestra.workspaces import WorkspaceCache, is_url, repo_name


@dataclass(frozen=True)
class Commit:
    source: str  # the local working tree, or the URL
    repo: str
    ref: str
    sha: str
    dirty: bool = False
    before: str | None = None  # what a webhook knows besides: the ref's previous sha, who pushed, a fork's PR
    pusher: str | None = None
    from_fork: bool = False


def local_commit(path: Path, ref: str | None) -> Commit:
    """The commit a local working tree is at; its uncommitted changes are part of what is analysed. Blocking."""
    path = path.expanduser().absolute()
    if not path.is_dir():
        raise PathError(f"{path} is not a directory: give a repository's working tree or a clone URL.")
    try:
        repo = git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise PathError(f"{path} is not in a git repository: the pipeline runs per commit. Run `git init` and "
                        "commit, or submit a clone URL.") from exc
    top = Path(repo.working_tree_dir or path)
    try:
        sha = repo.head.commit.hexsha
    except ValueError as exc:
        raise PathError(f"{top} has no commit yet: commit something first.") from exc
    current = "HEAD" if repo.head.is_detached else repo.active_branch.name
    if ref is not None and ref != current:
        try:
            wanted = repo.commit(ref).hexsha
        except (git.BadName, ValueError) as exc:
            raise PathError(f"git does not know {ref!r} in {top}: give a branch, tag or commit there.") from exc
        if wanted != sha:
            raise PathError(f"{top} is at {current} ({sha[:12]}), not {ref} ({wanted[:12]}): a local path is read "
                            f"in place, so check out {ref} first, or submit the clone URL with --ref {ref}.")
    return Commit(source=str(top), repo=repo_name(str(top)), ref=ref or current, sha=sha,
                  dirty=repo.is_dirty(untracked_files=True))


async def find_commit(source: str, ref: str | None) -> Commit:
    """The commit to run: a URL's ref fetched into the workspace cache, or a local working tree's HEAD."""
    if is_url(source):
        name, sha = await asyncio.to_thread(WorkspaceCache().resolve, source, ref)
        return Commit(source=source, repo=repo_name(source), ref=name, sha=sha)
    return await asyncio.to_thread(local_commit, Path(source), ref)


async def submit(bus: Bus, commit: Commit, stages: list[str] | None = None,
                 modules: list[str] | None = None) -> tuple[PipelineRun, bool]:
    """Create the commit's run and publish its code_push; the same submission twice is one run (not published
    again). Returns the run and whether this call created it."""
    chosen = [s.name for s in registry.pipeline(registry.load(modules or []), stages)]
    if not chosen:
        raise OrchestraError("no stage to run: --stages names none that consumes code_push.")
    run, created = await RunBook(bus).create(repo=commit.repo, ref=commit.ref, sha=commit.sha, source=commit.source,
                                             stages=chosen, dirty=commit.dirty, from_fork=commit.from_fork)
    if created:
        await bus.publish("code_push", Envelope(
            type="code_push", repo=commit.repo, ref=commit.ref, sha=commit.sha, run_id=run.run_id,
            correlation_id=new_id(), payload=CodePush(source=commit.source, stages=stages, before=commit.before,
                                                      pusher=commit.pusher, from_fork=commit.from_fork)))
    return run, created


async def run_here(bus: Bus, run_id: str, on_change: Watcher | None = None, *, modules: list[str] | None = None,
                   concurrency: int = 2) -> PipelineRun:
    """Work the run through its stages with a worker in this process; the finished run."""
    stop = asyncio.Event()
    worker = Worker(bus, registry.load(modules or []), concurrency=concurrency, block_s=0.2)
    working = asyncio.create_task(worker.run(stop))
    try:
        watching = asyncio.create_task(watch(RunBook(bus), run_id, on_change))
        done, _ = await asyncio.wait({working, watching}, return_when=asyncio.FIRST_COMPLETED)
        if watching not in done:  # the worker ended first: its error says why
            watching.cancel()
            working.result()
            raise OrchestraError(f"the worker stopped before run {run_id} finished")
        return watching.result()
    finally:
        stop.set()
        await working
