"""The architecture agent on whole repositories: components, stores, infrastructure, findings, diagrams."""

from pathlib import Path

import pytest

from devops_orchestra.agents.architecture import architecture_analysis
from devops_orchestra.models import ArchitectureReport
from tests.helpers import write

BILLING_JS = (
    'const express = require("express");\nconst stripe = require("stripe");\nconst app = express();\n'
    + "".join(f'app.get("/api/charge/{i}", (req, res) => res.json({{ id: {i} }}));\n' for i in range(60))
    + "app.listen(3000);\n"
)

PAYMENTS = {
    "devops_orchestra.yaml": "architecture:\n  layers:\n    api: [orders/app/api]\n    domain: [orders/app/domain]\n",
    "orders/requirements.txt": "fastapi==0.115.0\npsycopg2-binary==2.9.9\n",
    "orders/Dockerfile": "FROM python:3.12-slim\nCOPY . /app\nEXPOSE 8000\nCMD [\"uvicorn\", \"app.main:app\"]\n",
    "orders/app/__init__.py": "",
    "orders/app/main.py": ('from fastapi import FastAPI\n\nfrom app.api import routes\n\napp = FastAPI()\n\n\n'
                           '@app.get("/healthz")\ndef health():\n    return {"ok": True}\n\n\n'
                           'if __name__ == "__main__":\n    import uvicorn\n    uvicorn.run(app, port=8000)\n'),
    "orders/app/api/__init__.py": "",
    "orders/app/api/routes.py": "from app.domain import model\n\n\ndef list_orders():\n    return model.ORDERS\n",
    "orders/app/domain/__init__.py": "",
    "orders/app/domain/model.py": "from app.api import routes\n\nORDERS = []\n",
    "orders/tests/test_model.py": "def test_nothing():\n    assert True\n",
    "billing/package.json": '{"name": "billing-svc", "scripts": {"start": "node server.js"},\n'
                            ' "dependencies": {"express": "^4.19.2", "pg": "8.11.0", "stripe": "14.0.0"}}\n',
    "billing/server.js": BILLING_JS,
    "docker-compose.yml": (
        "services:\n  orders:\n    build: ./orders\n    ports: ['8000:8000']\n    depends_on: [db]\n"
        "  billing:\n    build: ./billing\n    environment:\n      DATABASE_URL: postgres://billing:${PW}@db/billing\n"
        "  db:\n    image: postgres:16\n  cache:\n    image: redis:7\n"
    ),
    ".github/workflows/ci.yml": "on: push\njobs: {}\n",
    "config/prod.yaml": "stripe_api_key: sk_live_4eC39HqLyjWDarjtT1zdp7dc\ndb_password: ${DB_PASSWORD}\n",
}


@pytest.fixture
async def payments(tmp_path: Path) -> ArchitectureReport:
    write(tmp_path, PAYMENTS)
    return await architecture_analysis(tmp_path)


async def test_components_are_merged_from_manifests_dockerfiles_and_compose(payments: ArchitectureReport) -> None:
    comps = {c.name: c for c in payments.components}
    assert set(comps) == {"orders", "billing-svc"}
    orders, billing = comps["orders"], comps["billing-svc"]
    assert (orders.path, orders.language, orders.frameworks, orders.ports) == ("orders", "python", ["FastAPI"], [8000])
    assert orders.dockerfile == "orders/Dockerfile" and set(orders.kinds) == {"manifest", "dockerfile", "compose"}
    assert orders.entry_points == ["orders/app/main.py:13", "orders/Dockerfile:1 (uvicorn app.main:app)"]
    assert orders.test_files == 1 and orders.test_ratio is not None
    assert orders.health_checks == ["orders/app/main.py: health route"] and billing.health_checks == []
    assert (billing.language, billing.frameworks, billing.ports, billing.dockerfile) == (
        "javascript", ["Express"], [3000], None)
    assert billing.data_stores == ["PostgreSQL", "Stripe"]
    stores = {d.name: d for d in payments.data_stores}
    assert stores["PostgreSQL"].used_by == ["billing-svc", "orders"] and stores["PostgreSQL"].host == "db"
    assert stores["Redis"].used_by == [] and stores["Stripe"].kind == "external service"
    assert {f.name: f.version for f in payments.frameworks} == {"FastAPI": "0.115.0", "Express": "^4.19.2"}
    assert [c.name for c in payments.infrastructure.ci] == ["GitHub Actions"]
    assert payments.layer_rules == "devops_orchestra.yaml"


