"""devops_orchestra.yaml's deploy keys: environments (local, kubernetes), local services, canary steps."""

import pytest

from devops_orchestra.pipeline.config import ConfigError, parse

DEPLOY = """\
deployment:
  strategy: canary
  services:
    - name: web
      runtime: local
      port: 8080
      start: python app.py --port $PORT
      health: /healthz
  environments:
    staging:
      target: local
      listen: 127.0.0.1:8000
      instances: 2
      steps: [{weight: 10, pause: 5s}, {weight: 50, pause: 1m}]
    prod:
      target: kubernetes
      context: prod
      namespace: shop
      production: true
      approval: true
rollback: {enabled: true, threshold: {cpu: 90, errors: 5, duration: 5m}, interval: 1s, failure_limit: 1}
observability:
  alerts: [{type: latency, threshold_ms: 300}, {type: error_rate, threshold: 1}]
"""


def test_environments_and_local_services_load() -> None:
    config = parse(DEPLOY)
    staging = config.deployment.environments["staging"]
    assert (staging.target, staging.listen, staging.instances) == ("local", "127.0.0.1:8000", 2)
    assert [(s.weight, s.pause) for s in staging.steps] == [(10, "5s"), (50, "1m")]
    prod = config.deployment.environments["prod"]
    assert (prod.target, prod.namespace, prod.production, prod.approval) == ("kubernetes", "shop", True, True)
    assert config.deployment.services[0].start == "python app.py --port $PORT"


@pytest.mark.parametrize(("text", "expected"), [
    (DEPLOY.replace("instances: 2", "instancs: 2"), ["line 13", "unknown key 'instancs'", "listen"]),
    (DEPLOY.replace("      start: python app.py --port $PORT\n", ""), ["line 4", "no start command"]),
    (DEPLOY.replace("target: kubernetes", "target: kubernetes\n      listen: 0.0.0.0:80"),
     ["line 15", "listen is for"]),
])
def test_deploy_mistakes_name_the_key_and_line(text: str, expected: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(text)
    for part in expected:
        assert part in str(caught.value)
