"""devops_orchestra.yaml: the whole shape loads, mistakes name key and line, init_config writes a file that loads."""

from pathlib import Path

import pytest

from devops_orchestra.agents.pipeline import init_config
from devops_orchestra.core.errors import OrchestraError
from devops_orchestra.pipeline import detect, rendering
from devops_orchestra.pipeline.config import ConfigError, OrchestraConfig, load, parse
from tests.helpers import FLASK, MONOREPO, write

FULL = """\
project: {name: shop, language: python, framework: flask, repo: github.com/acme/shop}
build: {tool: docker, context: ., dockerfile: Dockerfile}
testing: {enabled: true, framework: pytest, command: pytest -q}
deployment:
  type: cloud
  provider: aws
  strategy: canary
  region: eu-west-1
  services:
    - name: db-proxy
      runtime: kubernetes
      port: 5432
    - name: api
      runtime: kubernetes
      port: 8000
      env:
        - {key: LOG_LEVEL, value: info}
        - {key: DATABASE_URL}
      depends_on: [db-proxy]
infrastructure: {tool: terraform, path: infra}
secrets: {manager: aws-secrets-manager, keys: [DATABASE_URL]}
rollback: {enabled: true, threshold: {cpu: 85, errors: 2, duration: 5m}}
observability:
  enabled: true
  tools: [prometheus, grafana]
  alerts:
    - {type: latency, threshold_ms: 300}
    - {type: error_rate, threshold: 1}
chatops: {enabled: true, platform: slack, channel: "#deploys", notify_on: [failure, rollback]}
architecture:
  layers: {domain: [shop.domain], web: [shop.web]}
"""


def test_the_whole_documented_shape_loads() -> None:
    """Every section of the issue's schema, plus another agent's architecture section."""
    config = parse(FULL)
    assert config.deployment.strategy == "canary"
    assert config.deployment.services[1].depends_on == ["db-proxy"]
    assert config.rollback.threshold.errors == 2
    assert config.observability.alerts[0].threshold_ms == 300
    assert config.architecture == {"layers": {"domain": ["shop.domain"], "web": ["shop.web"]}}


@pytest.mark.parametrize(("text", "expected"), [
    ("project:\n  name: x\ndeployement:\n  provider: aws\n", ["line 3", "'deployement'", "top level"]),
    (FULL.replace("      port: 8000\n", "      port: 8000\n      replicas: 3\n"),
     ["line 16", "'replicas'", "deployment.services.1", "allowed: name, runtime, port"]),
    ("deployment:\n  strategy: big-bang\n", ["line 2", "deployment.strategy", "blue-green"]),
    ("rollback:\n  threshold:\n    duration: five minutes\n", ["line 3", "rollback.threshold.duration"]),
    ("deployment:\n  services:\n    - name: a\n      depends_on: [b]\n", ["depends on unknown service", "'b'"]),
    ("- just\n- a list\n", ["must be a mapping"]),
    ("infrastructure:\n  path: ../../etc\n", ["line 2", "infrastructure.path"]),
    ("deployment:\n  region: 'eu-west-1\n  x: y'\n", ["line 2", "deployment.region"]),
    ("project:\n  name: 'a: b'\n", ["line 2", "project.name"]),
    ("project: [unclosed\n", ["not valid YAML"]),
])
def test_mistakes_name_the_key_and_line(text: str, expected: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        parse(text, "devops_orchestra.yaml")
    for part in expected:
        assert part in str(info.value)


def test_empty_file_means_defaults_and_missing_file_means_none(tmp_path: Path) -> None:
    assert load(tmp_path) is None
    (tmp_path / "devops_orchestra.yaml").write_text("")
    assert load(tmp_path) == OrchestraConfig()


def test_dependency_cycle_is_a_clear_error(tmp_path: Path) -> None:
    config = parse("deployment:\n  services:\n    - {name: a, depends_on: [b]}\n    - {name: b, depends_on: [a]}\n")
    with pytest.raises(ConfigError, match="cycle"):
        rendering.services_of(config, detect.detect(write(tmp_path, FLASK)))


def test_init_config_writes_what_was_inferred_and_never_overwrites(tmp_path: Path) -> None:
    root = write(tmp_path / "shop", MONOREPO)
    target, text = init_config(root)
    assert target == root / "devops_orchestra.yaml"
    config = load(root)
    assert config is not None and config.model_dump() == parse(text).model_dump()
    assert [(s.name, s.path, s.port) for s in config.deployment.services] == [
        ("shop-frontend", "frontend", 3000), ("shop-backend", "backend", 8000)]
    with pytest.raises(OrchestraError, match="already exists"):
        init_config(root)
    assert target.read_text() == text


def test_init_config_on_a_directory_without_an_application(tmp_path: Path) -> None:
    with pytest.raises(OrchestraError, match="No application found"):
        init_config(write(tmp_path, {"README.md": "hello\n"}))
    assert not (tmp_path / "devops_orchestra.yaml").exists()


@pytest.mark.parametrize(("value", "nice"), [(None, 0), ("10", 10), ("99", 19), ("-3", 0), ("high", 0)])
def test_linter_priority_setting(monkeypatch: pytest.MonkeyPatch, value: str | None, nice: int) -> None:
    from devops_orchestra.pipeline.lint import lint_nice

    if value is None:
        monkeypatch.delenv("DEVOPS_ORCHESTRA_LINT_NICE", raising=False)
    else:
        monkeypatch.setenv("DEVOPS_ORCHESTRA_LINT_NICE", value)
    assert lint_nice() == nice
