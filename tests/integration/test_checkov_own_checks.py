"""Our own checkov checks (policies/checkov/) in real checkov: secret ARG/ENV defaults (CKV_DO_1), a download
piped into a shell (CKV_DO_2), a literal secret in a container's env (CKV_DO_3); cold and warm the same."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devops_orchestra.agents.security import security_scan
from devops_orchestra.scanners.checkov_warm import WarmCheckov
from tests.helpers import write

pytestmark = pytest.mark.scanners
SECRETS = ("abcd1234", "hunter2", "hunter3", "s3cr3t-v4lue", "pod-pass-99")
DOCKERFILE = """\
FROM python:3.12-slim
ARG VERSION=1.2
ARG API_TOKEN=abcd1234
ARG BUILD_SECRET
ENV DB_PASSWORD=hunter2
ENV DB_PASSWORD_FILE=/run/secrets/db DB_USER=app
ENV APP_SECRET=${APP_SECRET}
ENV EMPTY_TOKEN=""
ENV LEGACY_PASSWORD hunter3
RUN curl -fsSL https://example.com/install.sh | sh
RUN curl -fsSL -o /tmp/install.sh https://example.com/install.sh \\
    && echo "0123abcd  /tmp/install.sh" | sha256sum -c - \\
    && sh /tmp/install.sh
RUN wget -qO- https://example.com/setup \\
    | sudo -E bash -
RUN curl -fsS https://example.com/health || exit 1
RUN bash <(curl -fsSL https://example.com/get.sh)
USER app
"""
# Read by checkov through a link named Dockerfile (scanners/checkov.py): our checks run on it too.
CONTAINERFILE = "FROM alpine:3.20\nENV API_KEY=s3cr3t-v4lue\nRUN apk add --no-cache curl\nUSER nobody\n"
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
        - name: api
          image: api:1.0
          env:
            - name: LOG_LEVEL
              value: debug
            - name: API_TOKEN
              valueFrom:
                secretKeyRef: {name: api, key: token}
            - name: DB_PASSWORD
              value: hunter2
---
apiVersion: v1
kind: Pod
metadata:
  name: clean
spec:
  containers:
    - name: clean
      image: clean:1.0
      env:
        - name: DB_PASSWORD
          value: ""
        - name: DB_PASSWORD_FILE
          value: /run/secrets/db
        - name: LOG_LEVEL
          value: info
"""
POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: worker
spec:
  initContainers:
    - name: migrate
      image: worker:1.0
      env:
        - name: ADMIN_PASSWORD
          value: "pod-pass-99"
  containers:
    - name: worker
      image: worker:1.0
"""
REPO = {"Dockerfile": DOCKERFILE, "web/Containerfile": CONTAINERFILE, "k8s/deploy.yaml": DEPLOYMENT,
        "k8s/pod.yaml": POD}
EXPECTED = {
    ("Dockerfile", "checkov:CKV_DO_1", 3, 3), ("Dockerfile", "checkov:CKV_DO_1", 5, 5),
    ("Dockerfile", "checkov:CKV_DO_1", 9, 9),
    ("Dockerfile", "checkov:CKV_DO_2", 10, 10), ("Dockerfile", "checkov:CKV_DO_2", 14, 15),
    ("Dockerfile", "checkov:CKV_DO_2", 17, 17),
    ("web/Containerfile", "checkov:CKV_DO_1", 2, 2),
    ("k8s/deploy.yaml", "checkov:CKV_DO_3", 21, 22),  # the env entry: - name: to value:
    ("k8s/pod.yaml", "checkov:CKV_DO_3", 10, 11),
}


async def test_own_checks_find_each_miss_at_its_line_and_nothing_else(tmp_path: Path) -> None:
    root = write(tmp_path, REPO)
    report = await security_scan(root, scanners=["checkov"])
    ours = [f for f in report.findings if f.rule_id.startswith("checkov:CKV_DO_")]
    assert {(f.location.path, f.rule_id, f.location.start_line, f.location.end_line) for f in ours} == EXPECTED
    assert len(ours) == len(EXPECTED) == len({f.id for f in ours})  # one finding each, each its own id
    for f in ours:
        assert f.cwe == ("CWE-494" if f.rule_id == "checkov:CKV_DO_2" else "CWE-798")
        assert (f.category, f.severity) == (("supply-chain", "high") if f.rule_id == "checkov:CKV_DO_2"
                                            else ("secret", "critical"))
        assert f.remediation.summary and not any(value in f.model_dump_json() for value in SECRETS)
    assert report.scanners[0].status == "ok" and report.scanners[0].warnings == []

    warm = WarmCheckov()  # the server's checkov loads them in each scan's child: same findings, twice
    await warm.start()
    try:
        hot = await security_scan(root, scanners=["checkov"], runners={"checkov": warm.run})
        again = await security_scan(root, scanners=["checkov"], runners={"checkov": warm.run})
    finally:
        await warm.close()
    assert warm.cpu_s > 0
    assert sorted(f.id for f in report.findings) == sorted(f.id for f in hot.findings) \
        == sorted(f.id for f in again.findings)


def test_secret_values_never_reach_the_scan_json(tmp_path: Path) -> None:
    root = write(tmp_path / "repo", REPO)
    done = subprocess.run([sys.executable, "-m", "devops_orchestra", "scan", str(root), "--format", "json",
                           "--scanners", "checkov"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for value in SECRETS:
        assert value not in done.stdout, value
    found = {(f["location"]["path"], f["location"]["start_line"]): f
             for f in json.loads(done.stdout)["findings"] if f["rule_id"].startswith("checkov:CKV_DO_")}
    assert found["Dockerfile", 5]["location"]["snippet"] == "ENV DB_PASSWORD=«redacted»"
    assert found["Dockerfile", 9]["location"]["snippet"] == "ENV LEGACY_PASSWORD «redacted»"
    assert found["k8s/pod.yaml", 10]["location"]["snippet"].split("\n")[1].strip() == 'value: "«redacted»"'
    # Not a secret: the command is shown as it is.
    assert found["Dockerfile", 10]["location"]["snippet"] == "RUN curl -fsSL https://example.com/install.sh | sh"
