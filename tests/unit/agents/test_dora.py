"""DORA metrics from a git history built with known times: tags, a revert, a hotfix, merges."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mcp import Client

from devops_orchestra.agents.dora import dora_metrics
from devops_orchestra.core.errors import PathError
from devops_orchestra.models import DoraReport
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
    return tmp_path


def test_metrics_from_release_tags(released: Path) -> None:
    report = dora_metrics(released, days=90, tag_pattern="v*")
    assert report.deployments_total == 6 and report.deployment_source == "release tags matching 'v*'"
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
        bad = await client.call_tool("dora_metrics", {"days": 0})
    assert not result.is_error
    metrics = {m["name"]: m for m in result.structured_content["metrics"]}
    assert metrics["change_failure_rate"]["value"] == 33.33 and metrics["change_failure_rate"]["derived"]
    assert "change failure rate 33.33 percent (low)" in text_of(result.content[0])
    assert bad.is_error


def test_cli_prints_each_metric_with_its_band(released: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "devops_orchestra", "dora", str(released), "--tag-pattern", "v*"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "6 deployments (release tags matching 'v*')" in done.stdout
    assert re.search(r"change failure rate\s+33\.33 percent\s+low", done.stdout)
