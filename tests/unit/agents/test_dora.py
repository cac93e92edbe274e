"""DORA metrics from a git history built with known times: tags, a revert, a hotfix, merges."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import git
import pytest
from mcp import Client

from devops_orchestra.agents import registry
from devops_orchestra.agents.dora import dora_metrics, is_prerelease
from devops_orchestra.agents.shared_work import Shared
from devops_orchestra.core.errors import PathError
from devops_orchestra.core.workspace import build_inventory
from devops_orchestra.models import DoraReport
from devops_orchestra.render.dora import full_text, short_text
from devops_orchestra.server.app import create_server
from tests.helpers import text_of

DAY = 86400


class History:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.now = int(time.time())
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, days_ago: float = 0) -> str:
        when = f"{self.now - int(days_ago * DAY)} +0000"
        env = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when, "GIT_AUTHOR_NAME": "a",
               "GIT_AUTHOR_EMAIL": "a@a", "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@a"}
        return subprocess.run(["git", *args], cwd=self.root, env=env, check=True, capture_output=True,
                              text=True).stdout.strip()

    def commit(self, message: str, days_ago: float) -> str:
        (self.root / "log.txt").open("a").write(message + "\n")
        self.git("add", "log.txt")
        self.git("commit", "-qm", message, days_ago=days_ago)
        return self.git("rev-parse", "HEAD")

    def tag(self, name: str, days_ago: float) -> None:
        self.git("tag", "-a", name, "-m", name, days_ago=days_ago)


def _metrics(report: DoraReport) -> dict[str, tuple[float | None, str | None]]:
    return {m.name: (m.value, m.band) for m in report.metrics}


@pytest.fixture
def released(tmp_path: Path) -> Path:
    h = History(tmp_path)
    h.commit("ancient", 300)
    h.tag("v0.1", 299)  # outside the window
    h.commit("init", 21)
    h.commit("feat a", 20)
    h.tag("v1.0", 19)
    b = h.commit("feat b", 15)
    h.tag("v1.1", 14)
    h.tag("nightly-1", 14)  # not a release
    h.commit(f'Revert "feat b"\n\nThis reverts commit {b}.', 13.5)
    h.tag("v1.2", 13)
    h.commit("feat d", 10)
    h.tag("v1.3", 9)
    h.commit("hotfix: crash on login", 8.9)
    h.tag("v1.4", 8.8)
    h.commit("feat f", 5)
    h.tag("v1.5", 4)
    h.tag("v1.6-rc1", 2)  # a pre-release: not a deployment unless asked
    return tmp_path


def test_metrics_from_release_tags(released: Path) -> None:
    report = dora_metrics(released, days=90, tag_pattern="v*")
    assert report.deployments_total == 6 and report.prereleases_skipped == 1
    assert report.deployment_source.startswith("release tags matching 'v*', 1 pre-release tag(s) left out")
    metrics = _metrics(report)
    assert metrics["deployment_frequency"] == (round(6 / (90 / 7), 2), "medium")
    # commit-to-release hours: 48, 24 | 24 | 12 | 24 | 2.4 | 24
    assert metrics["lead_time_for_changes"] == (24.0, "elite")
    assert metrics["change_failure_rate"] == (33.33, "low")
    assert metrics["time_to_restore"] == (14.4, "high")  # 24 h (revert) and 4.8 h (hotfix)
    by_ref = {d.ref: d for d in report.deployments}
    assert by_ref["v1.1"].failed_by and by_ref["v1.1"].failed_by.startswith("revert")
    assert by_ref["v1.3"].failed_by and by_ref["v1.3"].failed_by.startswith("hotfix")
    assert by_ref["v1.1"].restored_after_h == 24.0
    assert "v1.1 (revert" in next(m.derived for m in report.metrics if m.name == "change_failure_rate")


def test_merges_into_the_default_branch_when_there_are_no_tags(tmp_path: Path) -> None:
    h = History(tmp_path)
    h.commit("init", 30)
    for n, day in enumerate((20, 10, 2)):
        h.git("checkout", "-q", "-b", f"feature{n}")
        h.commit(f"feature {n}", day + 1)
        h.git("checkout", "-q", "main")
        h.git("merge", "-q", "--no-ff", f"feature{n}", "-m", f"Merge feature{n}", days_ago=day)
    report = dora_metrics(tmp_path, days=30)
    assert report.deployment_source == "merges into main (no release tags)"
    assert report.deployments_total == 3
    assert _metrics(report)["lead_time_for_changes"] == (24.0, "elite")


def test_outside_git_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PathError, match="not inside a git repository"):
        dora_metrics(tmp_path)


async def test_tool_reports_metrics_with_how_they_were_derived(released: Path) -> None:
    async with Client(create_server([released])) as client:
        result = await client.call_tool("dora_metrics", {"days": 30, "tag_pattern": "v*"})
        counted = await client.call_tool("dora_metrics", {"days": 30, "tag_pattern": "v*",
                                                          "include_prereleases": True})
        bad = await client.call_tool("dora_metrics", {"days": 0})
    assert not result.is_error
    skipped = {"default": result.structured_content, "counted": counted.structured_content}
    assert {k: (r["prereleases_skipped"], r["deployments_total"]) for k, r in skipped.items()} == {
        "default": (1, 6), "counted": (0, 7)}
    metrics = {m["name"]: m for m in result.structured_content["metrics"]}
    assert metrics["change_failure_rate"]["value"] == 33.33 and metrics["change_failure_rate"]["derived"]
    assert "change failure rate 33.33 percent (low)" in text_of(result.content[0])
    assert bad.is_error


def test_cli_prints_each_metric_with_its_band(released: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "devops_orchestra", "dora", str(released), "--tag-pattern", "v*"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "6 deployments (release tags matching 'v*', 1 pre-release tag(s) left out" in done.stdout
    assert re.search(r"change failure rate\s+33\.33 percent\s+low", done.stdout)
    counted = subprocess.run([sys.executable, "-m", "devops_orchestra", "dora", str(released), "--tag-pattern", "v*",
                              "--include-prereleases"], capture_output=True, text=True)
    assert "7 deployments (release tags matching 'v*', pre-releases included)" in counted.stdout, counted.stderr


class Dated:
    """A repository built with gitpython where every commit and tag has the time it is given, in days ago."""

    def __init__(self, root: Path) -> None:
        self.repo = git.Repo.init(root, initial_branch="main")
        self.root = root
        self.now = int(time.time())
        self.actor = git.Actor("a", "a@a")

    def when(self, days_ago: float) -> str:
        return f"{self.now - int(days_ago * DAY)} +0000"

    def commit(self, message: str, days_ago: float) -> str:
        with (self.root / "log.txt").open("a") as log:
            log.write(message + "\n")
        self.repo.index.add(["log.txt"])
        return self.repo.index.commit(message, author=self.actor, committer=self.actor,
                                      author_date=self.when(days_ago), commit_date=self.when(days_ago)).hexsha

    def tag(self, name: str, days_ago: float) -> None:
        with self.repo.git.custom_environment(GIT_COMMITTER_DATE=self.when(days_ago), GIT_COMMITTER_NAME="a",
                                              GIT_COMMITTER_EMAIL="a@a"):
            self.repo.create_tag(name, message=name)

    def branch(self, name: str, at: str = "HEAD") -> None:
        self.repo.git.checkout("-q", "-b", name, at)

    def checkout(self, name: str) -> None:
        self.repo.git.checkout("-q", name)


def test_time_to_restore_runs_to_the_first_deployment_that_carries_the_revert(tmp_path: Path) -> None:
    # Two release lines whose tags interleave: v1.0 ships "feat c"; a maintenance release v0.9.1 comes out
    # between; v1.1 carries the revert. v1.0 failed and was restored by v1.1, 19 days (456 h) later.
    h = Dated(tmp_path)
    base = h.commit("init", 40)
    c = h.commit("feat c", 30)
    h.tag("v1.0", 29)
    h.branch("release-0.9", base)
    h.commit("backport a fix", 25)
    h.tag("v0.9.1", 24)
    h.checkout("main")
    h.commit("feat d", 20)
    h.commit(f'Revert "feat c"\n\nThis reverts commit {c}.', 15)
    h.tag("v1.1", 10)
    report = dora_metrics(tmp_path, days=90)
    by_ref = {d.ref: d for d in report.deployments}
    assert by_ref["v1.0"].failed_by and by_ref["v1.0"].failed_by.startswith("revert")
    assert by_ref["v1.0"].restored_after_h == 456.0
    assert not by_ref["v1.1"].failed_by
    assert by_ref["v1.1"].changes == 2  # feat d and the revert; feat c went out with v1.0
    assert _metrics(report)["time_to_restore"] == (456.0, "low")
    assert _metrics(report)["change_failure_rate"] == (33.33, "low")


def test_a_revert_shipped_with_the_commit_it_reverts_is_no_failure(tmp_path: Path) -> None:
    h = Dated(tmp_path)
    h.commit("init", 40)
    c = h.commit("feat c", 30)
    h.commit(f'Revert "feat c"\n\nThis reverts commit {c}.', 29)
    h.tag("v1.0", 28)  # c never reached anyone without its revert
    h.commit("feat d", 20)
    h.tag("v1.1", 19)
    report = dora_metrics(tmp_path, days=90)
    assert not any(d.failed_by for d in report.deployments)
    assert report.reverted_before_release == 1
    assert _metrics(report)["change_failure_rate"] == (0.0, "elite")
    assert _metrics(report)["time_to_restore"] == (None, None)
    assert "1 revert(s) shipped no later than the commit they revert" in next(
        m.derived for m in report.metrics if m.name == "change_failure_rate")


def test_pre_release_tags_are_left_out_unless_asked(tmp_path: Path) -> None:
    h = Dated(tmp_path)
    h.commit("init", 40)
    h.tag("v1.0.0", 39)
    for n, name in enumerate(("v1.1.0-rc1", "1.1.0b2", "v1.1.0-beta.1", "1.1.0a1", "1.1.0.dev4", "v1.1.0-alpha")):
        h.commit(f"work {n}", 30 - n)
        h.tag(name, 29.5 - n)
    h.commit("done", 20)
    h.tag("v1.1.0", 19)
    report = dora_metrics(tmp_path, days=90)
    assert report.deployments_total == 2 and report.prereleases_skipped == 6
    assert [d.ref for d in report.deployments] == ["v1.1.0", "v1.0.0"]
    assert "6 pre-release tag(s) left out" in short_text(report)
    # the pre-releases' commits reach production with v1.1.0: lead times run to it, not to an rc
    assert next(d for d in report.deployments if d.ref == "v1.1.0").changes == 7
    everything = dora_metrics(tmp_path, days=90, include_prereleases=True)
    assert everything.deployments_total == 8 and everything.prereleases_skipped == 0


@pytest.mark.parametrize(("tag", "pre"), [
    ("1.2.3-rc1", True), ("v4.7.0-beta1", True), ("v2.0.0-alpha", True), ("1.0.0-dev", True),
    ("1.2.3rc1", True), ("1.2.3b2", True), ("1.2.3a1", True), ("1.2.3.dev4", True), ("2.0.0-SNAPSHOT", True),
    ("api/v1.2.3-rc.1", True),
    ("v4.6.8", False), ("1.2.3", False), ("1.2.3.post1", False), ("v1.2.3+build.5", False), ("nightly-1", False),
    ("release-2024", False), ("latest", False),
])
def test_prerelease_names_by_pep_440_then_semver(tag: str, pre: bool) -> None:
    assert is_prerelease(tag) is pre


def test_a_window_without_commits_says_when_the_last_one_was(tmp_path: Path) -> None:
    h = Dated(tmp_path)
    h.commit("init", 200)
    h.commit("last", 105)
    h.tag("v1.0", 105)
    report = dora_metrics(tmp_path, days=90)
    last = time.strftime("%Y-%m-%d", time.gmtime(h.now - 105 * DAY))
    said = f"no commits on main in the last 90 days (last commit {last})"
    assert report.inactive and report.inactive.startswith(said)
    assert said in full_text(report) and said in short_text(report)
    assert "days=106" in report.inactive  # how far back the window must reach
    assert dora_metrics(tmp_path, days=120).inactive is None


async def test_a_review_that_asks_for_dora_says_the_window_was_quiet(tmp_path: Path) -> None:
    h = Dated(tmp_path)
    h.commit("last", 120)
    h.tag("v1.0", 120)
    dora = next(a for a in registry.AGENTS if a.name == "dora")
    outcome = await dora.work(Shared(target=tmp_path, inventory=build_inventory(tmp_path), cache=None, runners=None,
                                     changed_only=False, sql_rides_along=False))
    assert outcome.summary.startswith("no commits on main in the last 90 days (last commit ")
