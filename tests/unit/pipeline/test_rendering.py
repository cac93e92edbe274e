"""Stack detection and the templates' promises, read from the rendered text (no linters: fast)."""

import re
from pathlib import Path

import pytest
import yaml

from devops_orchestra.pipeline import detect, rendering
from devops_orchestra.pipeline.config import parse
from tests.helpers import FLASK, MONOREPO, RUST, SAMPLES, write

EXPECTED = {  # language, framework, package manager, first word of the command, test command, data stores
    "flask": ("python", "flask", "pip", "gunicorn", "pytest", ["postgres"]),
    "fastapi": ("python", "fastapi", "poetry", "uvicorn", "poetry run pytest", ["redis"]),
    "django": ("python", "django", "uv", "gunicorn", "uv run python manage.py test", []),
    "express": ("node", "express", "npm", "node", "npm test", ["postgres"]),
    "nextjs": ("node", "nextjs", "pnpm", "node_modules/.bin/next", None, []),
    "go": ("go", None, "go", "/app/server", "go test ./...", ["postgres"]),
    "maven": ("java", "spring-boot", "maven", "java", "mvn -B test", ["postgres"]),
    "gradle": ("java", None, "gradle", "java", "gradle test", []),
}


@pytest.mark.parametrize("name", EXPECTED)
def test_detects_each_stack(tmp_path: Path, name: str) -> None:
    [c] = detect.detect(write(tmp_path / name, SAMPLES[name]))
    assert (c.language, c.framework, c.package_manager, c.start[0], c.test_command, c.datastores) == EXPECTED[name]


def test_detection_details(tmp_path: Path) -> None:
    """The app object, the port the code listens on, the Go main package."""
    assert detect.detect(write(tmp_path / "f", SAMPLES["fastapi"]))[0].start[1] == "orders.main:app"
    assert detect.detect(write(tmp_path / "e", SAMPLES["express"]))[0].port == 4000
    assert detect.detect(write(tmp_path / "g", SAMPLES["go"]))[0].go_main == "./cmd/server"
    dev = detect.detect(write(tmp_path / "d", {"requirements.txt": "flask\n", "app.py": "app = Flask(__name__)\n"}))
    assert dev[0].start[0] == "flask" and "development server" in dev[0].notes[0]


def test_monorepo_has_one_component_per_folder_and_other_stacks_are_marked(tmp_path: Path) -> None:
    components = detect.detect(write(tmp_path / "shop", MONOREPO))
    assert [(c.name, c.path, c.framework) for c in components] == [
        ("shop-frontend", "frontend", "nextjs"), ("shop-backend", "backend", "flask")]
    [rust] = detect.detect(write(tmp_path / "r", RUST))
    assert rust.language == "rust" and not rust.supported
    assert detect.detect(write(tmp_path / "empty", {"README.md": "x"})) == []


@pytest.mark.parametrize("name", SAMPLES)
def test_dockerfile_promises(tmp_path: Path, name: str) -> None:
    """Multi-stage, pinned bases, dependencies before the source, non-root, HEALTHCHECK; .dockerignore hides secrets."""
    root = write(tmp_path / name, SAMPLES[name])
    components = detect.detect(root)
    plan = rendering.render(rendering.infer_config(root, components), components, ["dockerfile"])
    dockerfiles = [f for f in plan.files if f.path.endswith("Dockerfile")]
    assert len(dockerfiles) == len(components)
    for f in dockerfiles:
        froms = re.findall(r"^FROM (\S+)", f.content, re.M)
        assert len(froms) == 2
        assert all(re.search(r":\d", image) and "latest" not in image for image in froms)
        last_user = re.findall(r"^USER (\S+)", f.content, re.M)[-1]
        assert last_user not in ("root", "0")
        assert "HEALTHCHECK" in f.content
        lines = f.content.splitlines()
        first_full_copy = next(i for i, line in enumerate(lines) if re.match(r"COPY (--chown=\S+ )?(\. |src )", line))
        installs = [i for i, line in enumerate(lines)
                    if re.search(r"\b(npm ci|pnpm install|pip install|uv sync|go mod download|go-offline)", line)]
        assert not installs or installs[0] < first_full_copy
    ignores = [f.content for f in plan.files if f.path.endswith(".dockerignore")]
    assert len(ignores) == len(components) and all(".env" in i and ".git" in i for i in ignores)


