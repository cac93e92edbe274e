"""`make demo`: start the MCP server over stdio, as an IDE would, ask it for a security scan, then for a
review by every agent that applies (security, compliance, SQL, architecture) with one verdict. Then the
orchestra: a push of the example (a fresh git repository in a temporary directory) through the pipeline on
the embedded bus, stage by stage, until a gate stops it. Last, deploys: a small web service pushed through the
whole pipeline onto the local target (haproxy, Prometheus, its instances), then a bad version of it pushed
under load, rolled back by the deploy stage on its measured success rate.

Usage: python examples/demo.py [DIRECTORY]   (default: the bundled examples/vulnshop)
"""

import asyncio
import os
import shutil
import socket
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
    return 1 if reviewed.is_error else push(target) or deploy()


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


DEPLOY_CONFIG = """\
deployment:
  strategy: canary
  services: [{{name: web, runtime: local, start: {python} app.py, health: /health}}]
  environments:
    staging: {{target: local, listen: "127.0.0.1:{port}", instances: 2, steps: [{{weight: 25, pause: 4s}}]}}
rollback: {{interval: 1s, threshold: {{errors: 5, duration: 2s}}}}
"""


def deploy() -> int:
    """examples/webapp pushed twice through the pipeline onto the local target: a good version, promoted; a bad
    one (3 of every 10 requests fail) under load, rolled back on its measured success rate."""
    if not (shutil.which("haproxy") and shutil.which("prometheus")):
        print("\nSkipping the deploy demo: haproxy and prometheus are not installed (make setup).", file=sys.stderr)
        return 0
    webapp = Path(__file__).resolve().parent / "webapp"
    sys.path.insert(0, str(webapp))
    import repo as service  # examples/webapp/repo.py

    with tempfile.TemporaryDirectory(prefix="devops-orchestra-deploy-") as tmp:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        root = Path(tmp) / "web"
        shas = service.build(root, DEPLOY_CONFIG.format(python=sys.executable, port=port))
        env = {**os.environ, "DEVOPS_ORCHESTRA_STORE": f"{tmp}/runs.sqlite3", "DEVOPS_ORCHESTRA_DEPLOYS":
               f"{tmp}/deploys", "DEVOPS_ORCHESTRA_BUILDS": f"{tmp}/builds"}

        def cli(*argv: str) -> int:
            sys.stdout.flush()
            return subprocess.run([sys.executable, "-m", "devops_orchestra", *argv], cwd=root, env=env).returncode

        try:
            for name, pitch in (("good", "a good version: deployed (canary 25%, then all) and watched"),
                                ("bad", "a bad version (30% of its requests fail)")):
                # main moved to this version, as a push would
                subprocess.run(["git", "checkout", "-q", "-B", "main", shas[name]], cwd=root, check=True)
                print(f"\nPushing {pitch} under 40 requests/s (devops-orchestra submit . --wait) ...",
                      file=sys.stderr)
                load = subprocess.Popen([sys.executable, str(webapp / "load.py"), f"http://127.0.0.1:{port}/",
                                         "--rate", "40", "--seconds", "120", "--out", f"{tmp}/load-{name}.jsonl"])
                try:  # the load lasts as long as the run, so the watch has requests to measure
                    cli("submit", ".", "--wait")
                finally:
                    load.terminate()
                    load.wait()
            print("\nThe deployments recorded (devops-orchestra rollouts):", file=sys.stderr)
            cli("rollouts")
        finally:
            cli("undeploy", "web", "--env", "staging")
    return 0


if __name__ == "__main__":
    default = Path(__file__).resolve().parent / "vulnshop"
    raise SystemExit(asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else default).resolve())))
