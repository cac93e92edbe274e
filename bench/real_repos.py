"""Benchmark: `devops-orchestra scan` on five deliberately vulnerable repositories against the scanner CLIs.

    .venv/bin/python bench/real_repos.py [MIRRORS] [--repo NAME ...] [--rescan-repo NAME] [--rescans N]

MIRRORS (or $DEVOPS_ORCHESTRA_BENCH_MIRRORS; default /work/.mirror) holds git mirrors as owner+name/repo,
e.g. anxolerd+dvpwa/repo. Each is cloned into a temporary directory; a missing mirror is said and skipped,
nothing is downloaded. Blobs a mirror lacks (kubernetes-goat's tarballs) are left out of the checkout and
listed. For each repository, back to back:
  (a) `devops-orchestra scan . --format json --no-cache` in a fresh process, as CI runs it (fresh store,
      OSV API a closed local port: offline, so the network does not weigh on the figure);
  (b) the four scanner CLIs (semgrep on our rule pack, bandit, detect-secrets, checkov) one after another,
      run as bench/security_scan.py runs them; the ratio a/b (issue 14: at most 0.35 on every one);
  (c) coverage: every (file, line) a CLI reports, and whether our scan reports a finding there too, or why not.
Then (d), in one stdio server, an unchanged rescan of one repository against its cold scan, offline
(bench/rescan.py's measurement; target at least 20x). Writes bench/results/real_repos.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from devops_orchestra.core.workspace import Inventory, build_inventory
from devops_orchestra.models import SecurityReport

sys.path.insert(0, str(Path(__file__).parent))
from rescan import measure as rescan_measure
from security_scan import CliRun, run_clis, timed

REPO = Path(__file__).resolve().parents[1]
REPOS = {
    "dvpwa": "anxolerd+dvpwa",
    "pygoat": "adeyosemanputra+pygoat",
    "terragoat": "bridgecrewio+terragoat",
    "NodeGoat": "OWASP+NodeGoat",
    "kubernetes-goat": "madhuakula+kubernetes-goat",
}
MIRRORS_ENV = "DEVOPS_ORCHESTRA_BENCH_MIRRORS"
OFFLINE_OSV = "http://127.0.0.1:9"  # a closed port: refused at once, as on a machine without network
TARGET_RATIO = 0.35
TARGET_RESCAN_X = 20.0
NEARBY_LINES = 3


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def clone(mirror: Path, dest: Path) -> list[str]:
    """A work tree of the mirror's HEAD at dest, without the files whose blobs the mirror lacks (returned)."""
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(mirror), str(dest)], check=True, capture_output=True)
    entries = [line.split(" ", 2) for line in git(dest, "ls-tree", "-r", "--format=%(objecttype) %(objectname) "
                                                   "%(path)", "HEAD").splitlines()]
    blobs = {sha: path for kind, sha, path in entries if kind == "blob"}
    check = subprocess.run(["git", "cat-file", "--batch-check"], cwd=dest, input="\n".join(blobs) + "\n",
                           check=True, capture_output=True, text=True).stdout
    absent = sorted(blobs[line.split()[0]] for line in check.splitlines() if line.endswith(" missing"))
    git(dest, "checkout", "-q", "HEAD", "--", ".", *(f":(exclude,literal){p}" for p in absent))
    return absent


def scan_env(state: Path) -> dict[str, str]:
    """A fresh process's environment: its own run store and caches, the OSV API unreachable."""
    env = {**os.environ, "DEVOPS_ORCHESTRA_STORE": str(state / "runs.sqlite3"),
           "DEVOPS_ORCHESTRA_CACHE": str(state / "cache.sqlite3"), "DEVOPS_ORCHESTRA_OSV_URL": OFFLINE_OSV}
    env.pop("DEVOPS_ORCHESTRA_OSV_DB", None)
    return env


def our_cold_scan(tree: Path, state: Path) -> tuple[float, float, SecurityReport]:
    argv = [sys.executable, "-m", "devops_orchestra", "scan", ".", "--format", "json", "--no-cache"]
    wall, cpu, out = timed(argv, tree, scan_env(state))
    return round(wall, 2), round(cpu, 2), SecurityReport.model_validate_json(out)


