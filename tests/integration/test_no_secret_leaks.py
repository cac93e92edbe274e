"""Every scanner's output passes one redaction step: no secret value reaches a report, its SARIF or its text."""

import asyncio
import json
from pathlib import Path

import pytest

from devops_orchestra.agents.security import recorded_security_scan
from devops_orchestra.core.store import open_store
from devops_orchestra.models.requests import SecurityScanRequest
from devops_orchestra.render.sarif import to_sarif
from devops_orchestra.render.security import full_text
from tests.helpers import write

pytestmark = pytest.mark.scanners

SECRETS = ("hunter2secretXY", "S3cr3tPass", "abcd1234efgh5678ijkl")
REPO = {
    "app.py": 'import hashlib\npassword = "hunter2secretXY"\nDB = "postgresql://shop:S3cr3tPass@db/shop"\n',
    # checkov's snippets of this Dockerfile showed the password before: detect-secrets' own were the only redacted
    "Dockerfile": "FROM python:3.12\nENV DB_PASSWORD=hunter2secretXY\nARG API_TOKEN=abcd1234efgh5678ijkl\n"
                  "RUN pip install flask\n",
}


def test_no_secret_value_in_any_output(tmp_path: Path) -> None:
    root = write(tmp_path / "repo", REPO)
    report = asyncio.run(recorded_security_scan(open_store(), SecurityScanRequest(target=root)))
    assert {f.location.path for f in report.findings} >= {"app.py", "Dockerfile"}
    assert any(f.scanner == "checkov" and f.location.path == "Dockerfile" for f in report.findings)
    outputs = [report.model_dump_json(), json.dumps(to_sarif(report)), full_text(report)]
    for value in SECRETS:
        assert not any(value in out for out in outputs), value
