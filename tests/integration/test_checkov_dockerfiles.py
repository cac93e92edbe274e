"""Real checkov on Dockerfiles whatever they are called: Dockerfile.db, app.Dockerfile, Containerfile(.web)."""

from pathlib import Path

import pytest

from devops_orchestra.agents.security import security_scan
from devops_orchestra.scanners.checkov_warm import WarmCheckov
from tests.helpers import write

pytestmark = pytest.mark.scanners
# No HEALTHCHECK (CKV_DOCKER_2), no USER (CKV_DOCKER_3), ADD on line 3 (CKV_DOCKER_4).
DB = "FROM postgres:10\nENV POSTGRES_DB=app\nADD https://example.com/schema.sql /docker-entrypoint-initdb.d/\n"
# No HEALTHCHECK, and the last USER is root on line 2 (CKV_DOCKER_8).
APP = 'FROM python:3.12\nUSER root\nCMD ["python"]\n'


async def test_every_dockerfile_name_is_checked_at_the_right_line(tmp_path: Path) -> None:
    """checkov itself skips Containerfiles even when named with --file: the adapter shows them as Dockerfiles."""
    write(tmp_path, {"Dockerfile.db": DB, "app.Dockerfile": APP, "Containerfile": APP, "web/Containerfile.web": APP})
    report = await security_scan(tmp_path, scanners=["checkov"])
    found = {(f.location.path, f.rule_id, f.location.start_line, f.location.end_line) for f in report.findings}
    assert found == {
        ("Dockerfile.db", "checkov:CKV_DOCKER_2", 1, 1), ("Dockerfile.db", "checkov:CKV_DOCKER_3", 1, 1),
        ("Dockerfile.db", "checkov:CKV_DOCKER_4", 3, 3),
        *((path, rule, start, end) for path in ("app.Dockerfile", "Containerfile", "web/Containerfile.web")
          for rule, start, end in (("checkov:CKV_DOCKER_2", 1, 1), ("checkov:CKV_DOCKER_8", 2, 2))),
    }
    at = {(f.location.path, f.rule_id): f for f in report.findings}
    assert at["Dockerfile.db", "checkov:CKV_DOCKER_4"].location.snippet == DB.splitlines()[2]
    # Read through a link in a temporary directory, reported as the file: no temporary path leaks out.
    assert at["web/Containerfile.web", "checkov:CKV_DOCKER_8"].location.snippet == "USER root"
    assert at["web/Containerfile.web", "checkov:CKV_DOCKER_8"].message.startswith("web/Containerfile.web.USER:")
    assert report.scanners[0].files == 4 and report.scanners[0].warnings == []

    warm = WarmCheckov()  # the server's checkov: the same findings, the same ids
    await warm.start()
    try:
        hot = await security_scan(tmp_path, scanners=["checkov"], runners={"checkov": warm.run})
    finally:
        await warm.close()
    assert warm.cpu_s > 0  # it really ran in the warm process
    assert sorted(f.id for f in hot.findings) == sorted(f.id for f in report.findings)
