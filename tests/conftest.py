"""Fixtures only (what tests share besides fixtures is in helpers.py): each test's own store, cache and
environment, and the bundled example repository."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from devops_orchestra.scanners.deps.osv import OsvApi
from tests.helpers import EXAMPLE, FakeOsv, fake_osv


@pytest.fixture
def example() -> Path:
    return EXAMPLE


@pytest.fixture(autouse=True)
def run_store(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test writes its runs to a store (and a scan cache) of its own, never the developer's."""
    path = tmp_path_factory.mktemp("store") / "runs.sqlite3"
    monkeypatch.setenv("DEVOPS_ORCHESTRA_STORE", str(path))
    monkeypatch.setenv("DEVOPS_ORCHESTRA_CACHE", str(path.with_name("scan-cache.sqlite3")))
    monkeypatch.setenv("DEVOPS_ORCHESTRA_BUILDS", str(path.with_name("builds")))  # the build stage's releases
    return path


@pytest.fixture(autouse=True)
def no_real_osv(monkeypatch: pytest.MonkeyPatch) -> None:
    """The deps scanner never reaches the real OSV API from a test: a closed local port answers at once."""
    monkeypatch.setenv("DEVOPS_ORCHESTRA_OSV_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("DEVOPS_ORCHESTRA_OSV_DB", raising=False)


@pytest.fixture
def osv(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOsv]:
    """A local server speaking OSV's API (FakeOsv), with the deps scanner pointed at it and no records in memory."""
    with fake_osv() as fake:
        monkeypatch.setenv("DEVOPS_ORCHESTRA_OSV_URL", fake.url)
        OsvApi._details.clear()
        yield fake


@pytest.fixture(autouse=True)
def polite_linters(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pipeline agent's linters yield the CPU to scanner tests with short timeouts on the other worker."""
    monkeypatch.setenv("DEVOPS_ORCHESTRA_LINT_NICE", "10")
