"""Prometheus for a local environment (scraping haproxy's exporter and the instances, whose list is a file
it watches), and the PromQL client the SLO watcher uses against any Prometheus."""

from __future__ import annotations

import json
import math
from pathlib import Path

import httpx
import yaml

from devops_orchestra.deploy.processes import need
from devops_orchestra.deploy.targets.base import DeployError, Instance


def binary() -> str:
    return need("prometheus", "to watch a deploy's SLOs")


def scrape_interval_ms(interval_s: float) -> int:
    """Scrape four times per evaluation interval (at least every 250 ms), so a rate over one interval has
    enough samples and a breach shows within one interval."""
    return max(250, int(interval_s * 1000 / 4))


def render(*, haproxy_metrics: str, instances_file: Path, interval_s: float) -> str:
    every = f"{scrape_interval_ms(interval_s)}ms"
    config = {
        "global": {"scrape_interval": every, "scrape_timeout": every, "evaluation_interval": every},
        "scrape_configs": [
            {"job_name": "haproxy", "static_configs": [{"targets": [haproxy_metrics]}]},
            {"job_name": "instances", "file_sd_configs": [{"files": [str(instances_file)], "refresh_interval": "1s"}]},
        ],
    }
    return yaml.safe_dump(config, sort_keys=False)


def write_instances(path: Path, service: str, instances: list[Instance]) -> None:
    """The instances Prometheus scrapes (/metrics of each), labelled with their version; replaced atomically."""
    groups = [{"targets": [i.address], "labels": {"service": service, "version": i.version, "slot": i.name}}
              for i in instances]
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(groups))
    tmp.replace(path)


async def query(base_url: str, promql: str, client: httpx.AsyncClient) -> float | None:
    """The one number promql gives now; None when there is no data yet (no series, or NaN from 0/0)."""
    try:
        answer = await client.get(f"{base_url}/api/v1/query", params={"query": promql})
        answer.raise_for_status()
        body = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise DeployError(f"Prometheus at {base_url} did not answer the query {promql!r}: {exc}") from exc
    if body.get("status") != "success":
        raise DeployError(f"Prometheus at {base_url} refused the query {promql!r}: {body.get('error')}")
    result = body["data"]["result"]
    if not result:
        return None
    value = float(result[0]["value"][1])
    return None if math.isnan(value) or math.isinf(value) else value
