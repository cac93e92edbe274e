"""A deploy for a person: its plan before it starts, its record when it ends, and the list of rollouts."""

from __future__ import annotations

from devops_orchestra.models.deploy import DeploymentRecord, DeployPlan, Rollouts


def plan_text(plan: DeployPlan) -> str:
    lines = [f"Deploy {plan.deployment_id}: {plan.service} to {plan.environment} ({plan.target}), "
             f"{plan.sha[:12]} ({plan.ref}), {plan.strategy}" + (", production" if plan.production else "")]
    lines += [f"  - {change}" for change in plan.changes]
    for gate in plan.gates:
        lines.append(f"  gate {gate.name}: {'passed' if gate.passed else 'NOT passed'} ({gate.detail})")
    lines.append(f"  started by {plan.started_by}")
    return "\n".join(lines)


def record_text(record: DeploymentRecord) -> str:
    plan = record.plan
    took = f" in {(record.finished_at - record.started_at).total_seconds():.1f} s" if record.finished_at else ""
    head = f"{record.state}: {plan.service} {plan.sha[:12]} in {plan.environment}{took}"
    lines = [head, f"  {record.reason}"] if record.reason else [head]
    if record.breach:
        b = record.breach
        lines.append(f"  breached SLO: {b.slo}, measured {b.measured:.4g}, threshold {b.threshold:g}")
    return "\n".join(lines)


def rollouts_text(rollouts: Rollouts) -> str:
    if not rollouts.deployments:
        return "No deployments recorded yet (devops-orchestra deploy SERVICE --ref REF --env ENV)."
    rows = []
    for r in rollouts.deployments:
        p = r.plan
        rows.append(f"{r.started_at:%Y-%m-%d %H:%M:%S}  {p.deployment_id}  {p.service:<14} {p.environment:<10} "
                    f"{p.sha[:12]}  {p.strategy:<10} {r.state:<11} {r.breach.message if r.breach else r.reason}")
    return "\n".join(rows)
