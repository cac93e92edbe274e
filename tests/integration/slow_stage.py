"""A test-only stage, loaded by workers with `--load tests.integration.slow_stage`: it sleeps
$DEVOPS_ORCHESTRA_TEST_SLOW seconds, so that a test can kill -9 a worker in the middle of it.

It logs each start to $DEVOPS_ORCHESTRA_TEST_LOG and its effect once, as a stage author would: guarded by
`context.effect_key`, so a redelivered stage does not do it twice.
"""

from __future__ import annotations

import asyncio
import os

from devops_orchestra.models.events import Envelope, Payload, TestResults
from devops_orchestra.orchestra.stages.base import Stage, StageContext


def _log(line: str) -> None:
    with open(os.environ["DEVOPS_ORCHESTRA_TEST_LOG"], "a", encoding="utf-8") as log:
        log.write(line + "\n")


class Slow(Stage):
    name = "slow"
    consumes = "code_push"
    publishes = "test_results"

    async def handle(self, event: Envelope, context: StageContext) -> Payload:
        _log(f"start {event.sha} {os.getpid()}")
        await asyncio.sleep(float(os.environ.get("DEVOPS_ORCHESTRA_TEST_SLOW", "0")))
        if await context.state.set_once(f"{context.effect_key}:logged", "1"):
            _log(f"effect {event.sha}")
        return TestResults(outcome="passed", passed=1, command="sleep")

    def summary(self, payload: Payload) -> str:
        return "slept"


STAGE = Slow()
