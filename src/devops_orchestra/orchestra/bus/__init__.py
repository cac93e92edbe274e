"""The event bus: one interface (base.Bus), engines chosen by URL."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from devops_orchestra.core import store
from devops_orchestra.core.errors import OrchestraError
from devops_orchestra.orchestra.bus.base import DEFAULT_MAX_DELIVERIES, Bus, public_url

__all__ = ["Bus", "open_bus", "public_url"]

ENV = "DEVOPS_ORCHESTRA_BUS"
DEFAULT_URL = "memory://"
SCHEMES = ("memory", "redis", "rediss")


def open_bus(url: str | None = None, *, max_deliveries: int = DEFAULT_MAX_DELIVERIES) -> Bus:
    """The bus at url, else at $DEVOPS_ORCHESTRA_BUS, else the in-process one (`memory://`)."""
    url = url or os.environ.get(ENV) or DEFAULT_URL
    parts = urlsplit(url)
    if parts.scheme == "memory":
        from devops_orchestra.orchestra.bus.memory import MemoryBus

        return MemoryBus(public_url(url), _state_path(url), max_deliveries=max_deliveries)
    if parts.scheme in ("redis", "rediss"):
        from devops_orchestra.orchestra.bus.redis_streams import RedisBus

        return RedisBus(url, max_deliveries=max_deliveries)
    raise OrchestraError(
        f"unknown bus URL {public_url(url)!r}: use memory:// (in this process, the default), "
        "memory:///abs/path/state.sqlite, or redis://HOST:6379/0 (set it with --bus or $" + ENV + ")"
    )


def _state_path(url: str) -> Path:
    """memory:///abs/path/state.sqlite, or orchestra.sqlite beside the run store."""
    parts = urlsplit(url)
    if parts.netloc:
        raise OrchestraError(
            f"{url!r}: a memory:// URL takes an absolute path after three slashes, as in "
            "memory:///abs/path/state.sqlite, or nothing (memory://)"
        )
    return Path(parts.path) if parts.path not in ("", "/") else store.default_path().parent / "orchestra.sqlite"