def test_kubernetes_canary_with_dependencies(tmp_path: Path) -> None:
    """Argo Rollouts canary through workloadRef, rollback analysis from thresholds, waves from depends_on."""
    root = write(tmp_path / "shop", MONOREPO)
    config = parse(
        "project: {name: shop}\nsecrets: {keys: [API_TOKEN]}\n"
        "rollback: {threshold: {errors: 2, cpu: 90, duration: 2m}}\n"
        "deployment:\n  strategy: canary\n  services:\n"
        "    - {name: web, path: frontend, port: 3000, depends_on: [api]}\n"
        "    - {name: api, path: backend, port: 8000, env: [{key: API_TOKEN}, {key: MODE, value: prod}]}\n")
    plan = rendering.render(config, detect.detect(root), ["kubernetes"])
    assert [f.path for f in plan.files] == ["k8s/00-namespace.yaml", "k8s/01-api.yaml", "k8s/02-web.yaml"]
    web = list(yaml.safe_load_all(plan.files[2].content))
    kinds = [d["kind"] for d in web]
    assert kinds == ["Deployment", "ServiceAccount", "Service", "Rollout", "AnalysisTemplate",
                     "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy"]
    deployment, rollout = web[0], web[3]
    assert deployment["spec"]["replicas"] == 0 and rollout["spec"]["workloadRef"]["name"] == "web"
    assert rollout["spec"]["strategy"]["canary"]["analysis"]["templates"][0]["templateName"] == "web-health"
    assert web[5]["spec"]["scaleTargetRef"]["kind"] == "Rollout"
    pod = deployment["spec"]["template"]["spec"]
    assert pod["initContainers"][0]["name"] == "wait-for-api" and "8000" in pod["initContainers"][0]["command"][2]
    container = pod["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert {"livenessProbe", "readinessProbe", "resources"} <= set(container)
    assert "/app/.next/cache" in [m["mountPath"] for m in container["volumeMounts"]]
    api = list(yaml.safe_load_all(plan.files[1].content))
    env = api[0]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "shop-secrets", "key": "API_TOKEN"}}},
                   {"name": "MODE", "value": "prod"}]
    ingress = api[-1]["spec"]["ingress"][0]["from"]
    assert ingress == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "web"}}}]
    assert {u.rule_id for u in plan.unsatisfied} == {"checkov:CKV_K8S_35", "checkov:CKV_K8S_43"}


def test_blue_green_has_a_preview_service(tmp_path: Path) -> None:
    root = write(tmp_path / "svc", FLASK)
    config = parse("deployment: {strategy: blue-green}\n")
    docs = list(yaml.safe_load_all(rendering.render(config, detect.detect(root), ["kubernetes"]).files[1].content))
    rollout = next(d for d in docs if d["kind"] == "Rollout")
    assert rollout["spec"]["strategy"]["blueGreen"]["previewService"] == "svc-preview"
    assert "svc-preview" in [d["metadata"]["name"] for d in docs if d["kind"] == "Service"]


def test_github_actions_least_privilege_and_pinned(tmp_path: Path) -> None:
    root = write(tmp_path / "shop", MONOREPO)
    components = detect.detect(root)
    [wf] = rendering.render(rendering.infer_config(root, components), components, ["github-actions"]).files
    doc = yaml.safe_load(wf.content)
    assert doc["permissions"] == {}
    jobs = doc["jobs"]
    assert set(jobs) == {"test-shop-backend", "security", "build-shop-frontend", "build-shop-backend", "deploy"}
    assert jobs["security"]["permissions"] == {"contents": "read", "security-events": "write"}
    assert all("write" not in str(job["permissions"].get("contents")) for job in jobs.values())
    uses = [s["uses"] for job in jobs.values() for s in job["steps"] if "uses" in s]
    assert uses and all(re.search(r"@v\d+\.\d+\.\d+$", u) for u in uses)
    assert any("upload-sarif" in u for u in uses)
    assert "pytest" in [s.get("run") for s in jobs["test-shop-backend"]["steps"]]
    assert jobs["build-shop-frontend"]["needs"] == ["security"]  # no test script in the frontend


