"""Benchmark: what a compliance check costs next to a security scan of the same tree.

    .venv/bin/python bench/compliance.py [--tree DIR ...] [--rounds N]

Through one stdio server per tree, as an IDE calls them, with the scan cache off so that every call does
all its work: security_scan and compliance_check (all three bundled frameworks) in turns, N rounds; the
median of each and their ratio (target: at most 1.2). Then, with the cache on, compliance_check right
after a security_scan, the usual order in an IDE. Default trees: the bundled example and a git copy of
networkx (150k lines of Python). Writes bench/results/compliance.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters

sys.path.insert(0, str(Path(__file__).parent))
from scan_memory import default_tree, git

REPO = Path(__file__).resolve().parents[1]
WARM_UP_S = 4.0  # the server imports checkov in the background at start


def server_params(tree: Path, state: Path, cache: bool) -> StdioServerParameters:
    """A stdio server on tree with its own run store and scan cache under state; cache off: all the work."""
    env = {**os.environ, "DEVOPS_ORCHESTRA_STORE": str(state / "runs.sqlite3"),
           "DEVOPS_ORCHESTRA_CACHE": str(state / "cache.sqlite3")}
    if not cache:
        env["DEVOPS_ORCHESTRA_NO_CACHE"] = "1"
    return StdioServerParameters(command=sys.executable, args=["-m", "devops_orchestra", "serve", "--root",
                                                               str(tree)], env=env)


async def measure(tree: Path, state: Path, rounds: int, cache: bool) -> dict[str, list[float]]:
    params = server_params(tree, state, cache)
    times: dict[str, list[float]] = {"security_scan": [], "compliance_check": []}
    async with Client(params) as client:
        await client.list_tools()
        await asyncio.sleep(WARM_UP_S)
        for _ in range(rounds):
            for tool in times:
                t0 = time.perf_counter()
                result = await client.call_tool(tool, {})
                assert not result.is_error, result.content
                times[tool].append(time.perf_counter() - t0)
    return times


def bench_tree(tree: Path, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        cold = asyncio.run(measure(tree, state / "nocache", rounds, cache=False))
        (state / "cache").mkdir()
        warm = asyncio.run(measure(tree, state / "cache", 1, cache=True))
    scan, comply = (statistics.median(cold[t]) for t in ("security_scan", "compliance_check"))
    return {
        "tree": str(tree),
        "rounds": rounds,
        "security_scan_s": [round(t, 2) for t in cold["security_scan"]],
        "compliance_check_s": [round(t, 2) for t in cold["compliance_check"]],
        "compliance_vs_security": round(comply / scan, 3),
        "compliance_after_scan_cached_s": round(warm["compliance_check"][0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", type=Path, action="append", default=None)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        trees = args.tree or [REPO / "examples" / "vulnshop", _git_copy(default_tree(), Path(tmp) / "networkx")]
        for tree in trees:
            result = bench_tree(tree, args.rounds)
            results.append(result)
            print(f"{Path(result['tree']).name}: security_scan {result['security_scan_s']} s, compliance_check "
                  f"{result['compliance_check_s']} s -> {result['compliance_vs_security']}x (target <= 1.2); "
                  f"after a scan, cached: {result['compliance_after_scan_cached_s']} s")
    out = REPO / "bench" / "results" / "compliance.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"load_before": os.getloadavg(), "trees": results}, indent=1) + "\n")
    print(f"written to {out.relative_to(REPO)}")


def _git_copy(source: Path, tree: Path) -> Path:
    shutil.copytree(source, tree, ignore=shutil.ignore_patterns("__pycache__"))
    git(tree, "init", "-q")
    git(tree, "add", ".")
    git(tree, "commit", "-qm", "bench")
    return tree


if __name__ == "__main__":
    main()
