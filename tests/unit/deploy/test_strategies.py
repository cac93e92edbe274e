"""Strategies as steps of traffic, SLOs from the seed's keys, and what a breach is."""

import pytest

from devops_orchestra.deploy import rollout, strategies
from devops_orchestra.models.deploy import Slo
from devops_orchestra.pipeline.config import Environment, parse


def test_each_strategy_is_steps_of_traffic() -> None:
    env = Environment(instances=4)
    assert [(s.weight, s.pause_s) for s in strategies.steps("blue-green", env, interval_s=1, watch_s=6)] == [
        (100, 6)]
    assert [(s.weight, s.pause_s) for s in strategies.steps("canary", env, interval_s=2, watch_s=None)] == [
        (10, 5), (50, 5)]
    assert [s.weight for s in strategies.steps("rolling", env, interval_s=1, watch_s=None)] == [25, 50, 75, 100]
    stepped = Environment.model_validate({"steps": [{"weight": 5, "pause": "250ms"}, {"weight": 40, "pause": "1m"}]})
    assert [(s.weight, s.pause_s) for s in strategies.steps("canary", stepped, interval_s=1, watch_s=None)] == [
        (5, 0.25), (40, 60)]


def test_slos_come_from_rollback_thresholds_and_alerts_the_stricter_winning() -> None:
    config = parse("rollback: {threshold: {errors: 5, cpu: 80}}\n"
                   "observability: {alerts: [{type: error_rate, threshold: 1}, {type: latency, threshold_ms: 250}]}\n")
    assert rollout.slos(config) == [Slo(name="success_rate", threshold=99), Slo(name="p99_latency_ms", threshold=250),
                                    Slo(name="cpu_percent", threshold=80)]
    assert rollout.slos(parse("")) == [Slo(name="success_rate", threshold=95)]


@pytest.mark.parametrize(("slo", "measured", "breached"), [
    (Slo(name="success_rate", threshold=95), 94.9, True), (Slo(name="success_rate", threshold=95), 95, False),
    (Slo(name="p99_latency_ms", threshold=300), 301, True), (Slo(name="cpu_percent", threshold=90), 10, False),
])
def test_a_breach_is_below_a_floor_or_above_a_ceiling(slo: Slo, measured: float, breached: bool) -> None:
    assert slo.breached_by(measured) is breached
    assert str(slo.threshold).rstrip("0").rstrip(".") in slo.describe(measured)
