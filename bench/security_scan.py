"""Benchmark: security_scan against the four scanner CLIs run one after another, in one run.

    .venv/bin/python bench/security_scan.py [--tree DIR ...]

For the bundled example and a copy of the installed pip sources (vendored code included), or the trees
given, it measures:
  - each scanner CLI alone on the tree, as its documentation says to run it (wall and CPU seconds);
  - security_scan through the MCP server over stdio, as an IDE calls it (wall, the CPU seconds of every
    scanner process, the server's own CPU and peak memory), after the server's start-up warm-up;
  - `devops-orchestra scan` in a fresh process (no warm checkov), for CI;
  - whether security_scan found what the CLIs found on the files it scans;
  - server cold start to an answered tools/list over stdio.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters

from devops_orchestra.agents.security import cores
from devops_orchestra.core import toolchain
from devops_orchestra.core.paths import policies_dir
from devops_orchestra.core.workspace import build_inventory
from devops_orchestra.models import Finding, SecurityReport
from devops_orchestra.scanners import bandit, checkov, secrets, semgrep

REPO = Path(__file__).resolve().parents[1]
PARSERS = {"semgrep": semgrep.parse, "bandit": bandit.parse, "secrets": secrets.parse, "checkov": checkov.parse}
TICK = os.sysconf("SC_CLK_TCK")
WARM_UP_S = 4.0  # the server imports checkov in the background at start; an IDE session is older than this


def cli_argv(name: str, exe: str) -> list[str]:
    """Each scanner as its own documentation says to run it on a directory."""
    return {
        "semgrep": [exe, "scan", "--config", str(policies_dir() / "semgrep"), "--json", "--metrics=off",
                    "--disable-version-check", "--quiet", "--no-git-ignore", "--x-ignore-semgrepignore-files",
                    "."],
        "bandit": [exe, "-r", ".", "-f", "json", "-q"],
        "secrets": [exe, "scan", "--no-verify", "--all-files", "."],  # offline: no provider API calls
        "checkov": [exe, "-d", ".", "--framework", "terraform,kubernetes,dockerfile", "--skip-download",
                    "--quiet", "--compact", "-o", "json"],
    }[name]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float, str]:
    cpu0, t0 = children_cpu(), time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env)
    return time.perf_counter() - t0, children_cpu() - cpu0, done.stdout


@dataclass
class CliRun:
    """One scanner CLI run on a tree: wall and CPU seconds, and its findings parsed by our adapter."""

    name: str
    wall_s: float
    cpu_s: float
    findings: list[Finding]


def run_clis(tree: Path) -> list[CliRun]:
    """The four scanner CLIs one after another on tree, each as its documentation says to run it."""
    runs = []
    for name, parse in PARSERS.items():
        wall, cpu, out = timed(cli_argv(name, str(toolchain.executable(name))), tree)
        runs.append(CliRun(name, round(wall, 2), round(cpu, 2), parse(json.loads(out), tree)))
    return runs


def proc_cpu(pid: int) -> tuple[float, float]:
    """(own CPU, CPU of the children it has reaped) of a live process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime) / TICK, (cutime + cstime) / TICK


def peak_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024


def descendants(pid: int) -> list[int]:
    kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(k) for k in kids] + [d for k in kids for d in descendants(int(k))]


def keys_of(findings: list[Finding], scanned: set[str], tests: set[str]) -> set[tuple[str, str, int]]:
    out = set()
    for f in findings:
        if f.location.path not in scanned:
            continue
        if f.rule_id == "bandit:B101" and f.location.path in tests:
            continue  # asserts in tests are dropped on purpose
        for rule in (f.rule_id, *f.sources):
            out.add((rule, f.location.path, f.location.start_line))
    return out


