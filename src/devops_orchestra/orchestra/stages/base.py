"""What a stage is: the topic it consumes, the topic it publishes, and one async handler between them.

A stage is delivered at least once: a worker may die half-way and another redo it. The worker records the
stage's result once per (repo, sha, stage, configuration hash) and publishes the next event with the
acknowledgement; a stage whose handler itself changes the world (a deploy, a comment) makes that change
idempotent with `context.effect_key` (see docs/orchestra.md).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from devops_orchestra.core.store import Store
from devops_orchestra.models.events import Envelope, EventType, Payload
from devops_orchestra.orchestra.bus.base import Bus
from devops_orchestra.pipeline.config import OrchestraConfig


@dataclass(frozen=True)
class StageContext:
    """What a handler gets besides its event."""

    checkout: Path  # the repository at the event's sha (a local path is used in place: do not write to it)
    config: OrchestraConfig  # devops_orchestra.yaml at that sha, or the defaults
    store: Store  # the local run store, where agents' full reports stay
    state: Bus  # the bus's shared state: what a stage remembers between runs (set_once, get, put)
    effect_key: str  # unique per (repo, sha, stage, configuration hash): for effects outside the orchestra
    from_fork: bool = False  # the run is a pull request from a fork: its code is not to be trusted


class Stage(ABC):
    """One step of the pipeline. Subclass it in a module of its own that sets `STAGE = YourStage()`."""

    name: ClassVar[str]
    consumes: ClassVar[EventType]
    publishes: ClassVar[EventType]
    deploys: ClassVar[bool] = False  # changes a running environment: an IDE's run_pipeline needs --allow-deploy

    @abstractmethod
    async def handle(self, event: Envelope, context: StageContext) -> Payload:
        """Do the stage's work for event; the payload returned is published as `publishes`."""

    @abstractmethod
    def summary(self, payload: Payload) -> str:
        """One line for the run record and the CLI."""


FORK_CODE_ENV = "DEVOPS_ORCHESTRA_RUN_FORK_CODE"


def fork_code_refused(context: StageContext) -> str | None:
    """Why a stage that runs the repository's code (its tests, its build) must not run it here: the commit is a
    pull request from a fork, and this worker is not one set apart for such code. The permission is the
    worker's, never the repository's: a fork writes its own devops_orchestra.yaml."""
    if not context.from_fork or os.environ.get(FORK_CODE_ENV) == "1":
        return None
    return (f"a pull request from a fork: its code is not run on this worker (give {FORK_CODE_ENV}=1 to a worker "
            "isolated for it, in a container or VM without credentials)")
