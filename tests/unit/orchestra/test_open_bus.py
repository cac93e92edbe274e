"""Choosing a bus by URL: the engines, the default, and URLs fit to print."""

from __future__ import annotations

from pathlib import Path

import pytest

from devops_orchestra.core.errors import OrchestraError
from devops_orchestra.orchestra.bus import open_bus, public_url


def test_public_url_drops_credentials() -> None:
    assert public_url("redis://ops:s3cret@redis.internal:6380/2") == "redis://redis.internal:6380/2"
    assert public_url("rediss://:s3cret@[::1]/0") == "rediss://[::1]/0"
    assert public_url("redis://redis.internal:6379/0") == "redis://redis.internal:6379/0"


def test_an_unknown_scheme_names_the_supported_ones_without_credentials() -> None:
    with pytest.raises(OrchestraError) as error:
        open_bus("kafka://ops:s3cret@broker:9092")
    message = str(error.value)
    assert "memory://" in message and "redis://" in message and "kafka://broker:9092" in message
    assert "s3cret" not in message


def test_a_memory_url_takes_an_absolute_path() -> None:
    with pytest.raises(OrchestraError, match="memory:///abs/path"):
        open_bus("memory://state.sqlite")


async def test_the_environment_chooses_the_bus_when_no_url_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVOPS_ORCHESTRA_BUS", "redis://ops:s3cret@127.0.0.1:1/0")
    bus = open_bus(None)
    assert bus.url == "redis://127.0.0.1:1/0"
    await bus.close()
    monkeypatch.delenv("DEVOPS_ORCHESTRA_BUS")
    assert open_bus(None).url == "memory://"


async def test_the_memory_bus_keeps_its_state_beside_the_run_store(run_store: Path) -> None:
    bus = open_bus("memory://")
    await bus.put("run:1", "{}")
    assert (run_store.parent / "orchestra.sqlite").is_file()
    assert await open_bus(f"memory://{run_store.parent}/orchestra.sqlite").get("run:1") == "{}"
