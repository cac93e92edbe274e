"""Which environment the pipeline's deploy stage takes a push to: the first that takes its branch."""

from devops_orchestra.orchestra.stages.deploy import target_of
from devops_orchestra.pipeline.config import parse

CONFIG = """\
deployment:
  services: [{name: web, runtime: local, start: python app.py}]
  environments:
    staging: {target: local, listen: "127.0.0.1:8080", branches: [main]}
    production: {target: local, listen: "127.0.0.1:8081", production: true, branches: ["release/*"]}
"""


def test_each_branch_goes_to_the_first_environment_that_takes_it() -> None:
    config = parse(CONFIG)
    assert target_of(config, "main") == ("web", "staging")
    assert target_of(config, "release/1.2") == ("web", "production")
    assert target_of(config, "feature/x") == "no environment takes branch 'feature/x' " \
                                             "(deployment.environments.*.branches)"


def test_an_environment_without_branches_takes_any_and_a_missing_service_is_named() -> None:
    assert target_of(parse(CONFIG.replace(", branches: [main]", "")), "feature/x") == ("web", "staging")
    no_service = parse(CONFIG.replace("runtime: local", "runtime: kubernetes"))
    assert "no service of devops_orchestra.yaml runs on environment staging's target local" in str(
        target_of(no_service, "main"))
    assert "names no environment" in str(target_of(parse("deployment: {services: []}\n"), "main"))
