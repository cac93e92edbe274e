"""How long the orchestra keeps what it writes, in one place: without it an organisation running a pipeline on
every push of hundreds of repositories would grow its bus without bound.

- streams: an entry goes once every consumer group of its topic has received and acknowledged it, but each topic
  keeps its newest `stream_keep` entries whatever (for `bus status` and debugging); dead letters: the newest
  `dead_keep` of each topic. The workers trim them every `trim_every_s`.
- effect keys (a stage's result per repo, sha, stage and configuration hash) and the like: `effects_s`.
- pipeline runs, their submissions and the index `runs` lists: `runs_s`, counted from a run's last change.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict

from devops_orchestra.core.errors import OrchestraError

DAY_S = 86_400.0
RUNS_ENV = "DEVOPS_ORCHESTRA_RUNS_KEEP_DAYS"
EFFECTS_ENV = "DEVOPS_ORCHESTRA_EFFECTS_KEEP_DAYS"
RUNS_INDEX = "runs"  # the index of run ids by creation time


class Retention(BaseModel):
    model_config = ConfigDict(frozen=True)

    stream_keep: int = 1000  # newest entries kept in every topic
    dead_keep: int = 1000  # newest dead letters kept in every topic
    trim_every_s: float = 60.0  # how often a worker trims the topics it knows
    effects_s: float = 14 * DAY_S
    runs_s: float = 30 * DAY_S


def _days(env: str, default_s: float) -> float:
    text = os.environ.get(env)
    if not text:
        return default_s
    try:
        days = float(text)
    except ValueError:
        days = 0.0
    if not days > 0:
        raise OrchestraError(f"${env} is {text!r}: give a number of days greater than 0 (say 30), or unset it.")
    return days * DAY_S


def retention() -> Retention:
    """The defaults, with the periods set in the environment."""
    return Retention(runs_s=_days(RUNS_ENV, Retention().runs_s), effects_s=_days(EFFECTS_ENV, Retention().effects_s))
