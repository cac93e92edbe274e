"""Benchmark: security_scan against the four scanner CLIs run one after another, in one run.

    .venv/bin/python bench/security_scan.py [--tree DIR ...]

For the bundled example and a copy of the installed pip sources (190k lines, vendored code included)
it measures:
  - each CLI run alone on the tree as a person would run it (wall and CPU seconds),
  - security_scan on the same tree (wall, and the CPU seconds its scanners used),
  - whether both found the same things on the files security_scan scans,
  - server cold start to an answered tools/list over stdio, and the server's peak memory during a scan.
Prints a table and writes bench/results/security_scan.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mcp import Client, StdioServerParameters

from devops_orchestra import toolchain
from devops_orchestra.agents.security import cores, security_scan
from devops_orchestra.catalog import policies_dir
from devops_orchestra.scanners import bandit, checkov, secrets, semgrep
from devops_orchestra.workspace import build_inventory

REPO = Path(__file__).resolve().parents[1]
PARSERS = {"semgrep": semgrep.parse, "bandit": bandit.parse, "secrets": secrets.parse, "checkov": checkov.parse}


def cli_argv(name: str, exe: str) -> list[str]:
    """Each scanner as its own documentation says to run it on a directory."""
    return {
        "semgrep": [exe, "scan", "--config", str(policies_dir() / "semgrep"), "--json", "--metrics=off",
                    "--disable-version-check", "--quiet", "--no-git-ignore", "--x-ignore-semgrepignore-files",
                    "."],
        "bandit": [exe, "-r", ".", "-f", "json", "-q"],
        "secrets": [exe, "scan", "--all-files", "."],
        "checkov": [exe, "-d", ".", "--framework", "terraform,kubernetes,dockerfile", "--skip-download",
                    "--quiet", "--compact", "-o", "json"],
    }[name]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_cli(name: str, tree: Path) -> dict[str, object]:
    exe = str(toolchain.executable(name))
    cpu0, t0 = children_cpu(), time.perf_counter()
    done = subprocess.run(cli_argv(name, exe), cwd=tree, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - t0, children_cpu() - cpu0
    raw = json.loads(done.stdout)
    return {"wall_s": wall, "cpu_s": cpu, "raw": raw}


def keys_of(findings: list, scanned: set[str], tests: set[str]) -> set[tuple[str, str, int]]:  # type: ignore[type-arg]
    out = set()
    for f in findings:
        if f.location.path not in scanned:
            continue
        if f.rule_id == "bandit:B101" and f.location.path in tests:
            continue  # asserts in tests are dropped on purpose
        for rule in (f.rule_id, *f.sources):
            out.add((rule, f.location.path, f.location.start_line))
    return out


def bench_tree(tree: Path) -> dict[str, object]:
    print(f"\n== {tree}", flush=True)
    inv = build_inventory(tree)
    scanned = {f.rel for f in inv.files}
    tests = {f.rel for f in inv.files if f.is_test}

    sequential = {name: run_cli(name, tree) for name in PARSERS}
    cpu0, t0 = children_cpu(), time.perf_counter()
    report = asyncio.run(security_scan(tree))
    wall, cpu = time.perf_counter() - t0, children_cpu() - cpu0

    baseline = set()
    for name, run in sequential.items():
        baseline |= keys_of(PARSERS[name](run["raw"], tree), scanned, tests)  # type: ignore[arg-type]
    ours = keys_of(report.findings, scanned, tests)
    seq_wall = sum(float(r["wall_s"]) for r in sequential.values())  # type: ignore[arg-type]
    seq_cpu = sum(float(r["cpu_s"]) for r in sequential.values())  # type: ignore[arg-type]
    result = {
        "tree": str(tree),
        "files_scanned": len(inv.files),
        "files_left_out": len(inv.skipped),
        "left_out_by_reason": report.scope.skipped_by_reason,
        "sequential": {
            n: {"wall_s": round(float(r["wall_s"]), 2), "cpu_s": round(float(r["cpu_s"]), 2)}  # type: ignore[arg-type]
            for n, r in sequential.items()
        },
        "sequential_wall_s": round(seq_wall, 2),
        "sequential_cpu_s": round(seq_cpu, 2),
        "scan_wall_s": round(wall, 2),
        "scan_cpu_s": round(cpu, 2),
        "scanner_durations_s": {r.name: r.duration_s for r in report.scanners},
        "wall_vs_sequential": round(wall / seq_wall, 3),
        "wall_vs_cpu_per_core": round(wall / (cpu / cores()), 3) if cpu else None,
        "findings_baseline_on_scanned_files": len(baseline),
        "findings_ours": len(ours),
        "missing_vs_baseline": sorted(baseline - ours)[:20],
        "extra_vs_baseline": sorted(ours - baseline)[:20],
    }
    for key in ("files_scanned", "files_left_out", "sequential", "sequential_wall_s", "scan_wall_s", "scan_cpu_s",
                "wall_vs_sequential", "wall_vs_cpu_per_core", "findings_baseline_on_scanned_files",
                "findings_ours"):
        print(f"  {key:<36} {result[key]}")
    print(f"  {'missing / extra':<36} {len(baseline - ours)} / {len(ours - baseline)}")
    return result


async def cold_start(root: Path, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        params = StdioServerParameters(command=sys.executable,
                                       args=["-m", "devops_orchestra", "serve", "--root", str(root)])
        async with Client(params) as client:
            await client.list_tools()
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _server_pid(root: Path) -> int | None:
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"serve" in cmd and str(root).encode() in cmd and b"devops_orchestra" in cmd:
                return int(proc.name)
    return None


async def server_peak_mb(root: Path) -> float:
    args = ["-m", "devops_orchestra", "serve", "--root", str(root)]
    async with Client(StdioServerParameters(command=sys.executable, args=args)) as client:
        pid = _server_pid(root)
        await client.call_tool("security_scan", {"path": "."})
        status = await asyncio.to_thread(Path(f"/proc/{pid}/status").read_text)
    hwm_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    return hwm_kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", action="append", type=Path, help="trees to measure (default: example + pip)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trees = args.tree
        if not trees:
            pip_copy = Path(tmp) / "pip"
            import pip

            shutil.copytree(Path(pip.__file__).parent, pip_copy, ignore=shutil.ignore_patterns("__pycache__"))
            trees = [REPO / "examples" / "vulnshop", pip_copy]
        results = {"cores": cores(), "trees": [bench_tree(t.resolve()) for t in trees]}
        results["cold_start_to_tools_list_s"] = round(asyncio.run(cold_start(trees[0])), 3)
        results["server_peak_mb_scanning_last_tree"] = round(asyncio.run(server_peak_mb(trees[-1])), 1)
    print(f"\ncold start to tools/list: {results['cold_start_to_tools_list_s']} s (median of 5)")
    print(f"server peak memory while scanning {trees[-1].name}: {results['server_peak_mb_scanning_last_tree']} MB")
    out = REPO / "bench" / "results" / "security_scan.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"written to {out.relative_to(REPO)}")


if __name__ == "__main__":
    os.environ.setdefault("SEMGREP_ENABLE_VERSION_CHECK", "0")
    main()