async def test_findings_name_file_and_line(payments: ArchitectureReport) -> None:
    found = {(f.rule_id, f.location.path, f.location.start_line) for f in payments.findings}
    assert found == {
        ("arch:layer-violation", "orders/app/domain/model.py", 1),
        ("arch:import-cycle", "orders/app/api/routes.py", 1),
        ("arch:shared-database", "docker-compose.yml", 2),
        ("arch:secret-in-config", "config/prod.yaml", 1),  # not the ${DB_PASSWORD} placeholder
        ("arch:no-tests", "billing/package.json", 1),
        ("arch:no-health-endpoint", "billing/package.json", 1),
        ("arch:no-dockerfile", "billing/package.json", 1),
    }
    by_rule = {f.rule_id: f for f in payments.findings}
    assert "app.api.routes -> app.domain.model -> app.api.routes" in by_rule["arch:import-cycle"].message
    assert payments.imports.cycles == [["app.api.routes", "app.domain.model", "app.api.routes"]]
    assert "sk_live" not in (by_rule["arch:secret-in-config"].location.snippet or "")
    assert by_rule["arch:shared-database"].message.startswith("billing-svc, orders all use the PostgreSQL database")
    assert all(f.scanner == "architecture" for f in payments.findings)
    assert payments.summary.total == payments.findings_total == 7
    assert [f.severity.rank for f in payments.findings] == sorted((f.severity.rank for f in payments.findings),
                                                                  reverse=True)


async def test_finding_ids_survive_edits_above(tmp_path: Path) -> None:
    write(tmp_path, PAYMENTS)
    before = {f.rule_id: f.id for f in (await architecture_analysis(tmp_path)).findings}
    model = tmp_path / "orders/app/domain/model.py"
    model.write_text('"""The order model."""\n\n' + model.read_text())
    after = await architecture_analysis(tmp_path)
    assert {f.rule_id: f.id for f in after.findings} == before
    assert next(f for f in after.findings if f.rule_id == "arch:layer-violation").location.start_line == 3


async def test_diagrams_show_components_stores_and_infrastructure(payments: ArchitectureReport) -> None:
    system = payments.diagrams.components
    assert system.startswith("flowchart LR\n")
    for line in ('c_orders["orders<br/>python · FastAPI · :8000"]', 's_PostgreSQL[("PostgreSQL<br/>database")]',
                 's_Stripe{{"Stripe"}}', "c_billing_svc --> s_PostgreSQL", "c_orders --> s_PostgreSQL",
                 "infra_compose -. runs .-> c_orders", "infra_docker -. builds .-> c_orders",
                 'infra_ci["CI: GitHub Actions"]'):
        assert line in system
    packages = payments.diagrams.packages
    assert 'p_orders_app_api["orders/app/api"]' in packages
    assert "p_orders_app_api -->|1| p_orders_app_domain" in packages
    assert "orders/tests" not in packages  # test code imports everything: left out of the package view


