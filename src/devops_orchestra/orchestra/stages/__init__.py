"""The pipeline's stages: every module of this package that sets `STAGE`, plus any named with --load.

The order of the pipeline follows the topics: the stage consuming `code_push` first, then the one consuming
what it publishes, and so on.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from devops_orchestra.core.errors import OrchestraError
from devops_orchestra.orchestra.stages.base import Stage, StageContext

FIRST_TOPIC = "code_push"


@cache
def builtin() -> dict[str, Stage]:
    """The stages shipped in this package, by name."""
    found: dict[str, Stage] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name != "base":
            _add(found, importlib.import_module(f"{__name__}.{info.name}"))
    return found


def load(modules: list[str]) -> dict[str, Stage]:
    """The built-in stages plus those defined by these importable modules (each sets `STAGE`)."""
    stages = dict(builtin())
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise OrchestraError(f"cannot import stage module {name!r}: {exc}. Give a module on PYTHONPATH that "
                                 "sets STAGE = <a Stage>.") from exc
        _add(stages, module)
    return stages


def _add(stages: dict[str, Stage], module: object) -> None:
    stage = getattr(module, "STAGE", None)
    if not isinstance(stage, Stage):
        raise OrchestraError(f"{getattr(module, '__name__', module)} sets no STAGE = <a Stage instance>.")
    stages[stage.name] = stage


def pipeline(stages: dict[str, Stage], wanted: list[str] | None = None) -> list[Stage]:
    """The stages of a run in the order events flow through them: all that chain from code_push, or only
    `wanted`, which must chain too (each consumes what code_push or an earlier one publishes)."""
    if wanted is not None:
        unknown = sorted(set(wanted) - set(stages))
        if unknown:
            raise OrchestraError(f"no stage {', '.join(unknown)}; the stages are {', '.join(sorted(stages))}.")
    pool = [s for s in stages.values() if wanted is None or s.name in wanted]
    ordered: list[Stage] = []
    topics = {FIRST_TOPIC}
    while nxt := [s for s in pool if s.consumes in topics and s not in ordered]:
        ordered += nxt
        topics |= {s.publishes for s in nxt}
    left = [s.name for s in pool if s not in ordered]
    if left and wanted is not None:
        raise OrchestraError(f"stage(s) {', '.join(left)} would never run: each needs the event an earlier stage "
                             f"publishes ({', '.join(f'{s.name} consumes {s.consumes}' for s in pool)}); add the "
                             "stage that produces it.")
    return ordered


def next_stage(run_stages: list[str], stages: dict[str, Stage], topic: str) -> str | None:
    """The stage of this run that consumes topic, if any."""
    return next((n for n in run_stages if n in stages and stages[n].consumes == topic), None)


__all__ = ["Stage", "StageContext", "builtin", "load", "next_stage", "pipeline"]
