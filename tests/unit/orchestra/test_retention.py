"""How long runs and effect keys are kept: the environment's settings, and runs that go when their time is up."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from devops_orchestra.core.errors import OrchestraError
from devops_orchestra.orchestra.bus import open_bus
from devops_orchestra.orchestra.retention import DAY_S, Retention, retention
from devops_orchestra.orchestra.runs import RunBook


def test_the_periods_come_from_the_environment_and_a_bad_one_says_what_to_give(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEVOPS_ORCHESTRA_RUNS_KEEP_DAYS", raising=False)
    monkeypatch.setenv("DEVOPS_ORCHESTRA_EFFECTS_KEEP_DAYS", "0.5")
    assert (retention().runs_s, retention().effects_s) == (30 * DAY_S, 0.5 * DAY_S)
    monkeypatch.setenv("DEVOPS_ORCHESTRA_RUNS_KEEP_DAYS", "7")
    assert retention().runs_s == 7 * DAY_S
    for bad in ("seven", "0", "-1", "nan"):
        monkeypatch.setenv("DEVOPS_ORCHESTRA_RUNS_KEEP_DAYS", bad)
        with pytest.raises(OrchestraError, match="give a number of days greater than 0"):
            retention()


async def test_a_run_past_its_retention_is_gone_from_the_listing_and_a_new_submission_makes_a_new_run(
        tmp_path: Path) -> None:
    bus = open_bus(f"memory://{tmp_path}/state.sqlite")
    book = RunBook(bus, Retention(runs_s=0.3))
    old, _ = await book.create(repo="shop", ref="main", sha="a" * 40, source=".", stages=["analysis"])
    await asyncio.sleep(0.4)
    new, _ = await book.create(repo="shop", ref="main", sha="b" * 40, source=".", stages=["analysis"])
    assert [r.run_id for r in await book.newest(10)] == [new.run_id]
    assert await book.get(old.run_id) is None and await book.head("shop", "main") == new.run_id
    again, created = await book.create(repo="shop", ref="main", sha="a" * 40, source=".", stages=["analysis"])
    assert created and again.run_id != old.run_id
    assert await bus.index_newest("runs", 10) == [again.run_id, new.run_id]  # the expired one left the index
