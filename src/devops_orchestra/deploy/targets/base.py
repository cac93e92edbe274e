"""What a deploy target does, whatever it runs on: make a version ready beside the stable one, weigh traffic
between them, promote or abort, say how it stands, and stop. Strategies (deploy/strategies.py) and the SLO
watcher (deploy/watch.py) drive a target only through this interface.

A target is built for one service in one environment (`make(...)` in deploy/targets/__init__ picks the class
from the environment's `target:`). Every method is idempotent: a deploy interrupted (a worker killed) is
driven again from the start, and a rollback may be asked twice.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

from pydantic import Field

from devops_orchestra.core.errors import OrchestraError
from devops_orchestra.models.base import Model
from devops_orchestra.models.deploy import DeployPlan, SloName
from devops_orchestra.pipeline.config import Environment, Service


class DeployError(OrchestraError):
    """A deploy step that could not be done: what failed, where, and what to do."""


# One running copy of a version (a process, a pod).
class Instance(Model):
    name: str
    version: str = Field(description="The sha it runs.")
    healthy: bool
    address: str = Field(default="", description="host:port, or the pod's name.")


# How an environment stands: which version is stable, which is new, and where traffic goes.
class TargetStatus(Model):
    stable: str | None = Field(default=None, description="The sha serving by default, None before a deploy.")
    candidate: str | None = Field(default=None, description="The sha being rolled out, if any.")
    weight: int = Field(default=0, description="Percent of requests on the candidate.")
    instances: list[Instance] = Field(default_factory=list)


class Target(ABC):
    """One service in one environment."""

    kind: ClassVar[str]  # the environment's `target:` value

    def __init__(self, service: Service, environment_name: str, environment: Environment, state_dir: Path) -> None:
        self.service = service
        self.environment_name = environment_name
        self.environment = environment
        self.state_dir = state_dir  # this target's own directory for files it keeps between calls

    @abstractmethod
    async def prepare(self, plan: DeployPlan) -> None:
        """Make plan.sha run beside the stable version, healthy and taking no traffic. DeployError when it
        cannot (the release does not build, instances never become healthy)."""

    @abstractmethod
    async def set_weight(self, plan: DeployPlan, weight: int) -> None:
        """Send weight percent of requests to plan.sha and the rest to the stable version."""

    @abstractmethod
    async def promote(self, plan: DeployPlan) -> None:
        """All traffic on plan.sha, which becomes the stable version. Blue-green keeps the previous version
        running (warm, taking nothing) for an instant rollback; the other strategies stop it."""

    @abstractmethod
    async def abort(self, plan: DeployPlan) -> None:
        """All traffic back on the stable version at once; plan.sha is kept (taking nothing) for diagnosis."""

    @abstractmethod
    async def status(self) -> TargetStatus:
        """The environment as it is now."""

    @abstractmethod
    async def heal(self) -> list[str]:
        """Replace instances that died outside our control; one line per instance replaced."""

    @abstractmethod
    def queries(self, plan: DeployPlan) -> dict[SloName, str]:
        """PromQL per SLO, each giving one number for plan.sha's traffic alone: success_rate in percent,
        p99_latency_ms, cpu_percent. An SLO missing here is not measured on this target."""

    @abstractmethod
    async def prometheus_url(self) -> str:
        """The Prometheus that scrapes this environment (the local target starts its own)."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop everything this service runs in the environment: instances, proxy, scrapers. Nothing is left."""
