"""The follower tells its sinks of runs as they change, to the end, and leaves old history alone."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from devops_orchestra.chatops.follow import REPORTED, Follower
from devops_orchestra.models.events import CodePush, Envelope, new_id
from devops_orchestra.models.orchestra import PipelineRun, now
from devops_orchestra.orchestra.bus import open_bus
from devops_orchestra.orchestra.runs import RUN, RunBook, finish


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    async def update(self, run: PipelineRun) -> None:
        self.seen.append((run.run_id, run.state))


async def test_a_run_is_followed_to_its_end_and_old_history_is_skipped(tmp_path: Path) -> None:
    bus = open_bus(f"memory://{tmp_path}/state.sqlite")
    book = RunBook(bus)
    try:
        old, _ = await book.create(repo="acme/shop", ref="main", sha="a" * 40, source="x", stages=["analysis"])
        finish(old, "succeeded")
        await bus.put(RUN + old.run_id, old.model_copy(update={"updated_at": now() - timedelta(hours=2)})
                      .model_dump_json())
        new, _ = await book.create(repo="acme/shop", ref="main", sha="b" * 40, source="x", stages=["analysis"])
        for run in (old, new):
            await bus.publish("code_push", Envelope(type="code_push", repo=run.repo, ref=run.ref, sha=run.sha,
                                                    run_id=run.run_id, correlation_id=new_id(),
                                                    payload=CodePush(source="x")))
        recorder, stop = Recorder(), asyncio.Event()
        following = asyncio.create_task(Follower(bus, [recorder], poll_s=0.05).run(stop))
        await asyncio.sleep(0.3)
        await book.update(new.run_id, lambda r: setattr(r, "state", "running"))
        await asyncio.sleep(0.3)
        await book.update(new.run_id, lambda r: finish(r, "failed", error="boom"))
        for _ in range(100):
            if await bus.get(REPORTED + new.run_id):
                break
            await asyncio.sleep(0.05)
        stop.set()
        await following
        assert [state for run_id, state in recorder.seen if run_id == new.run_id][:3] == ["queued", "running", "failed"]
        assert all(run_id != old.run_id for run_id, _ in recorder.seen)
        assert (await bus.status()).groups[0].pending == 0  # both acknowledged
    finally:
        await bus.close()
