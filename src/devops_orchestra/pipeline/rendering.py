"""From the configuration and the detected components to file contents, with jinja2 templates.

Templates live in pipeline/templates: Dockerfiles and manifests use {{ }}; CI files (*.ci.j2) use
<< >> and <% %> so that GitHub's ${{ }} stays literal.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from devops_orchestra import __version__
from devops_orchestra.models.pipeline import ArtifactName, ServiceSpec, Unsatisfied
from devops_orchestra.pipeline.config import ConfigError, OrchestraConfig, Service
from devops_orchestra.pipeline.detect import IMAGES, POETRY_VERSION, dns_name

if TYPE_CHECKING:
    import jinja2

TEMPLATES = Path(__file__).parent / "templates"
NODE_IMAGES = {"18": "node:18.20.5-alpine3.20", "20": "node:20.18.1-alpine3.20", "22": "node:22.12.0-alpine3.20"}
WAIT_IMAGE = "busybox:1.37.0"
UV_VERSION = "0.5.11"
# Actions pinned to exact releases (a tag per release; move to commit SHAs with Dependabot or pinact).
ACTIONS = {
    "checkout": "actions/checkout@v4.2.2",
    "setup_python": "actions/setup-python@v5.3.0",
    "setup_node": "actions/setup-node@v4.1.0",
    "setup_go": "actions/setup-go@v5.2.0",
    "setup_java": "actions/setup-java@v4.5.0",
    "setup_buildx": "docker/setup-buildx-action@v3.8.0",
    "build_push": "docker/build-push-action@v6.10.0",
    "docker_login": "docker/login-action@v3.3.0",
    "upload_sarif": "github/codeql-action/upload-sarif@v3.27.9",
    "aws_credentials": "aws-actions/configure-aws-credentials@v4.0.2",
    "ecr_login": "aws-actions/amazon-ecr-login@v2.0.1",
    "ecs_render": "aws-actions/amazon-ecs-render-task-definition@v1.6.1",
    "ecs_deploy": "aws-actions/amazon-ecs-deploy-task-definition@v2.2.0",
    "gcp_auth": "google-github-actions/auth@v2.1.7",
    "setup_gcloud": "google-github-actions/setup-gcloud@v2.1.2",
    "azure_login": "azure/login@v2.2.0",
    "slack": "slackapi/slack-github-action@v2.0.0",
}
CHATOPS_EVENTS = {"failure": "failure", "success": "success", "deploy": "success", "cancelled": "cancelled"}
LOCKFILES = {"npm": "package-lock.json", "yarn": "yarn.lock", "pnpm": "pnpm-lock.yaml"}
INSTALL = {"npm": "npm ci", "yarn": "yarn install --frozen-lockfile", "pnpm": "pnpm install --frozen-lockfile"}


@dataclass
class Rendered:
    """One generated file: its artifact, its path relative to the root, and its text."""

    artifact: ArtifactName
    path: str  # posix, relative to the root
    content: str


@dataclass
class Plan:
    """Everything rendering produced: files, and what could not be generated, with the reason."""

    files: list[Rendered] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unsatisfied: list[Unsatisfied] = field(default_factory=list)


@functools.cache
def _env(ci: bool) -> jinja2.Environment:
    import jinja2  # here, not at the top: it costs 60 ms of every server start

    delimiters: dict[str, Any] = dict(
        variable_start_string="<<", variable_end_string=">>", block_start_string="<%", block_end_string="%>",
        comment_start_string="<#", comment_end_string="#>") if ci else {}
    env = jinja2.Environment(  # autoescape off: these are not HTML
        loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined, trim_blocks=True,
        lstrip_blocks=True, keep_trailing_newline=True, autoescape=False, **delimiters,
    )
    env.filters["quote"] = json.dumps  # a JSON string or list is valid YAML and a Dockerfile exec form
    return env


def template(name: str, **context: Any) -> str:
    """A bundled template rendered with context (*.ci.j2 use << >> and <% %>, so CI's ${{ }} stays as written)."""
    return _env(name.endswith(".ci.j2")).get_template(name).render(**context)


def infer_config(root: Path, components: list[ServiceSpec]) -> OrchestraConfig:
    """The configuration a repository without devops_orchestra.yaml gets: one service per component."""
    main = components[0] if components else None
    services = [Service(name=c.name, port=c.port, path=c.path) for c in components if c.supported]
    data: dict[str, Any] = {
        "project": {"name": dns_name(root.name), "language": main.language if main else None,
                    "framework": main.framework if main else None},
        "build": {"tool": "docker"},
        "testing": {"enabled": any(c.test_command for c in components),
                    "command": main.test_command if main and len(components) == 1 else None},
        "deployment": {"services": [s.model_dump(exclude_none=True) for s in services]},
        "rollback": {"enabled": True, "threshold": {"cpu": 90, "errors": 5, "duration": "5m"}},
        "observability": {"enabled": True, "tools": ["prometheus"],
                          "alerts": [{"type": "latency", "threshold_ms": 500}, {"type": "error_rate", "threshold": 5}]},
    }
    return OrchestraConfig.model_validate(data)


def services_of(config: OrchestraConfig, components: list[ServiceSpec]) -> list[tuple[Service, ServiceSpec]]:
    """Each configured service with the component it is built from, in dependency order."""
    by_path = {c.path: c for c in components}
    by_name = {c.name: c for c in components}
    services = config.deployment.services or [
        Service(name=c.name, port=c.port, path=c.path) for c in components if c.supported]
    try:
        order = list(TopologicalSorter({s.name: set(s.depends_on) for s in services}).static_order())
    except CycleError as exc:
        raise ConfigError(f"devops_orchestra.yaml: deployment.services depend on each other in a cycle "
                          f"({' -> '.join(exc.args[1])}); remove one depends_on.") from None
    pairs = []
    for name in order:
        s = next(s for s in services if s.name == name)
        c = by_path.get(s.path or "") or by_name.get(s.name) or (components[0] if len(components) == 1 else None)
        if c is None:
            raise ConfigError(f"devops_orchestra.yaml: service {s.name!r} matches no component directory; "
                              f"set its path to one of {sorted(by_path)}.")
        pairs.append((s, c))
    return pairs


def registry(config: OrchestraConfig, ci: bool) -> str:
    """Where images go: build.registry, else the provider's registry (a CI expression or a placeholder)."""
    if config.build.registry:
        return config.build.registry
    d = config.deployment
    project = dns_name(config.project.name or "app")
    if d.provider == "aws":
        account = "${{ secrets.AWS_ACCOUNT_ID }}" if ci else "ACCOUNT_ID"
        return f"{account}.dkr.ecr.{d.region}.amazonaws.com"
    if d.provider == "gcp":
        gcp = "${{ secrets.GCP_PROJECT_ID }}" if ci else "PROJECT_ID"
        return f"{d.region}-docker.pkg.dev/{gcp}/{project}"
    if d.provider == "azure":
        return ("${{ secrets.ACR_NAME }}" if ci else "REGISTRY") + ".azurecr.io"
    return "ghcr.io/${{ github.repository_owner }}" if ci else "ghcr.io/OWNER"


def dockerfiles(components: list[ServiceSpec], plan: Plan) -> None:
    """A Dockerfile and a .dockerignore for each component that has a template."""
    for c in components:
        if not c.supported:
            continue  # the agent drafts one with the LLM, or says why there is none
        context = {"c": c, "images": IMAGES, "poetry_version": POETRY_VERSION,
                   "node_image": NODE_IMAGES.get(c.language_version or "20", NODE_IMAGES["20"])}
        base = PurePosixPath(c.path)
        plan.files.append(Rendered("dockerfile", (base / "Dockerfile").as_posix(),
                                   template(f"{c.language}.Dockerfile.j2", **context)))
        plan.files.append(Rendered("dockerfile", (base / ".dockerignore").as_posix(),
                                   template("dockerignore.j2", c=c)))
        plan.notes += [f"{c.path}: {n}" for n in c.notes]


def github_actions(config: OrchestraConfig, components: list[ServiceSpec], plan: Plan) -> None:
    """The GitHub Actions workflow: test, build and push each image, deploy; what it cannot deploy is listed."""
    pairs = services_of(config, components)
    supported = [c for c in components if c.supported]
    runtime = pairs[0][0].runtime if pairs else "kubernetes"
    if runtime in ("ec2", "lambda"):
        plan.unsatisfied.append(Unsatisfied(
            rule_id="pipeline:deploy", title=f"No deploy step for runtime {runtime}", paths=[GHA_PATH],
            reason=f"The templates deploy containers to kubernetes, ECS or Cloud Run; {runtime} is not one. "
                   "The deploy job fails with a message until you add your own step."))
    if runtime == "ecs" and config.deployment.strategy != "rolling":
        plan.unsatisfied.append(Unsatisfied(
            rule_id="pipeline:deploy-strategy", title=f"No {config.deployment.strategy} deploy for ECS",
            paths=[GHA_PATH],
            reason=f"A {config.deployment.strategy} deploy on ECS needs CodeDeploy (a deployment group and an "
                   "appspec), which the templates do not generate; the workflow deploys ECS rolling, with the "
                   "deployment circuit breaker rolling back a failed release."))
    supported = _with_test_commands(config, supported)
    plan.files.append(Rendered("github-actions", GHA_PATH, template(
        "github-actions.ci.j2", components=supported, services=[s for s, _ in pairs], actions=ACTIONS, pairs=pairs,
        tested={c.name for c in supported if c.test_command},
        project=config.project.name, provider=config.deployment.provider, region=config.deployment.region,
        strategy=config.deployment.strategy, runtime=runtime, registry=registry(config, ci=True),
        namespace=namespace(config), lockfile=LOCKFILES, install=INSTALL, uv_version=UV_VERSION,
        poetry_version=POETRY_VERSION, orchestra_version=__version__, chatops=chatops(config, plan))))


def chatops(config: OrchestraConfig, plan: Plan) -> dict[str, Any] | None:
    """A Slack message per chatops.notify_on event about the deploy job; other platforms are listed as unmet."""
    c = config.chatops
    if not c.enabled:
        return None
    if (c.platform or "slack").lower() != "slack":
        plan.unsatisfied.append(Unsatisfied(
            rule_id="pipeline:chatops", title=f"No notification template for {c.platform}", paths=[GHA_PATH],
            reason=f"chatops.platform {c.platform!r}: the workflow notifies Slack only; add your own step."))
        return None
    results = list(dict.fromkeys(CHATOPS_EVENTS[e] for e in (c.notify_on or ["failure"]) if e in CHATOPS_EVENTS))
    unknown = sorted(set(c.notify_on) - set(CHATOPS_EVENTS))
    if unknown:
        plan.notes.append(f"chatops.notify_on {unknown}: no such deploy outcome; known: {', '.join(CHATOPS_EVENTS)}.")
    return {"channel": c.channel, "results": results} if results else None


GHA_PATH = ".github/workflows/ci.yml"
KANIKO_IMAGE = "gcr.io/kaniko-project/executor:v1.23.2-debug"
KUBECTL_IMAGE = "bitnami/kubectl:1.31.4"
TEST_IMAGES = {"python": IMAGES["python"], "go": IMAGES["go_build"], "gradle": IMAGES["gradle"],
               "maven": IMAGES["maven"]}


def gitlab_ci(config: OrchestraConfig, components: list[ServiceSpec], plan: Plan) -> None:
    """The GitLab alternative: the same stages; images built with kaniko (no privileged docker-in-docker)."""
    pairs = services_of(config, components)
    supported = _with_test_commands(config, [c for c in components if c.supported])
    runtime = pairs[0][0].runtime if pairs else "kubernetes"
    test_images = {c.name: NODE_IMAGES.get(c.language_version or "20", NODE_IMAGES["20"]) if c.language == "node"
                   else TEST_IMAGES.get(c.package_manager or "", TEST_IMAGES.get(c.language, IMAGES["python"]))
                   for c in supported}
    plan.files.append(Rendered("gitlab-ci", ".gitlab-ci.yml", template(
        "gitlab-ci.ci.j2", components=supported, pairs=pairs, services=[s for s, _ in pairs],
        tested={c.name for c in supported if c.test_command}, test_images=test_images, images=IMAGES,
        project=config.project.name, provider=config.deployment.provider, strategy=config.deployment.strategy,
        runtime=runtime, registry=config.build.registry or "$CI_REGISTRY_IMAGE", namespace=namespace(config),
        install=INSTALL, uv_version=UV_VERSION, poetry_version=POETRY_VERSION, orchestra_version=__version__,
        kaniko=KANIKO_IMAGE, kubectl=KUBECTL_IMAGE)))


def _with_test_commands(config: OrchestraConfig, supported: list[ServiceSpec]) -> list[ServiceSpec]:
    """testing.enabled false drops the test jobs; testing.command replaces a single component's command."""
    if not config.testing.enabled:
        return [c.model_copy(update={"test_command": None}) for c in supported]
    if config.testing.command and len(supported) == 1:
        return [supported[0].model_copy(update={"test_command": config.testing.command})]
    return supported


def namespace(config: OrchestraConfig) -> str:
    """The Kubernetes namespace: the project's name, DNS-safe."""
    return dns_name(config.project.name or "app")


def kubernetes(config: OrchestraConfig, components: list[ServiceSpec], plan: Plan) -> None:
    """Kubernetes manifests: a namespace, then one file per service, in waves that follow depends_on."""
    pairs = services_of(config, components)
    ns = namespace(config)
    plan.files.append(Rendered("kubernetes", "k8s/00-namespace.yaml",
                               template("k8s-namespace.yaml.j2", namespace=ns, project=ns)))
    if config.deployment.strategy != "rolling":
        plan.notes.append(f"kubernetes: the {config.deployment.strategy} rollout is an Argo Rollouts resource; the "
                          "cluster needs the Argo Rollouts controller (and Prometheus for the analysis).")
    if any(c.datastores for _, c in pairs):
        plan.notes.append("kubernetes: the NetworkPolicies allow egress only to DNS and the services listed in "
                          "depends_on; add an egress rule for databases outside the namespace.")
    ports = {s.name: s.port for s, _ in pairs}
    waves: dict[str, int] = {}
    secret_keys = set(config.secrets.keys)
    image_registry = registry(config, ci=False)
    for s, c in pairs:
        waves[s.name] = 1 + max((waves[d] for d in s.depends_on), default=0)
        dependents = [o.name for o, _ in pairs if s.name in o.depends_on]
        env = [{"key": e.key, "value": e.value, "secret": e.key in secret_keys} for e in s.env]
        env += [{"key": k, "value": "", "secret": True} for k in sorted(secret_keys - {e.key for e in s.env})
                if len(pairs) == 1]
        writable = ["/app/.next/cache"] if c.framework == "nextjs" else []
        path = f"k8s/{waves[s.name]:02d}-{s.name}.yaml"
        plan.files.append(Rendered("kubernetes", path, template(
            "k8s-service.yaml.j2", s=s, project=ns, namespace=ns, wave=waves[s.name],
            strategy=config.deployment.strategy, replicas=2, image=f"{image_registry}/{s.name}:0.1.0",
            env=env, secret_name=f"{ns}-secrets", writable=writable, ports=ports, dependents=dependents,
            public=not dependents, wait_image=WAIT_IMAGE, analysis=analysis(config, s.name),
            pause="5m", cpu_target=int(config.rollback.threshold.cpu or 80) - 10 if config.rollback.threshold.cpu
            else 70, prometheus="http://prometheus.monitoring.svc.cluster.local:9090")))
        if any(e["secret"] for e in env):
            plan.unsatisfied.append(Unsatisfied(
                rule_id="checkov:CKV_K8S_35", title="Prefer using secrets as files over secrets as environment "
                "variables", paths=[path],
                reason="The application reads its secrets (secrets.keys) from environment variables; mount "
                       f"secret {ns}-secrets as a volume instead once the code reads files."))
    plan.unsatisfied.append(Unsatisfied(
        rule_id="checkov:CKV_K8S_43", title="Image should use digest",
        paths=[f.path for f in plan.files if f.artifact == "kubernetes" and not f.path.endswith("namespace.yaml")],
        reason="The digest exists only after CI has built and pushed the image; the manifests carry a version "
               "tag and the deploy job sets the image built from the commit."))


def analysis(config: OrchestraConfig, service: str) -> list[dict[str, Any]]:
    """Argo Rollouts metrics from rollback.threshold: roll back past the error rate or CPU limit."""
    rb = config.rollback
    if not rb.enabled or config.deployment.strategy == "rolling":
        return []
    interval = rb.threshold.duration or "5m"
    metrics = []
    if rb.threshold.errors is not None:
        metrics.append({"name": "error-rate", "interval": interval, "limit": rb.threshold.errors / 100, "query": (
            f'sum(rate(http_requests_total{{service="{service}",status=~"5.."}}[{interval}])) / '
            f'sum(rate(http_requests_total{{service="{service}"}}[{interval}]))')})
    if rb.threshold.cpu is not None:
        metrics.append({"name": "cpu", "interval": interval, "limit": rb.threshold.cpu / 100, "query": (
            f'sum(rate(container_cpu_usage_seconds_total{{container="{service}"}}[{interval}])) / '
            f'sum(kube_pod_container_resource_limits{{container="{service}",resource="cpu"}})')})
    return metrics


DATASTORE_IMAGES: dict[str, dict[str, Any]] = {
    "postgres": {"image": "postgres:16.6-alpine3.20", "data": "/var/lib/postgresql/data",
                 "env": {"POSTGRES_USER": "app", "POSTGRES_DB": "app",
                         "POSTGRES_PASSWORD": "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}"},
                 "check": ["CMD-SHELL", "pg_isready -U app -d app"],
                 "url": ("DATABASE_URL", "postgresql://app:${POSTGRES_PASSWORD}@postgres:5432/app")},
    "mysql": {"image": "mysql:8.4.3", "data": "/var/lib/mysql",
              "env": {"MYSQL_DATABASE": "app", "MYSQL_USER": "app",
                      "MYSQL_PASSWORD": "${MYSQL_PASSWORD:?set MYSQL_PASSWORD in .env}",
                      "MYSQL_ROOT_PASSWORD": "${MYSQL_ROOT_PASSWORD:?set MYSQL_ROOT_PASSWORD in .env}"},
              "check": ["CMD", "mysqladmin", "ping", "-h", "127.0.0.1"],
              "url": ("DATABASE_URL", "mysql://app:${MYSQL_PASSWORD}@mysql:3306/app")},
    "redis": {"image": "redis:7.4.1-alpine3.20", "data": "/data", "env": {},
              "check": ["CMD", "redis-cli", "ping"], "url": ("REDIS_URL", "redis://redis:6379/0")},
    "mongodb": {"image": "mongo:7.0.16", "data": "/data/db", "env": {},
                "check": ["CMD", "mongosh", "--quiet", "--eval", "db.adminCommand('ping')"],
                "url": ("MONGODB_URL", "mongodb://mongodb:27017/app")},
}


def compose(config: OrchestraConfig, components: list[ServiceSpec], plan: Plan) -> None:
    """docker-compose.yml: the services, and a container for each data store they use."""
    pairs = services_of(config, components)
    stores = sorted({d for _, c in pairs for d in c.datastores})
    urls = {k: {"key": v["url"][0], "value": v["url"][1]} for k, v in DATASTORE_IMAGES.items()}
    plan.files.append(Rendered("compose", "docker-compose.yml", template(
        "compose.yaml.j2", project=namespace(config), services=pairs, stores=stores, images=DATASTORE_IMAGES,
        urls=urls, secret_keys=set(config.secrets.keys))))


ALERT_TYPES = ("latency", "error_rate", "cpu", "availability")


def observability(config: OrchestraConfig, components: list[ServiceSpec], plan: Plan) -> None:
    """Prometheus alert rules: one group per service, from observability.alerts and rollback.threshold."""
    services = [s for s, _ in services_of(config, components)]
    unknown = [a.type for a in config.observability.alerts if a.type not in ALERT_TYPES]
    if unknown:
        plan.unsatisfied.append(Unsatisfied(
            rule_id="pipeline:alert", title="Alert types without a rule template", paths=[RULES_PATH],
            reason=f"observability.alerts types {sorted(set(unknown))} have no rule template; known types: "
                   f"{', '.join(ALERT_TYPES)}. Write those rules by hand."))
    groups = [(s.name, rules) for s in services if (rules := alert_rules(config, s.name))]
    if not groups:
        plan.notes.append("observability: no alerts nor rollback thresholds are configured, so no alert rules were "
                          "written; add observability.alerts to devops_orchestra.yaml.")
        return
    plan.files.append(Rendered("observability", RULES_PATH, template("prometheus-rules.yaml.j2", groups=groups)))


RULES_PATH = "observability/prometheus-rules.yaml"


def alert_rules(config: OrchestraConfig, service: str) -> list[dict[str, Any]]:
    """The Prometheus alert rules for one service, from observability.alerts and rollback.threshold."""
    errors = (f'100 * sum(rate(http_requests_total{{service="{service}",status=~"5.."}}[5m])) / '
              f'sum(rate(http_requests_total{{service="{service}"}}[5m]))')
    cpu = (f'100 * sum(rate(container_cpu_usage_seconds_total{{container="{service}"}}[5m])) / '
           f'sum(kube_pod_container_resource_limits{{container="{service}",resource="cpu"}})')
    rules: list[dict[str, Any]] = []
    for a in config.observability.alerts:
        limit = a.threshold_ms / 1000 if a.threshold_ms is not None else a.threshold
        if a.type == "latency" and limit is not None:
            rules.append({"alert": "HighLatencyP95", "severity": "warning", "for_": "5m",
                          "summary": f"p95 latency of {service} above {limit * 1000:g} ms",
                          "expr": f"histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket"
                                  f'{{service="{service}"}}[5m]))) > {limit:g}'})
        elif a.type == "error_rate" and limit is not None:
            rules.append({"alert": "HighErrorRate", "severity": "warning", "for_": "5m",
                          "expr": f"{errors} > {limit:g}",
                          "summary": f"more than {limit:g}% of {service}'s requests fail"})
        elif a.type == "cpu" and limit is not None:
            rules.append({"alert": "HighCpu", "severity": "warning", "for_": "10m", "expr": f"{cpu} > {limit:g}",
                          "summary": f"{service} uses more than {limit:g}% of its CPU limit"})
        elif a.type == "availability":
            rules.append({"alert": "ServiceDown", "severity": "critical", "for_": "2m",
                          "expr": f'sum(up{{service="{service}"}}) == 0', "summary": f"no {service} target is up"})
    rb = config.rollback
    if rb.enabled:
        duration = rb.threshold.duration or "5m"
        if rb.threshold.errors is not None:
            rules.append({"alert": "RollbackErrorRate", "severity": "critical", "for_": duration,
                          "expr": f"{errors} > {rb.threshold.errors:g}",
                          "summary": f"{service} error rate past the rollback threshold: roll back"})
        if rb.threshold.cpu is not None:
            rules.append({"alert": "RollbackCpu", "severity": "critical", "for_": duration,
                          "expr": f"{cpu} > {rb.threshold.cpu:g}",
                          "summary": f"{service} CPU past the rollback threshold: roll back"})
    return rules


def terraform(config: OrchestraConfig, components: list[ServiceSpec], plan: Plan) -> None:
    """AWS: ECR repositories (KMS, immutable tags, scan on push), plus ECS Fargate when a service runs on ECS."""
    pairs = services_of(config, components)
    base = PurePosixPath(config.infrastructure.path if config.infrastructure else "infra")
    provider = config.deployment.provider
    if provider in ("gcp", "azure"):  # the smaller modules: Cloud Run, Container Apps
        plan.files.append(Rendered("terraform", (base / "main.tf").as_posix(), template(
            f"terraform/{provider}.tf.j2", project=namespace(config), region=config.deployment.region,
            services=[s for s, _ in pairs])))
        return
    if provider != "aws":
        plan.unsatisfied.append(Unsatisfied(
            rule_id="pipeline:terraform", title="No Terraform for a custom provider", paths=[base.as_posix()],
            reason="deployment.provider is custom: the Terraform templates cover AWS, GCP (Cloud Run) and Azure "
                   "(Container Apps). Set the provider, or write the infrastructure by hand."))
        return
    ecs = [s for s, _ in pairs if s.runtime == "ecs"]
    eks = any(s.runtime == "kubernetes" for s, _ in pairs)
    context = {"project": namespace(config), "region": config.deployment.region, "ecs": bool(ecs), "eks": eks,
               "services": [s for s, _ in pairs if s.runtime in ("ecs", "kubernetes")]}
    for name in ("versions", "variables", "main", "outputs") + (("eks",) if eks else ()):
        plan.files.append(Rendered("terraform", (base / f"{name}.tf").as_posix(),
                                   template(f"terraform/{name}.tf.j2", **context)))
    if ecs:
        plan.unsatisfied.append(Unsatisfied(
            rule_id="checkov:CKV2_AWS_5", title="Ensure that Security Groups are attached to another resource",
            paths=[(base / "main.tf").as_posix()],
            reason="The security groups are attached to the ECS services through for_each references "
                   "(aws_security_group.service[each.key]), which checkov's resource graph does not follow."))
    if not ecs and not eks:
        plan.notes.append("Terraform: ECR repositories only; services on ec2, lambda or cloudrun runtimes get no "
                          "AWS compute from the templates.")


RENDERERS = {"github-actions": github_actions, "kubernetes": kubernetes, "compose": compose,
             "observability": observability, "terraform": terraform, "gitlab-ci": gitlab_ci}


def render(config: OrchestraConfig, components: list[ServiceSpec], artifacts: list[ArtifactName]) -> Plan:
    """Render the artifacts asked for: the files, and what could not be generated and why."""
    plan = Plan()
    for name in artifacts:
        if name == "dockerfile":
            dockerfiles(components, plan)
        elif not any(c.supported for c in components):
            plan.unsatisfied.append(Unsatisfied(
                rule_id="pipeline:stack", title=f"No {name} without a templated component", paths=["."],
                reason=f"{name} builds on the generated Dockerfiles, and no component here has a template "
                       "(Python, Node, Go, Java)."))
        elif name in RENDERERS:
            RENDERERS[name](config, components, plan)
    return plan
