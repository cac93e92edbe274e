"""observe: after a deploy, the environment's SLOs measured on the new stable version for one more watch
window (rollback.threshold.duration, else five intervals); a breach puts the previous version back (warm after
blue-green) and publishes `rollback_event`. Publishes the measurement as `observability_alert` (`breached`
says whether it broke an SLO). A rollout the deploy stage already rolled back is reported as it was."""

from __future__ import annotations

import asyncio

from devops_orchestra.deploy import rollout, strategies
from devops_orchestra.deploy.watch import watch
from devops_orchestra.models.events import DeploymentTriggered, Envelope, ObservabilityAlert, Payload, RollbackEvent
from devops_orchestra.orchestra.retention import retention
from devops_orchestra.orchestra.stages.base import Stage, StageContext


class Observe(Stage):
    name = "observe"
    consumes = "deployment_triggered"
    publishes = "observability_alert"

    async def handle(self, event: Envelope, context: StageContext) -> Payload:
        deployed = event.payload
        assert isinstance(deployed, DeploymentTriggered)
        record = await asyncio.to_thread(context.store.deployment, deployed.deployment_id) \
            if deployed.deployment_id else None
        if record is None or deployed.state != "succeeded":
            breach = record.breach if record else None
            return ObservabilityAlert(service=deployed.service or "-", environment=deployed.environment or "-",
                                      slo=breach.slo if breach else "none", measured=breach.measured if breach else 0,
                                      threshold=breach.threshold if breach else 0, breached=breach is not None)
        config = context.config
        duration = config.rollback.threshold.duration
        window = strategies.seconds(duration) if duration else strategies.WATCHES_PER_STEP * record.plan.interval_s
        target = rollout.target_for(config, deployed.service, deployed.environment)
        breach = await watch(target, record, 100, window, lambda _: None)
        await asyncio.to_thread(context.store.save_deployment, record)
        main = record.plan.slos[0]
        if breach is None:
            last = next((m.values[main.name] for m in reversed(record.measurements) if main.name in m.values), None)
            return ObservabilityAlert(service=deployed.service, environment=deployed.environment,
                                      slo=main.name if last is not None else f"{main.name} (no request measured)",
                                      measured=last if last is not None else 0, threshold=main.threshold,
                                      breached=False)
        back = await rollout.rollback(config, context.checkout, context.store, service=deployed.service,
                                      environment=deployed.environment, started_by=f"observe stage of {event.run_id}")
        if await context.state.set_once(f"{context.effect_key}:rollback", "1", ttl_s=retention().effects_s):
            await context.state.publish("rollback_event", event.follow(RollbackEvent(
                service=deployed.service, environment=deployed.environment, from_version=record.plan.sha,
                to_version=back.plan.sha, reason=breach.message)))
        return ObservabilityAlert(service=deployed.service, environment=deployed.environment, slo=breach.slo,
                                  measured=breach.measured, threshold=breach.threshold)

    def summary(self, payload: Payload) -> str:
        assert isinstance(payload, ObservabilityAlert)
        if payload.slo == "none":
            return "nothing deployed: nothing to watch"
        verdict = "breached, rolled back" if payload.breached else "within"
        return f"{payload.service} in {payload.environment}: {payload.slo} {payload.measured:.4g} ({verdict}; " \
               f"threshold {payload.threshold:g})"


STAGE = Observe()
