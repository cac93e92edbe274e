"""Deploys that wait for a person: the deploy stage asks, ChatOps shows the question with buttons and records
the answer, the deploy stage reads it. They meet in the bus's shared state, so asker and answerer may run in
different processes (a worker, the webhook server)."""

from __future__ import annotations

import time

from devops_orchestra.models.orchestra import ApprovalDecision, ApprovalRequest
from devops_orchestra.orchestra.bus.base import Bus

PENDING = "approvals:pending"  # index of requests by time asked
KEEP_S = 7 * 24 * 3600  # an unanswered request is forgotten after a week


def approval_id(run_id: str, environment: str) -> str:
    return f"{run_id}:{environment}"


async def request(state: Bus, asked: ApprovalRequest) -> bool:
    """Record the question once; True when this call recorded it (then it is ours to announce)."""
    if not await state.set_once(f"approval:request:{asked.id}", asked.model_dump_json(), ttl_s=KEEP_S):
        return False
    now = time.time()
    await state.index_add(PENDING, asked.id, now, drop_below=now - KEEP_S)
    return True


async def pending(state: Bus, limit: int = 50) -> list[ApprovalRequest]:
    """The newest questions nobody has answered yet, newest first."""
    found = []
    for member in await state.index_newest(PENDING, limit):
        text = await state.get(f"approval:request:{member}")
        if text is not None and await decision(state, member) is None:
            found.append(ApprovalRequest.model_validate_json(text))
    return found


async def decide(state: Bus, approval: str, *, approved: bool, by: str) -> ApprovalDecision:
    """Record an answer; the first one stands and is returned (so a second click learns what was decided)."""
    answer = ApprovalDecision(approved=approved, by=by)
    await state.set_once(f"approval:decision:{approval}", answer.model_dump_json(), ttl_s=KEEP_S)
    current = await decision(state, approval)
    assert current is not None
    return current


async def decision(state: Bus, approval: str) -> ApprovalDecision | None:
    text = await state.get(f"approval:decision:{approval}")
    return None if text is None else ApprovalDecision.model_validate_json(text)
