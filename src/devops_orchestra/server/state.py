"""What the server keeps between tool calls: roots, warm scanners, the run store and the scan cache."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from devops_orchestra.core.cache import ScanCache
from devops_orchestra.core.proc import Runner
from devops_orchestra.core.store import Store
from devops_orchestra.core.workspace import Roots


@dataclass
class AppState:
    """What every tool call gets: the allowed roots, the run store, the scan cache, pre-warmed scanners."""

    roots: Roots
    store: Store
    cache: ScanCache | None
    runners: Mapping[str, Runner] = field(default_factory=dict)  # pre-warmed scanners, by name
