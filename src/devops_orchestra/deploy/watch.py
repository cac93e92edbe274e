"""The observability side of a deploy: measure the new version's SLOs with PromQL once per interval, as Argo
Rollouts' analysis runs and Flagger's checks do, and call a breach after more than `failure_limit` breached
measurements. An SLO with no data yet (no request reached the new version) is not a breach."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from devops_orchestra.deploy import prometheus
from devops_orchestra.deploy.targets.base import Target
from devops_orchestra.models.deploy import Breach, DeploymentRecord, Measurement


async def watch(target: Target, record: DeploymentRecord, weight: int, seconds: float,
                say: Callable[[str], None]) -> Breach | None:
    """Watch record's version at weight for seconds (at least one measurement); the breach that ends it, if any.
    Instances that died meanwhile are replaced on the way (target.heal)."""
    plan = record.plan
    url = await target.prometheus_url()
    queries = {k: v for k, v in target.queries(plan).items() if any(s.name == k for s in plan.slos)}
    failures = 0
    rounds = max(1, round(seconds / plan.interval_s))
    next_at = time.monotonic()
    async with httpx.AsyncClient(timeout=plan.interval_s * 2 + 1) as client:
        for _ in range(rounds):
            next_at += plan.interval_s
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            for line in await target.heal():
                record.timeline.append(line)
                say(line)
            values = dict(zip(queries, await asyncio.gather(
                *(prometheus.query(url, q, client) for q in queries.values())), strict=True))
            measured = {k: v for k, v in values.items() if v is not None}
            breached = [s for s in plan.slos if s.name in measured and s.breached_by(measured[s.name])]
            record.measurements.append(Measurement(at=datetime.now(UTC), weight=weight, values=measured,
                                                   breached=[s.name for s in breached]))
            if not breached:
                continue
            failures += 1
            worst = breached[0]
            say(f"breached: {worst.describe(measured[worst.name])} ({failures} of {plan.failure_limit + 1} allowed)")
            if failures > plan.failure_limit:
                return Breach(slo=worst.name, measured=measured[worst.name], threshold=worst.threshold,
                              message=worst.describe(measured[worst.name]))
    return None
