"""Infrastructure as written in the tree: Dockerfiles, compose, Kubernetes, Helm, Terraform, serverless, CI.

YAML is read with PyYAML's safe loader, Terraform with python-hcl2; a file that does not parse is a warning
naming the file and line.
"""

from __future__ import annotations

import re
import shlex
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import yaml

from devops_orchestra.analyzers.lines import error_line, line_at, line_of
from devops_orchestra.models.architecture import (
    CiSystem,
    ComposeService,
    DockerfileInfo,
    HelmChart,
    Infrastructure,
    KubeObject,
    ServerlessFunction,
    TerraformResource,
)

WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "ReplicaSet",
                            "DeploymentConfig", "Rollout", "Service"})
_CI_FILES = {
    ".gitlab-ci.yml": "GitLab CI", "Jenkinsfile": "Jenkins", ".circleci/config.yml": "CircleCI",
    "azure-pipelines.yml": "Azure Pipelines", ".travis.yml": "Travis CI", "bitbucket-pipelines.yml":
    "Bitbucket Pipelines", ".drone.yml": "Drone", ".buildkite/pipeline.yml": "Buildkite",
}
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_COMPOSE = re.compile(r"^(docker-)?compose(\.[\w-]+)?\.ya?ml$")


@dataclass
class InfraFacts:
    """What read_infra found: the infrastructure, Terraform bodies (for data stores), and warnings."""

    infra: Infrastructure = field(default_factory=Infrastructure)
    terraform_bodies: list[tuple[TerraformResource, dict[str, Any]]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def ci_system(rel: str) -> str | None:
    """The CI system a file configures ("GitHub Actions", "GitLab CI", ...), or None."""
    if rel.startswith(".github/workflows/") and rel.endswith((".yml", ".yaml")):
        return "GitHub Actions"
    return _CI_FILES.get(rel)


def is_infra(rel: str, is_kubernetes: bool) -> bool:
    """Whether read_infra has something to read in this file."""
    name = PurePosixPath(rel).name
    return (is_kubernetes or is_dockerfile(rel) or bool(_COMPOSE.match(name)) or name == "Chart.yaml"
            or rel.endswith(".tf") or name in ("serverless.yml", "serverless.yaml", "template.yaml", "template.yml")
            or ci_system(rel) is not None)


def is_dockerfile(rel: str) -> bool:
    """Whether a file is a Dockerfile, by its name."""
    name = PurePosixPath(rel).name
    return name == "Dockerfile" or name.startswith("Dockerfile.") or name.endswith(".dockerfile")


def read_infra(files: list[tuple[str, str, bool]]) -> InfraFacts:
    """(relative path, text, looks like Kubernetes) of each infrastructure file -> what they declare."""
    out = InfraFacts()
    ci: dict[str, list[str]] = {}
    for rel, text, is_k8s in files:
        name = PurePosixPath(rel).name
        system = ci_system(rel)
        try:
            if system:
                ci.setdefault(system, []).append(rel)
            elif is_dockerfile(rel):
                out.infra.dockerfiles.append(dockerfile(rel, text))
            elif _COMPOSE.match(name):
                out.infra.compose_services += _compose(rel, text)
            elif name == "Chart.yaml":
                data = yaml.safe_load(text) or {}
                out.infra.helm_charts.append(HelmChart(path=rel, name=str(data.get("name", PurePosixPath(rel).parent)),
                                                       version=_str(data.get("version"))))
            elif rel.endswith(".tf"):
                _terraform(rel, text, out)
            elif name in ("serverless.yml", "serverless.yaml"):
                out.infra.serverless += _serverless(rel, text)
            elif name.startswith("template.") and "AWS::Serverless" in text:
                out.infra.serverless += _sam(rel, text)
            elif is_k8s and "{{" not in text:  # `{{ }}`: a Helm template, YAML only after rendering
                out.infra.kubernetes += _kubernetes(rel, text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 1
            out.warnings.append(f"{rel}:{line}: not valid YAML ({getattr(exc, 'problem', None) or exc}); left out")
        except (ValueError, TypeError, AttributeError) as exc:
            out.warnings.append(f"{rel}:{error_line(exc)}: could not read it ({str(exc).splitlines()[0][:200]})")
    out.infra.ci = [CiSystem(name=n, paths=sorted(p)) for n, p in sorted(ci.items())]
    out.infra.kubernetes_by_kind = dict(Counter(k.kind for k in out.infra.kubernetes).most_common())
    out.infra.terraform_by_provider = dict(Counter(t.provider for t in out.infra.terraform).most_common())
    return out


def dockerfile(rel: str, text: str) -> DockerfileInfo:
    """What a Dockerfile builds from, exposes, checks and runs."""
    info = DockerfileInfo(path=rel, base_images=[])
    stages: set[str] = set()
    for instruction, args in _instructions(text):
        words = [w for w in args.split() if not w.startswith("--")]
        if instruction == "FROM" and words:
            if words[0].lower() not in stages:
                info.base_images.append(words[0])
            if len(words) >= 3 and words[1].lower() == "as":
                stages.add(words[2].lower())
        elif instruction == "EXPOSE":
            info.ports += [int(p) for w in words if (p := w.split("/")[0]).isdigit()]
        elif instruction == "HEALTHCHECK":
            info.healthcheck = bool(words) and words[0].upper() != "NONE"
        elif instruction == "USER" and words:
            info.user = words[0]
        elif instruction in ("CMD", "ENTRYPOINT"):
            info.command = _command(args)
        elif instruction in ("COPY", "ADD") and not args.lstrip().startswith("--from") and len(words) >= 2:
            info.copies_from += [w for w in _words(args)[:-1] if not w.startswith(("--", "http://", "https://"))]
    return info


def _instructions(text: str) -> Iterator[tuple[str, str]]:
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        instruction, _, args = line.partition(" ")
        yield instruction.upper(), args.strip()


def _words(args: str) -> list[str]:
    if args.startswith("["):
        return re.findall(r'"([^"]*)"', args)
    try:
        return [w for w in shlex.split(args) if not w.startswith("--")]
    except ValueError:
        return args.split()


def _command(args: str) -> str:
    return " ".join(_words(args))[:200]


def _compose(rel: str, text: str) -> list[ComposeService]:
    data = yaml.safe_load(text) or {}
    services = data.get("services") if isinstance(data, dict) else None
    if not isinstance(services, dict):
        return []
    out = []
    for name, body in services.items():
        body = body if isinstance(body, dict) else {}
        build = body.get("build")
        context = build.get("context", ".") if isinstance(build, dict) else build
        depends = body.get("depends_on") or []
        links = [str(link).split(":")[0] for link in body.get("links") or []]
        env = body.get("environment") or {}
        if isinstance(env, list):
            env = dict(str(e).partition("=")[::2] for e in env)
        out.append(ComposeService(
            file=rel, name=str(name), line=_key_line(text, str(name)), image=_str(body.get("image")),
            build=(PurePosixPath(rel).parent / str(context)).as_posix() if context is not None else None,
            ports=[p for p in (_container_port(x) for x in body.get("ports") or []) if p],
            depends_on=sorted({*map(str, depends), *links}),
            healthcheck=bool(_dict(body.get("healthcheck"))) and not _dict(body.get("healthcheck")).get("disable"),
            environment={str(k): str(v) for k, v in env.items() if v is not None} if isinstance(env, dict) else {},
        ))
    return out


def _container_port(spec: object) -> int | None:
    if isinstance(spec, dict):
        spec = spec.get("target")
    text = str(spec).split("/")[0].rsplit(":", 1)[-1].split("-")[0]
    return int(text) if text.isdigit() else None


def _kubernetes(rel: str, text: str) -> list[KubeObject]:
    out = []
    for line, doc in _documents(text):
        if not isinstance(doc, dict) or not isinstance(doc.get("kind"), str):
            continue
        meta = _dict(doc.get("metadata"))
        pod = _pod_spec(doc)
        containers = [c for c in (pod.get("containers") or []) + (pod.get("initContainers") or [])
                      if isinstance(c, dict)]
        ports = [p["containerPort"] for c in containers for p in c.get("ports") or []
                 if isinstance(p, dict) and isinstance(p.get("containerPort"), int)]
        if doc["kind"] == "Service":
            ports = [p["port"] for p in _dict(doc.get("spec")).get("ports") or []
                     if isinstance(p, dict) and isinstance(p.get("port"), int)]
        out.append(KubeObject(path=rel, line=line, kind=doc["kind"], name=str(meta.get("name", "?")),
                              namespace=_str(meta.get("namespace")),
                              images=[str(c["image"]) for c in containers if c.get("image")], ports=ports,
                              probes=[f"{key} {_dict(_dict(c[key]).get('httpGet')).get('path') or 'command/tcp'}"
                                      for c in containers for key in _PROBES if isinstance(c.get(key), dict)]))
    return out


def _pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    """The pod spec of a Pod, a workload with a template, or a CronJob."""
    for path in ((), ("template", "spec"), ("jobTemplate", "spec", "template", "spec")):
        node: Any = doc.get("spec")
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and isinstance(node.get("containers"), list):
            return node
    return {}


def _documents(text: str) -> Iterator[tuple[int, Any]]:
    """Each YAML document with the line it starts on."""
    loader = yaml.SafeLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                yield node.start_mark.line + 1, loader.construct_document(node)
    finally:
        loader.dispose()


def _serverless(rel: str, text: str) -> list[ServerlessFunction]:
    data = _dict(yaml.safe_load(text))
    provider = _dict(data.get("provider"))
    return [ServerlessFunction(path=rel, name=str(name), handler=_str(_dict(body).get("handler")),
                               runtime=_str(_dict(body).get("runtime") or provider.get("runtime")),
                               framework="serverless")
            for name, body in _dict(data.get("functions")).items()]


class _CfnLoader(yaml.SafeLoader):
    """CloudFormation's short tags (!Ref, !GetAtt, !Sub ...) read as plain values."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def _sam(rel: str, text: str) -> list[ServerlessFunction]:
    data = _dict(yaml.load(text, Loader=_CfnLoader))  # a SafeLoader subclass
    return [ServerlessFunction(path=rel, name=str(name), handler=_str(props.get("Handler")),
                               runtime=_str(props.get("Runtime")), framework="aws-sam")
            for name, body in _dict(data.get("Resources")).items()
            if _dict(body).get("Type") == "AWS::Serverless::Function"
            for props in [_dict(_dict(body).get("Properties"))]]


def _terraform(rel: str, text: str, out: InfraFacts) -> None:
    import hcl2  # lazy: lark's grammar takes a moment to load
    from lark.exceptions import LarkError

    try:
        data = hcl2.loads(text)
    except LarkError as exc:
        line = getattr(exc, "line", 1)
        out.warnings.append(f"{rel}:{line if isinstance(line, int) and line > 0 else 1}: not valid HCL "
                            f"({str(exc).splitlines()[0][:160]}); left out")
        return
    for block in ("resource", "data"):
        for entry in data.get(block) or []:
            for rtype, named in entry.items():
                for rname, body in (named or {}).items():
                    rtype, rname = _unquote(rtype), _unquote(rname)
                    resource = TerraformResource(
                        path=rel, line=line_of(text, f'{block} "{rtype}" "{rname}"'),
                        provider=rtype.split("_")[0], type=rtype, name=rname, block=block,
                    )
                    out.infra.terraform.append(resource)
                    out.terraform_bodies.append((resource, body if isinstance(body, dict) else {}))
    for entry in data.get("module") or []:
        for mname, body in entry.items():
            source = _unquote(str((body or {}).get("source", "")))
            out.infra.terraform.append(TerraformResource(
                path=rel, line=line_of(text, f'module "{_unquote(mname)}"'), provider="module",
                type=source or "module", name=_unquote(mname), block="module"))
    for resource, body in out.terraform_bodies:
        if resource.type == "aws_lambda_function" and resource.path == rel:
            out.infra.serverless.append(ServerlessFunction(
                path=rel, name=resource.name, handler=_unquote(str(body.get("handler", ""))) or None,
                runtime=_unquote(str(body.get("runtime", ""))) or None, framework="terraform"))


def _key_line(text: str, key: str) -> int:
    """The line of an indented YAML mapping key (a compose service name)."""
    m = re.search(rf"^[ \t]+{re.escape(key)}:[ \t]*(#.*)?$", text, re.MULTILINE)
    return line_at(text, m.start()) if m else 1


def _unquote(value: str) -> str:
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: object) -> str | None:
    return str(value) if value is not None else None