def uncovered_reason(path: str, line: int, rules: set[str], scanners: set[str], inv: Inventory,
                     report: SecurityReport, ours_by_path: dict[str, list[tuple[int, set[str]]]]) -> str:
    """Why our scan reports nothing at (path, line) where a CLI does."""
    skipped = {s.path: s.reason for s in inv.skipped}
    files = {f.rel: f for f in inv.files}
    if path in skipped:
        return f"file left out by design: {skipped[path]}"
    if path not in files:
        return "file not in our inventory"
    if rules == {"bandit:B101"} and files[path].is_test:
        return "assert in test code (bandit B101 not run on tests, by design)"
    status = {r.name: r.status for r in report.scanners}
    failing = sorted(s for s in scanners if status.get(s) not in ("ok", None))
    if failing:
        return f"our {', '.join(failing)} run: {', '.join(status[s] for s in failing)}"
    near = [(abs(n - line), found & rules) for n, found in ours_by_path.get(path, []) if found & rules]
    if any(d <= NEARBY_LINES for d, _ in near):
        return f"same rule reported within {NEARBY_LINES} lines"
    if near:
        return "same rule reported elsewhere in the file"
    return f"not found by our {'/'.join(sorted(scanners))} ({', '.join(sorted(rules))})"


def coverage(clis: list[CliRun], report: SecurityReport, inv: Inventory) -> dict[str, Any]:
    ours_by_path: dict[str, list[tuple[int, set[str]]]] = {}
    for f in report.findings:
        ours_by_path.setdefault(f.location.path, []).append((f.location.start_line, {f.rule_id, *f.sources}))
    ours = {(path, line) for path, found in ours_by_path.items() for line, _ in found}
    at: dict[tuple[str, int], list[tuple[str, str]]] = {}
    for run in clis:
        for f in run.findings:
            at.setdefault((f.location.path, f.location.start_line), []).append((run.name, f.rule_id))
    reasons: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    for (path, line), found in sorted(at.items()):
        if (path, line) in ours:
            continue
        reason = uncovered_reason(path, line, {r for _, r in found}, {s for s, _ in found}, inv, report,
                                  ours_by_path)
        reasons[reason] += 1
        examples.setdefault(reason, [])
        if len(examples[reason]) < 3:
            examples[reason].append(f"{path}:{line}")
    return {"cli_locations": len(at), "covered": len(at) - sum(reasons.values()),
            "uncovered_by_reason": dict(reasons.most_common()), "uncovered_examples": examples}


def bench_repo(name: str, tree: Path, state: Path) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    ours_wall, ours_cpu, report = our_cold_scan(tree, state)
    clis = run_clis(tree)
    load_after = os.getloadavg()[0]
    clis_wall = sum(r.wall_s for r in clis)
    inv = build_inventory(tree)
    return {
        "repo": name,
        "files_scanned": len(inv.files),
        "files_left_out": dict(Counter(s.reason for s in inv.skipped)),
        "ours_s": ours_wall,
        "ours_cpu_s": ours_cpu,
        "clis_s": round(clis_wall, 2),
        "clis_cpu_s": round(sum(r.cpu_s for r in clis), 2),
        "ratio": round(ours_wall / clis_wall, 3),
        "ours_scanners": {r.name: {"status": r.status, "duration_s": r.duration_s, "files": r.files,
                                   "findings": r.findings} for r in report.scanners},
        "clis": {r.name: {"wall_s": r.wall_s, "cpu_s": r.cpu_s, "findings": len(r.findings)} for r in clis},
        "load_1min": [round(load_before, 2), round(load_after, 2)],
        "findings_ours": len(report.findings),
        **coverage(clis, report, inv),
    }


