from pathlib import Path

from devops_orchestra.models.orchestra import ApprovalRequest
from devops_orchestra.orchestra import approvals
from devops_orchestra.orchestra.bus import open_bus


async def test_the_first_answer_stands_and_answered_requests_are_no_longer_pending(tmp_path: Path) -> None:
    bus = open_bus(f"memory://{tmp_path}/state.sqlite")
    try:
        asked = ApprovalRequest(id=approvals.approval_id("run1", "prod"), repo="o/r", ref="main", sha="a" * 40,
                                run_id="run1", service="web", environment="prod")
        assert await approvals.request(bus, asked)
        assert not await approvals.request(bus, asked)  # asked twice (a redelivered stage): announced once
        assert [p.id for p in await approvals.pending(bus)] == [asked.id]
        first = await approvals.decide(bus, asked.id, approved=False, by="alice")
        second = await approvals.decide(bus, asked.id, approved=True, by="bob")
        assert (first.approved, first.by) == (second.approved, second.by) == (False, "alice")
        assert await approvals.pending(bus) == []
    finally:
        await bus.close()
