"""Benchmark: cold start of `devops-orchestra serve` against a bare one-tool mcp 2.x server, in one run.

    .venv/bin/python bench/cold_start.py [--runs N]

Starts (a) `python -m devops_orchestra serve` and (b) bench/bare_server.py alternately, N times each (each
first half the time), with this interpreter, each through the real MCP client over stdio, and times from
process start to an answered tools/list. The machine's speed varies a lot (`import mcp` alone costs 0.5-1.9 s),
so the figure that counts is the ratio of the medians, with the load average at the time. Our server opens a
store and cache made by an unmeasured first start, as a developer's IDE does. The servers' stderr (our
"server ready" log line) goes to /dev/null. Target (issue 15, item 8): at most 1.25.
Writes bench/results/cold_start.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from mcp import Client, StdioServerParameters
from summary import write_summary  # bench/, the script's own directory

REPO = Path(__file__).resolve().parents[1]
TARGET = 1.25


async def start_once(args: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Seconds from spawning the server to an answered tools/list, and how many tools it listed."""
    params = StdioServerParameters(command=sys.executable, args=args, env=env, cwd=str(REPO))
    t0 = time.perf_counter()
    async with Client(params) as client:
        tools = await client.list_tools()
        elapsed = time.perf_counter() - t0
    return elapsed, len(tools.tools)


async def measure(runs: int, state: Path) -> dict[str, list[tuple[float, int]]]:
    base = dict(os.environ)
    ours_args = ["-m", "devops_orchestra", "serve", "--root", str(REPO)]
    bare_args = [str(REPO / "bench" / "bare_server.py")]
    times: dict[str, list[tuple[float, int]]] = {"orchestra": [], "bare": []}
    # The developer's store and cache, created by the first start (not measured, as it also warms the OS
    # file cache and the bytecode of both): an IDE's start opens them, it seldom creates them.
    env = {**base, "DEVOPS_ORCHESTRA_STORE": str(state / "runs.sqlite3"),
           "DEVOPS_ORCHESTRA_CACHE": str(state / "cache.sqlite3")}
    await start_once(bare_args, base)
    await start_once(ours_args, env)
    for i in range(runs):
        order = (("orchestra", ours_args, env), ("bare", bare_args, base))
        for name, args, child_env in order if i % 2 == 0 else order[::-1]:
            times[name].append(await start_once(args, child_env))
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7, help="starts of each server (default 7)")
    args = parser.parse_args()
    load_before = os.getloadavg()
    saved = os.dup(2)  # the client hands the servers its stderr: point it at /dev/null meanwhile
    with tempfile.TemporaryDirectory() as tmp, open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
        try:
            times = asyncio.run(measure(args.runs, Path(tmp)))
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    load_after = os.getloadavg()
    ours = statistics.median(t for t, _ in times["orchestra"])
    bare = statistics.median(t for t, _ in times["bare"])
    summary = {
        "python": sys.executable,
        "runs": args.runs,
        "orchestra_tools": times["orchestra"][-1][1],
        "orchestra_s": [round(t, 3) for t, _ in times["orchestra"]],
        "bare_s": [round(t, 3) for t, _ in times["bare"]],
        "orchestra_median_s": round(ours, 3),
        "bare_median_s": round(bare, 3),
        "ratio": round(ours / bare, 2),
        "target_ratio": TARGET,
        "load_avg_1_5_15_before": [round(x, 2) for x in load_before],
        "load_avg_1_5_15_after": [round(x, 2) for x in load_after],
        "cpus": os.cpu_count(),
    }
    write_summary("cold_start", summary)


if __name__ == "__main__":
    main()
