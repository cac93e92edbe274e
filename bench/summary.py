"""What a benchmark ends with: its figures printed a line each and written to bench/results/NAME.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def write_summary(name: str, summary: dict[str, Any]) -> None:
    width = max(map(len, summary), default=0) + 2
    for key, value in summary.items():
        print(f"  {key:<{width}}{value}")
    out = REPO / "bench" / "results" / f"{name}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(summary, indent=1) + "\n")
    print(f"written to {out.relative_to(REPO)}")
