"""A strategy is the steps of traffic a new version goes through, each watched before the next:
blue-green all at once (the old colour kept warm), canary by the environment's weights, rolling an
instance's share at a time. After the last step the new version is promoted."""

from __future__ import annotations

import re

from devops_orchestra.models.deploy import Step, Strategy
from devops_orchestra.pipeline.config import Environment

DEFAULT_CANARY = (10, 50)
WATCHES_PER_STEP = 5  # without a duration configured, each step is watched for this many intervals


def seconds(duration: str) -> float:
    """'1.5s', '250ms', '2m', '1h' in seconds."""
    found = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration)
    if not found:
        raise ValueError(f"{duration!r} is not a duration such as 30s, 250ms, 2m")
    return float(found[1]) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[found[2]]


def steps(strategy: Strategy, environment: Environment, *, interval_s: float, watch_s: float | None) -> list[Step]:
    """The steps of strategy in environment; watch_s (rollback.threshold.duration) is the whole watch."""
    whole = watch_s if watch_s is not None else WATCHES_PER_STEP * interval_s
    if strategy == "blue-green":
        return [Step(weight=100, pause_s=whole)]
    if strategy == "canary":
        if environment.steps:
            return [Step(weight=s.weight, pause_s=seconds(s.pause)) for s in environment.steps]
        return [Step(weight=w, pause_s=whole / len(DEFAULT_CANARY)) for w in DEFAULT_CANARY]
    n = environment.instances
    return [Step(weight=round(100 * i / n), pause_s=max(interval_s, whole / n)) for i in range(1, n + 1)]
