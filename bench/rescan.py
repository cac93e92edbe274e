"""Benchmark: an unchanged rescan against the cold scan, offline, through one stdio server.

    .venv/bin/python bench/rescan.py [--tree DIR] [--rescans N] [--osv-url URL]

Default tree: a git copy of examples/vulnshop (lock files included, so `deps` runs). The OSV API is a
closed local port by default: refused at once, as on a machine without network, whatever this machine's
network. Measures, in one server with fresh caches: the cold security_scan, then N rescans of the unchanged
tree a few seconds apart (median), with what `deps` said each time. Writes bench/results/rescan.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters
from summary import write_summary  # bench/, the script's own directory

REPO = Path(__file__).resolve().parents[1]
WARM_UP_S = 4.0  # the server imports checkov in the background at start; an IDE session is older than this


async def measure(tree: Path, state: Path, rescans: int, osv_url: str) -> dict[str, Any]:
    env = {**os.environ, "DEVOPS_ORCHESTRA_STORE": str(state / "runs.sqlite3"),
           "DEVOPS_ORCHESTRA_CACHE": str(state / "cache.sqlite3"), "DEVOPS_ORCHESTRA_OSV_URL": osv_url}
    env.pop("DEVOPS_ORCHESTRA_OSV_DB", None)
    env.pop("DEVOPS_ORCHESTRA_NO_CACHE", None)
    params = StdioServerParameters(command=sys.executable, args=["-m", "devops_orchestra", "serve", "--root",
                                                                 str(tree)], env=env)
    async with Client(params) as client:
        await client.list_tools()
        await asyncio.sleep(WARM_UP_S)

        async def scan() -> tuple[float, dict[str, Any]]:
            t0 = time.perf_counter()
            result = await client.call_tool("security_scan", {})
            assert not result.is_error, result.content
            content = result.structured_content or {}
            return time.perf_counter() - t0, {r["name"]: r for r in content["scanners"]}

        cold_s, cold_runs = await scan()
        times, runs = [], []
        for _ in range(rescans):
            await asyncio.sleep(1)  # an IDE does not rescan back to back
            elapsed, scanners = await scan()
            times.append(elapsed)
            runs.append(scanners)
    return {"cold_s": cold_s, "cold_runs": cold_runs, "rescans_s": times, "rescan_runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", type=Path, default=REPO / "examples" / "vulnshop")
    parser.add_argument("--rescans", type=int, default=7)
    parser.add_argument("--osv-url", default="http://127.0.0.1:9")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        shutil.copytree(args.tree, tree, ignore=shutil.ignore_patterns("__pycache__"))
        for argv in (["init", "-q"], ["add", "."], ["commit", "-qm", "bench"]):
            subprocess.run(["git", "-c", "user.email=b@b", "-c", "user.name=bench", *argv], cwd=tree, check=True,
                           capture_output=True)
        state = Path(tmp) / "state"
        state.mkdir()
        result = asyncio.run(measure(tree, state, args.rescans, args.osv_url))
    rescan = statistics.median(result["rescans_s"])
    summary = {
        "tree": str(args.tree),
        "osv_url": args.osv_url,
        "cold_s": round(result["cold_s"], 3),
        "rescans_s": [round(t, 3) for t in result["rescans_s"]],
        "rescan_median_s": round(rescan, 3),
        "rescan_speedup_x": round(result["cold_s"] / rescan, 1),
        "cold_scanners_s": {name: r["duration_s"] for name, r in result["cold_runs"].items()},
        "rescan_deps_s": [r["deps"]["duration_s"] for r in result["rescan_runs"]],
        "last_rescan_scanners_s": {name: r["duration_s"] for name, r in result["rescan_runs"][-1].items()},
        "last_rescan_deps": {k: result["rescan_runs"][-1]["deps"].get(k) for k in ("status", "error", "warnings")},
    }
    write_summary("rescan", summary)


if __name__ == "__main__":
    main()
