"""Every sample repository's files validated together (one run of each linter), GitLab CI, Terraform for the
three clouds; and a broken set that the linters must reject."""

from pathlib import Path

import pytest
import yaml

from devops_orchestra.agents.pipeline import default_artifacts, generate
from devops_orchestra.pipeline import detect, rendering
from devops_orchestra.pipeline.config import parse
from devops_orchestra.pipeline.lint import validate
from devops_orchestra.pipeline.rendering import Rendered
from tests.helpers import SAMPLES, assert_clean, write

pytestmark = pytest.mark.scanners


OTHERS = ["fastapi", "django", "express", "nextjs", "go", "maven", "gradle"]


async def test_every_stack_validates_clean_together(tmp_path: Path) -> None:
    """The default artifacts of each remaining sample, each under its own folder, in one validation."""
    files: list[Rendered] = []
    for name in OTHERS:
        root = write(tmp_path / name, SAMPLES[name])
        components = detect.detect(root)
        config = rendering.infer_config(root, components)
        plan = rendering.render(config, components, default_artifacts(root, config, components))
        assert {u.rule_id for u in plan.unsatisfied} == {"checkov:CKV_K8S_43"}, name
        files += [Rendered(f.artifact, f"{name}/{f.path}", f.content) for f in plan.files]
    findings, runs = await validate(files)
    assert {r.name: r.status for r in runs} == dict.fromkeys(
        ["parse", "checkov", "hadolint", "check-jsonschema", "actionlint"], "ok"), runs
    checkov = next(r for r in runs if r.name == "checkov")
    assert checkov.files == 4 * len(OTHERS)  # Dockerfile, workflow, two manifests each
    assert {(f.rule_id, f.severity.value) for f in findings} <= {("checkov:CKV_K8S_43", "medium")}, findings
    assert {f.location.path.split("/")[0] for f in findings} == set(OTHERS)  # the digest: known, listed with reason


async def test_gitlab_repository_gets_gitlab_ci(tmp_path: Path) -> None:
    """GitLab CI instead of GitHub Actions for a GitLab repository, valid against GitLab's schema."""
    root = write(tmp_path / "svc", {**SAMPLES["django"], "devops_orchestra.yaml": (
        "project: {name: shop, repo: gitlab.com/acme/shop}\ndeployment: {strategy: blue-green}\n")})
    report = await generate(root, "run", display_path=".", artifacts=None)
    assert_clean(report)
    assert ".gitlab-ci.yml" in [f.path for f in report.files]
    assert ".github/workflows/ci.yml" not in [f.path for f in report.files]
    ci = yaml.safe_load(next(f.content or "" for f in report.files if f.path == ".gitlab-ci.yml"))
    assert ci["test:svc"]["script"][-1] == "uv run python manage.py test"
    assert ci["build:svc"]["needs"] == ["test:svc", "security"]
    assert ci["deploy"]["rules"][0]["when"] == "manual"  # blue-green: promote by hand


BAD_DOCKERFILE = "FROM python:latest\nADD . /app\nRUN pip install flask\nUSER root\nCMD python app.py\n"
BAD_WORKFLOW = """\
on: push
permissions: write-all
jobs:
  build:
    runs-on: ubuntu-22.04
    stepz: []
  lint:
    runs-on: ubuntu-22.04
    steps:
      - run: echo "${{ github.event.head_commit.message }}"
      - run: echo ${{ undefined_ctx.value }}
"""
BAD_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: bad}
spec:
  containers:
    - name: app
      image: nginx
      securityContext: {privileged: true}
"""


async def test_the_linters_reject_a_broken_set() -> None:
    """The same validation finds what is wrong: so a clean result above means something."""
    findings, runs = await validate([
        Rendered("dockerfile", "Dockerfile", BAD_DOCKERFILE),
        Rendered("github-actions", ".github/workflows/ci.yml", BAD_WORKFLOW),
        Rendered("kubernetes", "k8s/pod.yaml", BAD_POD),
        Rendered("kubernetes", "k8s/broken.yaml", "kind: [unclosed\n"),
        Rendered("observability", "observability/rules.yaml",
                 "groups:\n  - name: x\n    rules:\n      - {alert: A, expr: 'up{job=\"x\" == 0', for: 5m, labels: {}, "
                 "annotations: {}}\n"),
        Rendered("compose", "docker-compose.yml", "services:\n  web:\n    image: nginx:1.27\n    imagez: nginx\n"),
    ])
    assert all(r.status == "ok" for r in runs), runs
    rules = {f.rule_id for f in findings}
    assert {"hadolint:DL3007", "hadolint:DL3002", "hadolint:DL3020"} <= rules
    assert {"checkov:CKV_DOCKER_7", "checkov:CKV_DOCKER_2", "checkov:CKV_K8S_16"} <= rules
    assert {"check-jsonschema:vendor.github-workflows", "actionlint:expression", "parse:yaml"} <= rules
    assert {"check-jsonschema:vendor.compose-spec", "parse:yaml"} <= rules
    assert "unbalanced brackets" in next(f.message for f in findings if f.location.path == "observability/rules.yaml")
    assert "checkov:CKV2_GHA_1" in rules  # write-all
    by_rule = {f.rule_id: f for f in findings}
    assert {f.location.path for f in findings if f.rule_id == "parse:yaml"} == {
        "k8s/broken.yaml", "observability/rules.yaml"}
    assert by_rule["check-jsonschema:vendor.github-workflows"].location.start_line == 5
    assert any(f.severity.value in ("high", "critical") for f in findings)


async def test_eks_gcp_and_azure_terraform_pass_checkov(tmp_path: Path) -> None:
    """EKS for kubernetes services on AWS, Cloud Run, Container Apps, in one checkov call: no failed check at all."""
    root = write(tmp_path / "shop", SAMPLES["monorepo"])
    components = detect.detect(root)
    files = []
    for provider in ("aws", "gcp", "azure"):
        config = parse(f"project: {{name: shop}}\ninfrastructure: {{path: infra-{provider}}}\n"
                       f"deployment: {{provider: {provider}, region: westeurope}}\n")
        plan = rendering.render(config, components, ["terraform"])
        assert not plan.unsatisfied
        files += plan.files
    aws = [f"infra-aws/{n}.tf" for n in ("versions", "variables", "main", "outputs", "eks")]
    assert [f.path for f in files] == [*aws, "infra-gcp/main.tf", "infra-azure/main.tf"]
    findings, runs = await validate(files)
    assert {r.name: (r.status, r.files) for r in runs} == {"parse": ("ok", 7), "checkov": ("ok", 7)}
    assert findings == []
    contents = "".join(f.content for f in files)
    for resource in ("aws_eks_cluster", "google_cloud_run_v2_service", "azurerm_container_app"):
        assert f'resource "{resource}"' in contents
