"""Generate end to end for a Flask service, the monorepo and ECS services: validation by the real linters is clean."""

from pathlib import Path

import pytest

from devops_orchestra.agents.pipeline import generate
from tests.helpers import DVPWA, SAMPLES, assert_clean, write

pytestmark = pytest.mark.scanners


@pytest.mark.parametrize("name", ["flask", "monorepo"])
async def test_generated_set_is_clean(tmp_path: Path, name: str) -> None:
    root = write(tmp_path / name, SAMPLES[name])
    report = await generate(root, "run", display_path=".")
    assert_clean(report)
    kinds = {f.artifact for f in report.files}
    assert kinds == {"dockerfile", "github-actions", "kubernetes", "observability", "compose"}  # postgres
    assert sorted(p.name for p in root.iterdir()) == sorted({Path(k).parts[0] for k in SAMPLES[name]})  # wrote nothing


async def test_ecs_services_get_terraform_and_ecs_deploys(tmp_path: Path) -> None:
    """Terraform for ECR + ECS Fargate passes checkov; CI builds the images the services and repositories name."""
    root = write(tmp_path / "shop", {**SAMPLES["monorepo"], "devops_orchestra.yaml": (
        "project: {name: shop}\ninfrastructure: {tool: terraform, path: deploy/tf}\n"
        "deployment:\n  region: eu-west-1\n  services:\n"
        "    - {name: web, path: frontend, port: 3000, runtime: ecs, depends_on: [api]}\n"
        "    - {name: api, path: backend, port: 8000, runtime: ecs}\n")})
    report = await generate(root, "run", display_path=".")
    assert_clean(report)
    assert report.config == "devops_orchestra.yaml"
    paths = [f.path for f in report.files]
    assert "k8s/00-namespace.yaml" not in paths
    assert {f"deploy/tf/{n}.tf" for n in ("main", "variables", "outputs", "versions")} <= set(paths)
    checkov = next(r for r in report.linters if r.name == "checkov")
    assert checkov.files >= 6  # two Dockerfiles, the workflow, four .tf files
    workflow = next(f.content for f in report.files if f.path.endswith("ci.yml"))
    assert workflow is not None
    assert "tags: ${{ env.REGISTRY }}/api:${{ env.IMAGE_TAG }}" in workflow and "service: web" in workflow
    assert "amazon-ecs-deploy-task-definition" in workflow
    main = next(f.content for f in report.files if f.path == "deploy/tf/main.tf")
    assert main is not None and 'image_tag_mutability = "IMMUTABLE"' in main and "assign_public_ip = false" in main


async def test_dvpwa_shape_starts_run_py_on_its_configured_port(tmp_path: Path) -> None:
    """Issue 15: dvpwa got `python main.py` on 8000 with no main.py, and every linter passed. Now the command and
    port come from its compose file and config/dev.yaml, the semantic check runs and passes, the report says why."""
    root = write(tmp_path / "dvpwa", DVPWA)
    report = await generate(root, "run", display_path=".")
    assert_clean(report)
    dockerfile = next(f.content for f in report.files if f.path == "Dockerfile")
    assert dockerfile is not None
    assert 'CMD ["python", "run.py"]' in dockerfile and "EXPOSE 8080" in dockerfile
    assert next(r for r in report.linters if r.name == "entrypoint").status == "ok"
    assert any("docker-compose.yml (service sqli, command)" in n and "config/dev.yaml app.port" in n
               for n in report.notes)
