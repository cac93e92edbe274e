"""Polling a repository without a webhook: a new head is one new run, an unchanged head none."""

from __future__ import annotations

from pathlib import Path

import pytest

from devops_orchestra.core.errors import OrchestraError
from devops_orchestra.gitops import poll
from devops_orchestra.gitops.intake import source_map
from devops_orchestra.orchestra.bus import open_bus
from devops_orchestra.orchestra.runs import RunBook
from tests.helpers import commit_files


def test_durations_and_targets_read_as_written() -> None:
    assert [poll.duration(t) for t in ("90", "30s", "5m", "1.5h")] == [90, 30, 300, 5400]
    with pytest.raises(OrchestraError, match="30s, 5m or 1h"):
        poll.duration("soon")
    mapped = source_map(["acme/shop=/srv/git/shop.git"])
    assert poll.target("acme/shop@release", mapped) == poll.Target("acme/shop", "file:///srv/git/shop.git", "release")
    assert poll.target("acme/api", mapped) == poll.Target("acme/api", "https://github.com/acme/api.git", None)
    with pytest.raises(OrchestraError, match="OWNER/NAME@BRANCH"):
        poll.target("shop", mapped)


async def test_a_new_head_is_submitted_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVOPS_ORCHESTRA_WORKSPACES", str(tmp_path / "workspaces"))
    origin = tmp_path / "shop"
    first = commit_files(origin, {"a.txt": "1\n"})
    targets = [poll.target("acme/shop@main", source_map([f"acme/shop={origin}"])),
               poll.Target("acme/gone", f"file://{tmp_path}/nothing-here", None)]  # unreachable: skipped, logged
    bus = open_bus(f"memory://{tmp_path}/state.sqlite")
    try:
        assert len(await poll.poll_once(bus, targets, ["analysis"])) == 1
        assert await poll.poll_once(bus, targets, ["analysis"]) == []  # nothing new
        second = commit_files(origin, {"a.txt": "2\n"})
        assert len(await poll.poll_once(bus, targets, ["analysis"])) == 1
        runs = await RunBook(bus).newest(5)
        assert [(r.repo, r.ref, r.sha) for r in runs] == [("acme/shop", "main", second), ("acme/shop", "main", first)]
    finally:
        await bus.close()
