"""`make demo`: start the MCP server over stdio, as an IDE would, ask it for a security scan, then for a
review by every agent that applies (security, compliance, SQL, architecture) with one verdict. Then the
orchestra: a push of the example (a fresh git repository in a temporary directory) through the pipeline on
the embedded bus, stage by stage, until a gate stops it.

Usage: python examples/demo.py [DIRECTORY]   (default: the bundled examples/vulnshop)
"""

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mcp import Client, StdioServerParameters

from devops_orchestra.models import SecurityReport, Severity
from devops_orchestra.render.security import full_text


async def main(target: Path) -> int:
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "devops_orchestra", "serve", "--root", str(target)]
    )
    started = time.perf_counter()

    async def progress(done: float, total: float | None, message: str | None) -> None:
        print(f"  [{time.perf_counter() - started:5.1f} s] {message}", file=sys.stderr)

    async with Client(server) as client:
        tools = await client.list_tools()
        print(f"Server up with tools: {', '.join(t.name for t in tools.tools)}", file=sys.stderr)
        print(f"Calling security_scan on {target} ...", file=sys.stderr)
        result = await client.call_tool("security_scan", {"path": "."}, progress_callback=progress)
        if result.is_error:
            print(f"security_scan failed: {result.content[0].text}", file=sys.stderr)  # type: ignore[union-attr]
            return 1
        report = SecurityReport.model_validate(result.structured_content)
        if report.truncated and report.full_report:  # the rest is one resource read away
            full = await client.read_resource(report.full_report)
            report = SecurityReport.model_validate_json(full.contents[0].text)  # type: ignore[union-attr]
        print(f"Calling review on {target} ...", file=sys.stderr)
        reviewed = await client.call_tool("review", {"path": "."}, progress_callback=progress)
    print(full_text(report, detail_from=Severity.high))  # what to fix first in full, the rest in a line
    print("\n" + reviewed.content[0].text)  # type: ignore[union-attr]
    return 1 if reviewed.is_error else push(target)


def push(target: Path) -> int:
    """The example pushed through the orchestra on the embedded bus (memory://, nothing else running)."""
    with tempfile.TemporaryDirectory(prefix="devops-orchestra-demo-") as tmp:
        repo = Path(tmp) / target.name
        shutil.copytree(target, repo)
        for argv in (["init", "-q", "-b", "main"], ["add", "-A"],
                     ["-c", "user.name=demo", "-c", "user.email=demo@example.com", "commit", "-qm", "first push"]):
            subprocess.run(["git", *argv], cwd=repo, check=True)
        env = {**os.environ, "DEVOPS_ORCHESTRA_STORE": f"{tmp}/runs.sqlite3"}  # a run history of its own
        print(f"\nPushing {target.name} through the pipeline (devops-orchestra submit . --wait) ...", file=sys.stderr)
        sys.stdout.flush()
        done = subprocess.run([sys.executable, "-m", "devops_orchestra", "submit", ".", "--wait"], cwd=repo, env=env)
    return 0 if done.returncode in (0, 1) else done.returncode  # 1: stopped by a gate, as this example must be


if __name__ == "__main__":
    default = Path(__file__).resolve().parent / "vulnshop"
    raise SystemExit(asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else default).resolve())))
