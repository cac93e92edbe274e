"""Benchmark: architecture_analysis on a Django-sized tree and on a ~10k-line repository.

    .venv/bin/python bench/architecture.py [--tree DIR ...] [--runs N]

Default trees: the Django 5.2 sources (~490k lines of Python) and the Flask 3.1 sources (~12k lines),
both fetched once as source distributions with `pip download` into ~/.cache/devops-orchestra/bench.
Each run is `devops-orchestra arch TREE --format json` in a fresh process, as CI runs it: wall time
(interpreter start-up included), the analysis's own duration, the process's CPU seconds (what the wall
time would be on an idle core) and its peak memory (max RSS).
The targets: Django under 15 s and 300 MB on 2 cores, 10k lines under 2 s. Writes bench/results/architecture.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "devops-orchestra" / "bench"
SOURCES = {"django": "django==5.2.*", "flask": "flask==3.1.*"}


def fetch(name: str, into: Path) -> Path:
    """The unpacked source distribution of a PyPI project (downloaded once, then from the cache)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    archives = sorted(CACHE.glob(f"{name}-*.tar.gz"))
    if not archives:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                        SOURCES[name], "-d", str(CACHE)], check=True)
        archives = sorted(CACHE.glob(f"{name}-*.tar.gz"))
    with tarfile.open(archives[-1]) as tar:
        tar.extractall(into, filter="data")
    return next(into.glob(f"{name}-*"))


def lines_of(tree: Path) -> int:
    from devops_orchestra.analyzers.sources import count_lines
    from devops_orchestra.core.workspace import build_inventory

    inventory = build_inventory(tree)
    return sum(count_lines((tree / f.rel).read_text("utf-8")) for f in inventory.files
               if f.language in ("python", "javascript", "typescript", "go", "java"))


def run_once(tree: Path, store: Path) -> dict[str, Any]:
    env = {**os.environ, "DEVOPS_ORCHESTRA_STORE": str(store)}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "devops_orchestra", "arch", str(tree), "--format", "json"],
                                stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak memory, not the largest child's so far
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            raise SystemExit(f"arch failed on {tree}: {err.read().decode()[-2000:]}")
        report = json.loads(out.read())
    return {"wall_s": wall, "analysis_s": report["duration_s"], "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_mb": usage.ru_maxrss / 1024,
            "components": len(report["components"]), "modules": report["imports"]["modules"],
            "findings": report["findings_total"], "files": report["scope"]["files_scanned"]}


def bench(tree: Path, runs: int, store: Path) -> dict[str, Any]:
    results = [run_once(tree, store) for _ in range(runs)]
    row = {"tree": tree.name, "lines": lines_of(tree), **results[-1],
           "wall_s": round(statistics.median(r["wall_s"] for r in results), 2),
           "analysis_s": round(statistics.median(r["analysis_s"] for r in results), 2),
           "cpu_s": round(statistics.median(r["cpu_s"] for r in results), 2),
           "peak_mb": round(max(r["peak_mb"] for r in results), 1)}
    print(f"{row['tree']:<22} {row['lines']:>8} lines {row['files']:>6} files  wall {row['wall_s']:>6.2f} s  "
          f"analysis {row['analysis_s']:>6.2f} s  CPU {row['cpu_s']:>6.2f} s  peak {row['peak_mb']:>6.1f} MB  "
          f"{row['modules']} modules, {row['components']} components, {row['findings']} findings", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", action="append", type=Path, help="trees to measure (default: django, flask)")
    parser.add_argument("--runs", type=int, default=3, help="runs per tree; the median wall time is reported")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trees = args.tree or [fetch(name, Path(tmp)) for name in SOURCES]
        load = os.getloadavg()
        print(f"{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        rows = [bench(t.resolve(), args.runs, Path(tmp) / "runs.sqlite3") for t in trees]
    out = REPO / "bench" / "results" / "architecture.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"cores": os.cpu_count(), "load": load, "trees": rows}, indent=1) + "\n")
    print(f"written to {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
