"""Benchmark: what the scan cache, diff-aware scans and verify_fix save, through one stdio server.

    .venv/bin/python bench/scan_memory.py [--tree DIR]

Default tree: a git copy of networkx (150k lines of Python) from checkov's environment. Measures, in one
run against one server: a cold full scan; a rescan of the unchanged tree; after editing one file, a
`changed_since` scan and a cached full rescan; verify_fix of one finding; a full scan after every file's
content changed (the cache cannot help); and the four scanner CLIs one after another for comparison.
Writes bench/results/scan_memory.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters

from devops_orchestra.core import toolchain

sys.path.insert(0, str(Path(__file__).parent))
from security_scan import PARSERS, cli_argv, timed
from summary import write_summary  # bench/, the script's own directory


def default_tree() -> Path:
    checkov = toolchain.executable("checkov")
    assert checkov, "run `devops-orchestra tools install` first"
    return next(checkov.parents[1].glob("lib/python*/site-packages/networkx"))


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.email=b@b", "-c", "user.name=bench", *args], cwd=root,
                          check=True, capture_output=True, text=True).stdout


def edit_one_file(tree: Path) -> str:
    victim = next(p for p in sorted(tree.rglob("*.py")) if "tests" not in p.parts and p.stat().st_size > 4000)
    victim.write_text(victim.read_text() + "\n\ndef _bench_probe(cmd):\n    return eval(cmd)\n")
    return str(victim.relative_to(tree))


def change_every_file(tree: Path) -> None:
    """Every file's content changes, so the cache has nothing to answer."""
    for path in tree.rglob("*"):
        if path.is_file() and ".git" not in path.parts and path.suffix in (".py", ".txt", ".md", ".cfg"):
            path.write_text(path.read_text() + "\n# changed\n")


async def measure(tree: Path, state: Path) -> dict[str, Any]:
    env = {**os.environ, "DEVOPS_ORCHESTRA_STORE": str(state / "runs.sqlite3"),
           "DEVOPS_ORCHESTRA_CACHE": str(state / "cache.sqlite3")}
    params = StdioServerParameters(command=sys.executable, args=["-m", "devops_orchestra", "serve", "--root",
                                                                 str(tree)], env=env)
    out: dict[str, Any] = {}
    async with Client(params) as client:
        await client.list_tools()
        await asyncio.sleep(4)  # the server's warm-up (checkov import), as in an IDE session

        async def call(name: str, args: dict[str, Any]) -> tuple[float, dict[str, Any]]:
            t0 = time.perf_counter()
            result = await client.call_tool(name, args)
            assert not result.is_error, result.content
            return time.perf_counter() - t0, result.structured_content or {}

        out["cold_s"], cold = await call("security_scan", {})
        out["rescan_unchanged_s"], _ = await call("security_scan", {})
        out["edited_file"] = edit_one_file(tree)
        out["changed_since_s"], diff = await call("security_scan", {"changed_since": "HEAD"})
        out["changed_since_files"] = diff["scope"]["files_scanned"]
        out["rescan_one_edited_s"], _ = await call("security_scan", {})
        finding = next(f for f in cold["findings"] if not f.get("in_test_code"))
        out["verify_fix_s"], verified = await call("verify_fix", {"finding_ids": [finding["id"]]})
        out["verify_fix_verdict"] = verified["checks"][0]["verdict"]
        change_every_file(tree)
        out["second_full_all_changed_s"], second = await call("security_scan", {})
        out["second_full_cached_files"] = {r["name"]: r.get("cached", 0) for r in second["scanners"]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        shutil.copytree(args.tree or default_tree(), tree, ignore=shutil.ignore_patterns("__pycache__"))
        git(tree, "init", "-q")
        git(tree, "add", ".")
        git(tree, "commit", "-qm", "bench")
        lines = sum(len(p.read_text(errors="replace").splitlines()) for p in tree.rglob("*.py"))
        sequential = {n: round(timed(cli_argv(n, str(toolchain.executable(n))), tree)[0], 2) for n in PARSERS}
        state = Path(tmp) / "state"
        state.mkdir()
        result = asyncio.run(measure(tree, state))
    seq = sum(sequential.values())
    cold = result["cold_s"]
    summary = {
        "tree_python_lines": lines,
        "sequential_clis_s": sequential,
        **{k: round(v, 2) if isinstance(v, float) else v for k, v in result.items()},
        "rescan_speedup_x": round(cold / result["rescan_unchanged_s"], 1),
        "changed_since_vs_cold": round(result["changed_since_s"] / cold, 3),
        "rescan_one_edited_vs_cold": round(result["rescan_one_edited_s"] / cold, 3),
        "verify_fix_vs_cold": round(result["verify_fix_s"] / cold, 3),
        "second_full_vs_sequential_clis": round(result["second_full_all_changed_s"] / seq, 3),
    }
    write_summary("scan_memory", summary)


if __name__ == "__main__":
    main()
