"""What the server keeps between tool calls: the allowed roots and the latest runs' full reports."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field

from devops_orchestra.models import SecurityReport
from devops_orchestra.proc import Runner
from devops_orchestra.workspace import Roots

KEPT_RUNS = 20  # full reports kept for the findings.json resource; older ones are dropped


@dataclass
class AppState:
    roots: Roots
    runners: Mapping[str, Runner] = field(default_factory=dict)  # pre-warmed scanners, by name
    runs: OrderedDict[str, SecurityReport] = field(default_factory=OrderedDict)

    def remember(self, report: SecurityReport) -> None:
        self.runs[report.run_id] = report
        while len(self.runs) > KEPT_RUNS:
            self.runs.popitem(last=False)
