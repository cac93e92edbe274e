"""Where a service of an environment runs. Each target implements targets/base.py's Target; `make` picks the
class named by the environment's `target:` from TARGETS (a module path, imported when first used)."""

from __future__ import annotations

import importlib
from pathlib import Path

from devops_orchestra.deploy.targets.base import DeployError, Target
from devops_orchestra.pipeline.config import Environment, Service

TARGETS = {
    "local": "devops_orchestra.deploy.targets.local:LocalTarget",
    "kubernetes": "devops_orchestra.deploy.targets.kubernetes:KubernetesTarget",
}


def make(service: Service, environment_name: str, environment: Environment, state_dir: Path) -> Target:
    """The target for service in environment, keeping its files under state_dir."""
    module_name, _, class_name = TARGETS[environment.target].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise DeployError(f"environment {environment_name!r} asks for target {environment.target!r}, which this "
                          "installation does not have. Use target: local, or upgrade devops-orchestra.") from exc
    kind: type[Target] = getattr(module, class_name)
    return kind(service, environment_name, environment, state_dir)
