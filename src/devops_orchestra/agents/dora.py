"""DORA metrics from git history: deployment frequency, lead time for changes, change failure rate and
time to restore, each with how it was derived.

A deployment is one recorded by `deploy` in the run store (production environments' when there are any;
rolled back or later undone by `rollback`: failed, restored when traffic was back on stable), else a release
tag (matching a pattern, pre-releases left out unless asked) or a merge into the default branch. Such a
deployment failed when it is the first to ship a commit that a later deployment reverts, or when a hotfix
ships after it; it is restored by the first deployment whose history carries the revert or the
hotfix. A revert shipped together with the commit it reverts never reached anyone: not a failure. Blocking:
run in a worker thread.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING

from devops_orchestra.agents.runs import recorded
from devops_orchestra.core.errors import PathError
from devops_orchestra.core.store import Store

if TYPE_CHECKING:
    import git
from devops_orchestra.models import Band, DeploymentRecord, DoraMetric, DoraReport
from devops_orchestra.models.dora import DeploymentSource
from devops_orchestra.models.requests import DoraRequest

REVERT = re.compile(r"This reverts commit ([0-9a-f]{7,40})")
HOTFIX = re.compile(r"^(hotfix|fix\(hotfix\)|\[hotfix\])|\bhotfix/|\bhot-?fix\b", re.IGNORECASE)
# SemVer pre-release: a numeric core, then "-" and identifiers (1.2.3-rc1, v4.7.0-beta1, 2.0-SNAPSHOT).
SEMVER_PRERELEASE = re.compile(r"^[vV]?\d+(\.\d+){0,2}-[0-9A-Za-z.-]+(\+[0-9A-Za-z.-]+)?$")
DEPLOYMENTS_SHOWN = 30
HOUR = 3600.0


@dataclass
class DetectedDeployment:
    """A release tag or a merge to the default branch, with what it shipped and whether it failed."""

    ref: str
    commit: git.Commit
    at: float
    changes: list[git.Commit] = field(default_factory=list)  # commits it shipped first
    failed_by: str | None = None
    restored_at: float | None = None


def dora_metrics(target: Path, *, days: int = 90, deployments: DeploymentSource = "auto",
                 tag_pattern: str = "*", include_prereleases: bool = False, run_id: str = "",
                 display_path: str = ".", store: Store | None = None) -> DoraReport:
    """The four DORA metrics of target's repository over the last days, each with how it was derived. Blocking."""
    started = time.perf_counter()
    repo = _open(target)
    until = time.time()
    since = until - days * 86400
    branch = _default_branch(repo)
    last_commit_at = float(repo.commit(branch).committed_date)
    inactive = None
    if last_commit_at < since:  # a quiet repository, not a slow team: say so rather than report bare zeros
        last = datetime.fromtimestamp(last_commit_at, UTC).strftime("%Y-%m-%d")
        inactive = (f"no commits on {branch} in the last {days} days (last commit {last}); "
                    f"widen the window with days={int((until - last_commit_at) // 86400) + 1} or more")
    recorded_ = _recorded(repo, store, since) if deployments in ("auto", "recorded") and store else None
    if recorded_ is not None and (recorded_[0] or deployments == "recorded"):
        found, how = recorded_
        skipped = reverted_early = 0
        _attach_changes(repo, found, since)
    else:
        if deployments == "recorded":
            deployments = "auto"  # no run store to read: say what was counted instead
        found, how, skipped = _deployments(repo, branch, since, deployments, tag_pattern, include_prereleases)
        _attach_changes(repo, found, since)
        reverted_early = _mark_failures(repo, branch, found, since)
    metrics = [
        _frequency(found, days, how, inactive),
        _lead_time(found),
        _failure_rate(found, reverted_early, recorded=how.startswith("deployments recorded")),
        _time_to_restore(found, recorded=how.startswith("deployments recorded")),
    ]
    return DoraReport(
        run_id=run_id, root=str(repo.working_tree_dir), path=display_path,
        duration_s=round(time.perf_counter() - started, 2), findings=[],
        days=days, default_branch=branch, deployment_source=how, metrics=metrics,
        deployments=[_record(d) for d in reversed(found[-DEPLOYMENTS_SHOWN:])], deployments_total=len(found),
        prereleases_skipped=skipped, reverted_before_release=reverted_early, last_commit_at=last_commit_at,
        inactive=inactive,
    )