async def test_vulnshop(example: Path) -> None:
    """The bundled example: three services, the root Dockerfile builds api/, the k8s Deployment runs it."""
    report = await architecture_analysis(example)
    comps = {c.name: c for c in report.components}
    assert set(comps) == {"api", "vulnshop-web", "worker"}
    assert comps["api"].dockerfile == "Dockerfile" and "kubernetes" in comps["api"].kinds
    assert comps["worker"].kinds == ["go main"] and comps["worker"].entry_points == ["worker/main.go:40"]
    assert {d.name: d.used_by for d in report.data_stores} == {
        "PostgreSQL": ["api", "worker"], "MySQL": ["vulnshop-web"], "S3": []}
    assert report.infrastructure.terraform_by_provider == {"aws": 4}
    assert report.infrastructure.kubernetes_by_kind == {"Deployment": 1, "Service": 1}
    rules = {f.rule_id for f in report.findings}
    assert {"arch:secret-in-config", "arch:no-ci", "arch:no-tests", "arch:no-dockerfile"} <= rules
    secrets = {(f.location.path, f.location.start_line) for f in report.findings if f.category == "secret"}
    assert {("config/settings.env", 2), ("config/settings.env", 5), ("config/deploy_key.pem", 1),
            ("k8s/deployment.yaml", 29), ("infra/main.tf", 45)} <= secrets
    assert {s.path: s.reason for s in report.scope.skipped_examples}["web/public/vendor/jquery.min.js"] == "vendored"
    assert [lang.language for lang in report.languages][:2] == ["python", "go"]


async def test_empty_and_broken_trees_do_not_crash(tmp_path: Path) -> None:
    write(tmp_path, {"empty/.keep": "", "broken/app.py": "def (:\n", "broken/package.json": "{nope",
                     "broken/infra/x.tf": "resource {", "broken/devops_orchestra.yaml": "architecture: [1, 2]\n"})
    empty = await architecture_analysis(tmp_path / "empty")
    assert (empty.components, empty.findings, empty.warnings) == ([], [], [])
    broken = await architecture_analysis(tmp_path / "broken")
    assert [w.split(":")[0] for w in broken.warnings] == ["app.py", "package.json", "infra/x.tf",
                                                          "devops_orchestra.yaml"]
    assert broken.warnings[0].startswith("app.py:1: Python syntax error")


async def test_serverless_functions_and_kubernetes_workloads_are_components(tmp_path: Path) -> None:
    """Units with no manifest of their own: each function and each workload, a data store image is a store."""
    write(tmp_path, {
        "functions/serverless.yml": "provider: {name: aws, runtime: python3.12}\nfunctions:\n"
                                    "  resize: {handler: handler.resize}\n  notify: {handler: handler.notify}\n",
        "functions/handler.py": "def resize(event, context):\n    return event\n",
        "deploy/app.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: gateway}\nspec:\n  template:\n"
                           "    spec:\n      containers: [{name: g, image: nginx:1.27, ports: [{containerPort: 80}]}]\n"
                           "---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: cache}\nspec:\n"
                           "  template:\n    spec:\n      containers: [{name: r, image: redis:7}]\n",
    })
    report = await architecture_analysis(tmp_path)
    comps = {c.name: (c.path, c.kinds, c.language, c.ports, c.entry_points) for c in report.components}
    assert comps == {
        "resize": ("functions", ["serverless"], "python", [], ["handler.resize"]),
        "notify": ("functions", ["serverless"], "python", [], ["handler.notify"]),
        "gateway": ("", ["kubernetes"], None, [80], []),
    }
    assert [(d.name, d.host) for d in report.data_stores] == [("Redis", "cache")]


async def test_a_kubernetes_probe_counts_as_a_health_check(tmp_path: Path) -> None:
    app = {"api/requirements.txt": "flask==3.0.3\n", "api/app.py": "from flask import Flask\napp = Flask(__name__)\n"}
    write(tmp_path, app)
    assert "arch:no-health-endpoint" in {f.rule_id for f in (await architecture_analysis(tmp_path)).findings}
    write(tmp_path, {"k8s/api.yaml": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec:\n  template:\n    spec:\n"
        "      containers:\n        - name: api\n          image: shop/api:3\n"
        "          livenessProbe: {httpGet: {path: /livez, port: 5000}}\n")})
    report = await architecture_analysis(tmp_path)
    assert "arch:no-health-endpoint" not in {f.rule_id for f in report.findings}
    assert report.components[0].health_checks == ["k8s/api.yaml: livenessProbe /livez"]
