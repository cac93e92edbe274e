"""/orchestra deploy and rollback typed in Slack: the deploy package on the repository checkout the server was
given (`webhooks serve --deploy-from PATH`), as `devops-orchestra deploy --yes` typed in that checkout. The
deploy's own gates still apply (a production environment needs a passing review and compliance gate)."""

from __future__ import annotations

from pathlib import Path

from devops_orchestra.core.store import Store
from devops_orchestra.deploy import rollout
from devops_orchestra.deploy.targets.base import DeployError
from devops_orchestra.models.deploy import DeploymentRecord
from devops_orchestra.pipeline.config import OrchestraConfig


class CheckoutDeploys:
    """DeployActions on one checkout: its devops_orchestra.yaml names the services and environments, and the
    refs are resolved in it (keep it fetched: a mirror the server polls, or a clone updated by a hook)."""

    def __init__(self, root: Path, store: Store) -> None:
        self.root = root
        self.store = store

    async def deploy(self, service: str, ref: str, environment: str | None, by: str) -> str:
        config = rollout.config_at(self.root)
        env = _environment(config, environment)
        plan = await rollout.plan(config, self.root, self.store, service=service, environment=env, ref=ref,
                                  started_by=f"{by} in Slack")
        return _said(await rollout.execute(plan, config, self.store))

    async def rollback(self, service: str, environment: str | None, by: str) -> str:
        config = rollout.config_at(self.root)
        env = _environment(config, environment)
        return _said(await rollout.rollback(config, self.root, self.store, service=service, environment=env,
                                            started_by=f"{by} in Slack"))



def _environment(config: OrchestraConfig, named: str | None) -> str:
    known = list(config.deployment.environments)
    if named:
        return named
    if len(known) == 1:
        return known[0]
    raise DeployError("say which environment: " + (", ".join(known) if known else
                      "none is configured (deployment.environments in devops_orchestra.yaml)"))


def _said(record: DeploymentRecord) -> str:
    plan = record.plan
    return (f"{plan.service} {plan.ref} ({plan.sha[:12]}) in {plan.environment}, {plan.deployment_id}: "
            f"{record.state.replace('_', ' ')}: {record.reason}")