async def scan_through_server(tree: Path) -> dict[str, Any]:
    """One security_scan call on a warm stdio server; CPU from /proc of the server and its helpers."""
    params = StdioServerParameters(command=sys.executable,
                                   args=["-m", "devops_orchestra", "serve", "--root", str(tree)],
                                   env={**os.environ, "DEVOPS_ORCHESTRA_NO_CACHE": "1"})  # all the work, every time
    async with Client(params) as client:
        await client.list_tools()
        server = _server_pid(tree)
        await asyncio.sleep(WARM_UP_S)
        helpers = descendants(server)  # the warm checkov, whose children are the checkov scans
        before = [proc_cpu(p) for p in (server, *helpers)]
        t0 = time.perf_counter()
        result = await client.call_tool("security_scan", {"path": "."})
        wall = time.perf_counter() - t0
        after = [proc_cpu(p) for p in (server, *helpers)]
        page = SecurityReport.model_validate(result.structured_content)
        full = await client.read_resource(page.full_report) if page.full_report else None
        report = SecurityReport.model_validate_json(full.contents[0].text) if full else page  # type: ignore[union-attr]
        peak = peak_mb(server)
    scanners_cpu = sum(a[1] - b[1] for a, b in zip(after, before, strict=True))
    return {
        "wall_s": wall, "scanners_cpu_s": scanners_cpu, "server_cpu_s": after[0][0] - before[0][0],
        "server_peak_mb": peak, "report": report,
        "response_chars": len(json.dumps(result.structured_content)) + sum(len(c.text) for c in result.content),
    }


def bench_tree(tree: Path) -> dict[str, Any]:
    print(f"\n== {tree}", flush=True)
    inv = build_inventory(tree)
    scanned = {f.rel for f in inv.files}
    tests = {f.rel for f in inv.files if f.is_test}

    runs = run_clis(tree)
    sequential = {r.name: {"wall_s": r.wall_s, "cpu_s": r.cpu_s} for r in runs}
    baseline = {key for r in runs for key in keys_of(r.findings, scanned, tests)}
    seq_wall = sum(r["wall_s"] for r in sequential.values())

    served = asyncio.run(scan_through_server(tree))
    report: SecurityReport = served["report"]
    ours = keys_of(report.findings, scanned, tests)
    cli_wall, cli_cpu, _ = timed([sys.executable, "-m", "devops_orchestra", "scan", ".", "--format", "json"], tree)
    result = {
        "tree": str(tree),
        "files_scanned": len(inv.files),
        "files_left_out": dict(report.scope.skipped_by_reason),
        "sequential": sequential,
        "sequential_wall_s": round(seq_wall, 2),
        "sequential_cpu_s": round(sum(r["cpu_s"] for r in sequential.values()), 2),
        "scan_wall_s": round(served["wall_s"], 2),
        "scan_scanners_cpu_s": round(served["scanners_cpu_s"], 2),
        "scan_server_cpu_s": round(served["server_cpu_s"], 2),
        "scanner_durations_s": {r.name: r.duration_s for r in report.scanners},
        "wall_vs_sequential": round(served["wall_s"] / seq_wall, 3),
        "wall_vs_cpu_per_core": round(served["wall_s"] / (served["scanners_cpu_s"] / cores()), 3),
        "server_peak_mb": round(served["server_peak_mb"], 1),
        "response_chars": served["response_chars"],
        "cli_scan_wall_s": round(cli_wall, 2),
        "cli_scan_cpu_s": round(cli_cpu, 2),
        "findings_baseline_on_scanned_files": len(baseline),
        "findings_ours": len(ours),
        "missing_vs_baseline": sorted(baseline - ours)[:20],
        "extra_vs_baseline": sorted(ours - baseline)[:20],
    }
    for key, value in result.items():
        if key not in ("tree", "missing_vs_baseline", "extra_vs_baseline"):
            print(f"  {key:<36} {value}")
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


def _server_pid(root: Path) -> int:
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"serve" in cmd and str(root).encode() in cmd and b"devops_orchestra" in cmd:
                return int(proc.name)
    raise RuntimeError("server process not found")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", action="append", type=Path, help="trees to measure (default: example + pip)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trees = args.tree
        if not trees:
            import pip

            pip_copy = Path(tmp) / "pip"
            shutil.copytree(Path(pip.__file__).parent, pip_copy, ignore=shutil.ignore_patterns("__pycache__"))
            trees = [REPO / "examples" / "vulnshop", pip_copy]
        results: dict[str, Any] = {"cores": cores(), "trees": [bench_tree(t.resolve()) for t in trees]}
        results["cold_start_to_tools_list_s"] = round(asyncio.run(cold_start(trees[0])), 3)
    print(f"\ncold start to tools/list: {results['cold_start_to_tools_list_s']} s (median of 5)")
    out = REPO / "bench" / "results" / "security_scan.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"written to {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
