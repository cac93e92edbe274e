"""Benchmark: `review` against the slowest of the agents it runs, each called alone, in one server.

    .venv/bin/python bench/review.py [--tree DIR] [--rounds N]

Through one stdio server: each agent's own tool alone, then `review`, in turns for N rounds; medians, and
review / slowest agent (target: at most 1.1). Twice: with the scan cache off (every call does all its
work), then on (as in an IDE, where the agents' scans share the cache). Default tree: the bundled example.
Writes bench/results/review.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mcp import Client

sys.path.insert(0, str(Path(__file__).parent))
from compliance import WARM_UP_S, server_params

REPO = Path(__file__).resolve().parents[1]
# Each agent review may run, and the call that runs that agent alone.
ALONE = {
    "security": ("security_scan", {}),
    "compliance": ("compliance_check", {}),
    "sql": ("sql_analysis", {}),
    "architecture": ("architecture_analysis", {}),
}


async def measure(tree: Path, state: Path, rounds: int, cache: bool) -> dict[str, Any]:
    async with Client(server_params(tree, state, cache)) as client:
        await client.list_tools()
        await asyncio.sleep(WARM_UP_S)
        plan = (await client.call_tool("review", {"plan_only": True})).structured_content or {}
        agents = [p["agent"] for p in plan["plan"] if p["run"]]
        times: dict[str, list[float]] = {name: [] for name in [*agents, "review"]}

        async def timed(tool: str, args: dict[str, Any]) -> float:
            t0 = time.perf_counter()
            result = await client.call_tool(tool, args)
            assert not result.is_error, result.content
            return time.perf_counter() - t0

        for _ in range(rounds):
            for name in agents:
                times[name].append(await timed(*ALONE[name]))
            times["review"].append(await timed("review", {}))
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", type=Path, default=REPO / "examples" / "vulnshop")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    summary: dict[str, Any] = {"tree": str(args.tree), "load_before": os.getloadavg()}
    for mode, cache in (("cache_off", False), ("cache_on", True)):
        with tempfile.TemporaryDirectory() as tmp:
            times = asyncio.run(measure(args.tree.resolve(), Path(tmp), args.rounds, cache))
        medians = {name: round(statistics.median(t), 3) for name, t in times.items()}
        ratio = round(medians["review"] / max(v for k, v in medians.items() if k != "review"), 3)
        summary[mode] = {"median_s": medians, "review_vs_slowest_agent": ratio, "all_s": times}
        print(f"scan cache {mode.removeprefix('cache_')}:")
        for name, median in medians.items():
            print(f"  {name:<12} median {median:.2f} s   {[round(t, 2) for t in times[name]]}")
        print(f"  review / slowest agent alone: {ratio} (target <= 1.1)")
    out = REPO / "bench" / "results" / "review.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(summary, indent=1) + "\n")
    print(f"written to {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