def is_prerelease(tag: str) -> bool:
    """Whether a tag names a pre-release: PEP 440 (1.2.3rc1, 1.2.3b2, 1.2.3.dev4) where the name parses as one,
    else SemVer (1.2.3-rc1, v4.7.0-beta1). A prefix before the last "/" or "@" (monorepo tags) is ignored."""
    from packaging.version import InvalidVersion, Version

    name = re.split(r"[/@]", tag)[-1]
    try:
        return Version(name).is_prerelease
    except InvalidVersion:
        return bool(SEMVER_PRERELEASE.match(name))


async def recorded_dora_metrics(store: Store, request: DoraRequest) -> DoraReport:
    """dora_metrics, kept in the run store."""
    return await recorded(store, "dora", request, lambda run_id: asyncio.to_thread(
        dora_metrics, request.target, days=request.days, deployments=request.deployments,
        tag_pattern=request.tag_pattern, include_prereleases=request.include_prereleases, run_id=run_id,
        display_path=request.display_path, store=store))


def _open(target: Path) -> git.Repo:
    import git  # here, not at the top: gitpython costs 30 ms of every server start

    try:
        return git.Repo(target, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise PathError(f"{target} is not inside a git repository: DORA metrics come from git history.") from exc


def _default_branch(repo: git.Repo) -> str:
    import git

    try:  # what the remote calls its default branch
        ref = str(repo.git.symbolic_ref("refs/remotes/origin/HEAD", short=True))
        return ref.removeprefix("origin/")
    except git.GitCommandError:
        pass
    names = {h.name for h in repo.heads}
    for candidate in ("main", "master", "trunk", "develop"):
        if candidate in names:
            return candidate
    if repo.head.is_detached or not repo.head.is_valid():
        raise PathError(f"{repo.working_tree_dir}: no default branch (no origin/HEAD, main or master).")
    return repo.active_branch.name


def _deployments(repo: git.Repo, branch: str, since: float, source: DeploymentSource, pattern: str,
                 include_prereleases: bool) -> tuple[list[DetectedDeployment], str, int]:
    """The deployments in the window, how they were found, and how many pre-release tags were left out."""
    tags = []
    skipped = 0
    if source in ("auto", "tags"):
        for tag in repo.tags:
            if not fnmatchcase(tag.name, pattern):
                continue
            commit = tag.commit
            at = tag.tag.tagged_date if tag.tag is not None else commit.committed_date
            if at < since:
                continue
            if not include_prereleases and is_prerelease(tag.name):
                skipped += 1  # an rc or beta reaches testers, not production
                continue
            tags.append(DetectedDeployment(tag.name, commit, float(at)))
    if tags or source == "tags":
        how = f"release tags matching {pattern!r}"
        if skipped:
            how += f", {skipped} pre-release tag(s) left out (include_prereleases counts them)"
        elif include_prereleases:
            how += ", pre-releases included"
        return sorted(tags, key=lambda d: d.at), how, skipped
    merges = [DetectedDeployment(c.hexsha[:10], c, float(c.committed_date))
              for c in repo.iter_commits(branch, first_parent=True, since=int(since)) if len(c.parents) > 1]
    why = f"only {skipped} pre-release tag(s)" if skipped else "no release tags"
    how = f"merges into {branch} ({why}{' matching ' + repr(pattern) if pattern != '*' else ''})"
    return sorted(merges, key=lambda d: d.at), how, skipped


def _recorded(repo: git.Repo, store: Store, since: float) -> tuple[list[DetectedDeployment], str]:
    """The deployments `deploy` recorded for this repository in the window, in time order, with failures and
    restores marked: a rollout rolled back failed and was restored when traffic was back on stable; a
    deployment a later `rollback` undid failed and was restored by that rollback. Deploys that never served
    (state failed) and rollbacks themselves are not counted."""
    import git

    root = str(Path(str(repo.working_tree_dir)).resolve())
    mine = [r for r in store.deployments(since=since, limit=100_000) if str(Path(r.plan.source).resolve()) == root]
    production = [r for r in mine if r.plan.production]
    chosen = production or mine
    found: list[DetectedDeployment] = []
    for record in sorted(chosen, key=lambda r: r.started_at):
        if record.plan.rollback:
            undone = next((d for d in reversed(found) if not d.failed_by and d.ref.endswith(record.plan.environment)),
                          None)
            if undone is not None and record.state == "succeeded" and record.finished_at:
                undone.failed_by, undone.restored_at = "rolled back by hand", record.finished_at.timestamp()
            continue
        if record.state not in ("succeeded", "rolled_back"):
            continue
        try:
            commit = repo.commit(record.plan.sha)
        except (git.BadName, ValueError):
            continue  # the sha is gone from this clone
        d = DetectedDeployment(f"{record.deployment_id}@{record.plan.environment}", commit,
                               record.started_at.timestamp())
        if record.state == "rolled_back":
            d.failed_by = f"rolled back: {record.breach.message}" if record.breach else "rolled back"
            d.restored_at = record.restored_at.timestamp() if record.restored_at else None
        found.append(d)
    where = "production environments" if production else "every environment (none is marked production)"
    return found, f"deployments recorded by `deploy` in {where}"


def _attach_changes(repo: git.Repo, found: list[DetectedDeployment], since: float) -> None:
    """Each deployment's changes: commits it has that no deployment before it had (for the first one in the
    window, those committed inside the window)."""
    previous: git.Commit | None = None
    shipped: set[str] = set()
    for d in found:
        if previous is None:
            d.changes = list(repo.iter_commits(d.commit.hexsha, no_merges=True, since=int(since)))
        else:  # less what an earlier deployment on another release line shipped already
            d.changes = [c for c in repo.iter_commits(f"{previous.hexsha}..{d.commit.hexsha}", no_merges=True)
                         if c.hexsha not in shipped]
        shipped.update(c.hexsha for c in d.changes)
        previous = d.commit


def _mark_failures(repo: git.Repo, branch: str, found: list[DetectedDeployment], since: float) -> int:
    """Mark failed deployments and when they were restored; return how many reverts shipped together with the
    commit they revert (caught before release, so no failure)."""
    # found is in time order and each commit is in the changes of the first deployment whose history has it,
    # so setdefault keeps that first one even when tags of two release lines interleave.
    shipped_by: dict[str, DetectedDeployment] = {}
    for d in found:
        for c in d.changes:
            shipped_by.setdefault(c.hexsha, d)
    reverted_early = 0
    for commit in repo.iter_commits(branch, since=int(since), no_merges=True):
        message = str(commit.message)
        failed: DetectedDeployment | None = None
        fix = shipped_by.get(commit.hexsha)
        if m := REVERT.search(message):
            failed = next((d for sha, d in shipped_by.items() if sha.startswith(m.group(1))), None)
            # shipped with (or, from another release line, before) the commit it reverts: never a failure
            if failed is not None and fix is not None and (
                    failed is fix or (fix.at < failed.at and repo.is_ancestor(commit, failed.commit))):
                reverted_early += 1
                continue
            kind = f"revert {commit.hexsha[:10]}"
        elif HOTFIX.search(message.splitlines()[0] if message else ""):
            # the last deployment before the one that ships the hotfix (or, unshipped, before the commit)
            before = [d for d in found if (d.at < fix.at if fix else d.at <= commit.committed_date)]
            failed = before[-1] if before else None
            kind = f"hotfix {commit.hexsha[:10]}"
        if failed is None or failed.failed_by:
            continue
        failed.failed_by = kind
        if fix is not None and fix.at < failed.at:  # the fix went out on another line first: find a later one
            fix = next((d for d in found if d.at > failed.at and repo.is_ancestor(commit, d.commit)), None)
        failed.restored_at = fix.at if fix else None
    return reverted_early


def _frequency(found: list[DetectedDeployment], days: int, how: str, inactive: str | None) -> DoraMetric:
    per_week = len(found) / (days / 7)
    band = _band(per_week, (7, 1, 12 / 52), more_is_better=True) if found else None
    quiet = f" There were {inactive}." if inactive else ""
    return DoraMetric(name="deployment_frequency", value=round(per_week, 2), unit="per week", band=band,
                      samples=len(found),
                      derived=f"{len(found)} deployments in {days} days, counting {how}.{quiet}")


def _lead_time(found: list[DetectedDeployment]) -> DoraMetric:
    waits = [(d.at - c.committed_date) / HOUR for d in found for c in d.changes]
    value = statistics.median(waits) if waits else None
    return DoraMetric(name="lead_time_for_changes", value=_round(value), unit="hours (median)",
                      band=_band(value, (24, 168, 720)),
                      samples=len(waits),
                      derived=f"From each commit's commit time to the first deployment that carries it, over "
                              f"{len(waits)} commits.")


def _failure_rate(found: list[DetectedDeployment], reverted_early: int, *, recorded: bool = False) -> DoraMetric:
    failed = [d for d in found if d.failed_by]
    value = 100 * len(failed) / len(found) if found else None
    named = ", ".join(f"{d.ref} ({d.failed_by})" for d in failed[:5])
    early = (f" {reverted_early} revert(s) shipped no later than the commit they revert (caught before release) "
             f"and are not counted." if reverted_early else "")
    return DoraMetric(name="change_failure_rate", value=_round(value), unit="percent", band=_band(value, (5, 10, 15)),
                      samples=len(found),
                      derived=f"{len(failed)} of {len(found)} deployments " + (
                          "were rolled back (on a breached SLO, or by `rollback`)" if recorded else
                          "were followed by a revert of one of their commits or a hotfix before the next deployment")
                      + f"{': ' + named if named else ''}.{early}")


def _time_to_restore(found: list[DetectedDeployment], *, recorded: bool = False) -> DoraMetric:
    gaps = [(d.restored_at - d.at) / HOUR for d in found if d.failed_by and d.restored_at is not None]
    open_failures = sum(1 for d in found if d.failed_by and d.restored_at is None)
    value = statistics.median(gaps) if gaps else None
    note = f"; {open_failures} failure(s) not yet restored by a deployment" if open_failures else ""
    return DoraMetric(name="time_to_restore", value=_round(value), unit="hours (median)",
                      band=_band(value, (1, 24, 168)),
                      samples=len(gaps),
                      derived="From a failed deployment to " + (
                          "all traffic back on the stable version" if recorded else
                          "the first deployment carrying its revert or hotfix") + f", over {len(gaps)} failures{note}.")


def _band(value: float | None, limits: tuple[float, float, float], *, more_is_better: bool = False) -> Band | None:
    """DORA's bands from the State of DevOps reports: elite, high, medium within each limit, else low."""
    if value is None:
        return None
    bands: tuple[Band, Band, Band] = ("elite", "high", "medium")
    for band, limit in zip(bands, limits, strict=True):
        if (value >= limit) if more_is_better else (value <= limit):
            return band
    return "low"


def _record(d: DetectedDeployment) -> DeploymentRecord:
    return DeploymentRecord(ref=d.ref, commit=d.commit.hexsha[:10], at=d.at, changes=len(d.changes),
                            failed_by=d.failed_by,
                            restored_after_h=None if d.restored_at is None else _round((d.restored_at - d.at) / HOUR))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)