def print_repo(r: dict[str, Any]) -> None:
    verdict = "ok" if r["ratio"] <= TARGET_RATIO else f"over {TARGET_RATIO}"
    print(f"  ours {r['ours_s']} s (CPU {r['ours_cpu_s']}), CLIs {r['clis_s']} s (CPU {r['clis_cpu_s']}): "
          f"{r['ratio']}x ({verdict}); load {r['load_1min'][0]} -> {r['load_1min'][1]}")
    print("  ours by scanner: " + ", ".join(f"{n} {s['duration_s']} s" + ("" if s["status"] == "ok" else
                                            f" [{s['status']}]") for n, s in r["ours_scanners"].items()))
    print("  CLIs:            " + ", ".join(f"{n} {s['wall_s']} s" for n, s in r["clis"].items()))
    print(f"  CLI locations {r['cli_locations']}, also ours {r['covered']}")
    for reason, n in r["uncovered_by_reason"].items():
        print(f"    {n:>4}  {reason}  e.g. {', '.join(r['uncovered_examples'][reason])}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mirrors", nargs="?", type=Path,
                        default=Path(os.environ.get(MIRRORS_ENV) or "/work/.mirror"),
                        help=f"directory of owner+name/repo git mirrors (default: ${MIRRORS_ENV} or /work/.mirror)")
    parser.add_argument("--repo", action="append", choices=list(REPOS), help="only these (default: all five)")
    parser.add_argument("--rescan-repo", choices=list(REPOS), default="pygoat")
    parser.add_argument("--rescans", type=int, default=5)
    args = parser.parse_args()
    results: dict[str, Any] = {"load_at_start": [round(x, 2) for x in os.getloadavg()], "cores": os.cpu_count(),
                               "repos": [], "skipped": {}}
    with tempfile.TemporaryDirectory() as tmp:
        trees: dict[str, Path] = {}
        for name in args.repo or list(REPOS):
            mirror = args.mirrors / REPOS[name] / "repo"
            if not mirror.is_dir():
                print(f"\n== {name}: no mirror at {mirror}; skipped (this benchmark never downloads)", flush=True)
                results["skipped"][name] = f"no mirror at {mirror}"
                continue
            tree = Path(tmp) / name
            absent = clone(mirror, tree)
            trees[name] = tree
            print(f"\n== {name} ({git(tree, 'rev-parse', '--short', 'HEAD').strip()})"
                  + (f"; not in the mirror, left out: {', '.join(absent)}" if absent else ""), flush=True)
            state = Path(tmp) / f"state-{name}"
            state.mkdir()
            result = {**bench_repo(name, tree, state), "absent_from_mirror": absent}
            results["repos"].append(result)
            print_repo(result)
        if args.rescan_repo in trees:
            state = Path(tmp) / "state-rescan"
            state.mkdir()
            served = asyncio.run(rescan_measure(trees[args.rescan_repo], state, args.rescans, OFFLINE_OSV))
            median = statistics.median(served["rescans_s"])
            results["rescan"] = {
                "repo": args.rescan_repo, "cold_s": round(served["cold_s"], 3),
                "rescans_s": [round(t, 3) for t in served["rescans_s"]], "rescan_median_s": round(median, 3),
                "speedup_x": round(served["cold_s"] / median, 1),
                "cold_scanners_s": {n: r["duration_s"] for n, r in served["cold_runs"].items()},
            }
            print(f"\n== rescan of {args.rescan_repo}, one server, offline: cold {results['rescan']['cold_s']} s, "
                  f"unchanged rescan {results['rescan']['rescan_median_s']} s (median of {args.rescans}): "
                  f"{results['rescan']['speedup_x']}x (target at least {TARGET_RESCAN_X:g}x)")
    results["load_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(f"\n{'repo':<16} {'ours s':>7} {'CLIs s':>7} {'ratio':>6} {'CLI locs':>8} {'covered':>8}")
    for r in results["repos"]:
        print(f"{r['repo']:<16} {r['ours_s']:>7} {r['clis_s']:>7} {r['ratio']:>6} {r['cli_locations']:>8} "
              f"{r['covered']:>8}")
    print(f"load average (1, 5, 15 min): start {results['load_at_start']}, end {results['load_at_end']}")
    out = REPO / "bench" / "results" / "real_repos.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"written to {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