def test_compose_and_alert_rules(tmp_path: Path) -> None:
    """Data stores with health checks and secrets only by reference; alerts from thresholds and rollback."""
    root = write(tmp_path / "shop", MONOREPO)
    config = parse(
        "project: {name: shop}\nsecrets: {keys: [API_TOKEN]}\n"
        "rollback: {threshold: {errors: 2, duration: 3m}}\n"
        "observability:\n  alerts:\n    - {type: latency, threshold_ms: 250}\n    - {type: error_rate, threshold: 1}\n"
        "    - {type: saturation, threshold: 3}\n"
        "deployment:\n  services:\n    - {name: web, path: frontend, port: 3000, depends_on: [api]}\n"
        "    - {name: api, path: backend, port: 8000, env: [{key: API_TOKEN}]}\n")
    plan = rendering.render(config, detect.detect(root), ["compose", "observability"])
    compose, rules = (yaml.safe_load(f.content) for f in plan.files)
    api, web, db = compose["services"]["api"], compose["services"]["web"], compose["services"]["postgres"]
    assert api["environment"]["API_TOKEN"] == "${API_TOKEN:?set API_TOKEN in .env}"
    assert api["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert web["depends_on"] == {"api": {"condition": "service_started"}}
    assert db["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?") and "healthcheck" in db
    assert api["read_only"] is True and api["cap_drop"] == ["ALL"]
    groups = {g["name"]: g["rules"] for g in rules["groups"]}
    assert list(groups) == ["api", "web"]
    by_alert = {r["alert"]: r for r in groups["api"]}
    assert set(by_alert) == {"HighLatencyP95", "HighErrorRate", "RollbackErrorRate"}
    assert by_alert["HighLatencyP95"]["expr"].endswith("> 0.25")
    assert by_alert["RollbackErrorRate"]["for"] == "3m" and by_alert["RollbackErrorRate"]["expr"].endswith("> 2")
    [gap] = plan.unsatisfied
    assert gap.rule_id == "pipeline:alert" and "saturation" in gap.reason


def test_cloud_run_canary_and_gcp_registry(tmp_path: Path) -> None:
    """Cloud Run: a tagged revision without traffic, then 10%; images go where the GCP Terraform's registry is."""
    root = write(tmp_path / "svc", FLASK)
    config = parse("project: {name: shop}\ndeployment:\n  provider: gcp\n  region: europe-west1\n  strategy: canary\n"
                   "  services: [{name: api, port: 8000, runtime: cloudrun}]\n")
    [wf] = rendering.render(config, detect.detect(root), ["github-actions"]).files
    doc = yaml.safe_load(wf.content)
    assert doc["env"]["REGISTRY"] == "europe-west1-docker.pkg.dev/${{ secrets.GCP_PROJECT_ID }}/shop"
    runs = [s.get("run", "") for s in doc["jobs"]["deploy"]["steps"]]
    assert any("--no-traffic --tag canary" in r for r in runs)
    assert any("update-traffic api --to-tags canary=10" in r for r in runs)
    assert doc["jobs"]["deploy"]["permissions"] == {"contents": "read", "id-token": "write"}


def test_ecs_canary_is_listed_as_unmet_not_silently_rolled(tmp_path: Path) -> None:
    """ECS has no canary or blue-green without CodeDeploy: the workflow deploys rolling and says why."""
    root = write(tmp_path / "svc", FLASK)
    config = parse("project: {name: shop}\ndeployment:\n  strategy: blue-green\n"
                   "  services: [{name: api, port: 8000, runtime: ecs}]\n")
    plan = rendering.render(config, detect.detect(root), ["github-actions"])
    [gap] = [u for u in plan.unsatisfied if u.rule_id == "pipeline:deploy-strategy"]
    assert "CodeDeploy" in gap.reason and gap.paths == [plan.files[0].path]
    rolling = parse("deployment:\n  services: [{name: api, port: 8000, runtime: ecs}]\n")
    assert not rendering.render(rolling, detect.detect(root), ["github-actions"]).unsatisfied


def test_chatops_notifies_slack_about_the_deploy(tmp_path: Path) -> None:
    root = write(tmp_path / "svc", FLASK)
    config = parse("chatops: {enabled: true, platform: slack, channel: '#deploys', notify_on: [failure, deploy]}\n")
    [wf] = rendering.render(config, detect.detect(root), ["github-actions"]).files
    notify = yaml.safe_load(wf.content)["jobs"]["notify"]
    assert notify["needs"] == ["deploy"] and notify["permissions"] == {}
    conditions = [s["if"] for s in notify["steps"]]
    assert conditions == ["needs.deploy.result == 'failure'", "needs.deploy.result == 'success'"]
    assert all(s["with"]["webhook"] == "${{ secrets.SLACK_WEBHOOK_URL }}" for s in notify["steps"])
    teams_config = parse("chatops: {enabled: true, platform: teams}\n")
    teams = rendering.render(teams_config, detect.detect(root), ["github-actions"])
    assert "notify" not in yaml.safe_load(teams.files[0].content)["jobs"]
    assert teams.unsatisfied[0].rule_id == "pipeline:chatops"
