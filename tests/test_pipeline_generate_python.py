"""Generate for the Python sample repositories and the monorepo: validation by the real linters is clean."""

from pathlib import Path

import pytest

from devops_orchestra.agents.pipeline import generate
from tests.conftest import write
from tests.pipeline_samples import SAMPLES, assert_clean

pytestmark = pytest.mark.scanners


@pytest.mark.parametrize("name", ["flask", "fastapi", "django", "monorepo"])
async def test_generated_set_is_clean(tmp_path: Path, name: str) -> None:
    root = write(tmp_path / name, SAMPLES[name])
    report = await generate(root, "run", display_path=".")
    assert_clean(report)
    kinds = {f.artifact for f in report.files}
    assert kinds == {"dockerfile", "github-actions", "kubernetes", "observability"} | (
        {"compose"} if name in ("flask", "fastapi", "monorepo") else set())  # data stores, or several components
    assert sorted(p.name for p in root.iterdir()) == sorted({Path(k).parts[0] for k in SAMPLES[name]})  # wrote nothing
