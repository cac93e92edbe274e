"""Small sample repositories, one per stack the pipeline agent knows, built in tmp dirs by the tests."""

from __future__ import annotations

import json

FLASK = {
    "requirements.txt": "flask==3.0.3\ngunicorn==23.0.0\npsycopg2-binary==2.9.9\npytest==8.3.3\n",
    "app.py": "from flask import Flask\n\napp = Flask(__name__)\n\n\n@app.get('/')\ndef index():\n    return 'ok'\n",
    "tests/test_app.py": "from app import app\n\n\ndef test_index():\n    assert app.test_client().get('/')\n",
}
FASTAPI_POETRY = {
    "pyproject.toml": (
        '[tool.poetry]\nname = "orders"\nversion = "0.1.0"\ndescription = ""\nauthors = []\n\n'
        '[tool.poetry.dependencies]\npython = "^3.12"\nfastapi = "0.115.6"\nuvicorn = "0.32.1"\nredis = "5.2.1"\n\n'
        '[tool.poetry.group.dev.dependencies]\npytest = "8.3.3"\n'
    ),
    "poetry.lock": "# poetry lock\n",
    "orders/__init__.py": "",
    "orders/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get('/')\ndef root():\n    return {}\n",
}
DJANGO_UV = {
    "pyproject.toml": '[project]\nname = "shop"\ndependencies = ["django==5.1.4", "gunicorn==23.0.0"]\n',
    "uv.lock": "version = 1\n",
    "manage.py": "import os\nimport sys\n\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'shop.settings')\n",
    "shop/__init__.py": "",
    "shop/settings.py": "SECRET_KEY = 'x'\n",
    "shop/wsgi.py": "from django.core.wsgi import get_wsgi_application\n\napplication = get_wsgi_application()\n",
}
EXPRESS_NPM = {
    "package.json": json.dumps({
        "name": "api", "version": "1.0.0", "main": "server.js",
        "scripts": {"start": "node server.js", "test": "node --test"},
        "dependencies": {"express": "4.21.2", "pg": "8.13.1"},
    }),
    "package-lock.json": "{}\n",
    "server.js": "const express = require('express');\nconst app = express();\napp.listen(process.env.PORT || 4000);\n",
}
NEXT_PNPM = {
    "package.json": json.dumps({
        "name": "web", "version": "0.1.0",
        "scripts": {"dev": "next dev", "build": "next build", "start": "next start"},
        "dependencies": {"next": "15.1.0", "react": "19.0.0", "react-dom": "19.0.0"},
    }),
    "pnpm-lock.yaml": "lockfileVersion: '9.0'\n",
    "app/page.js": "export default function Page() { return 'hi'; }\n",
}
GO = {
    "go.mod": "module example.com/svc\n\ngo 1.22\n\nrequire github.com/jackc/pgx/v5 v5.7.1\n",
    "go.sum": "",
    "cmd/server/main.go": "package main\n\nfunc main() {}\n",
}
JAVA_MAVEN = {
    "pom.xml": (
        "<project><modelVersion>4.0.0</modelVersion><groupId>com.example</groupId><artifactId>billing</artifactId>"
        "<version>0.1.0</version><parent><groupId>org.springframework.boot</groupId>"
        "<artifactId>spring-boot-starter-parent</artifactId><version>3.4.0</version></parent>"
        "<dependencies><dependency><groupId>org.postgresql</groupId><artifactId>postgresql</artifactId>"
        "</dependency></dependencies></project>\n"
    ),
    "src/main/java/com/example/App.java": "package com.example;\n\npublic class App {}\n",
}
JAVA_GRADLE = {
    "build.gradle": "plugins { id 'java' }\n",
    "src/main/java/App.java": "public class App {}\n",
}
MONOREPO = {
    **{f"frontend/{k}": v for k, v in NEXT_PNPM.items()},
    **{f"backend/{k}": v for k, v in FLASK.items()},
}
RUST = {"Cargo.toml": '[package]\nname = "svc"\nversion = "0.1.0"\n', "src/main.rs": "fn main() {}\n"}

SAMPLES = {
    "flask": FLASK, "fastapi": FASTAPI_POETRY, "django": DJANGO_UV, "express": EXPRESS_NPM, "nextjs": NEXT_PNPM,
    "go": GO, "maven": JAVA_MAVEN, "gradle": JAVA_GRADLE, "monorepo": MONOREPO,
}


def assert_clean(report) -> None:  # type: ignore[no-untyped-def]
    """Every linter ran, nothing high or critical remains, and what a template cannot meet has a reason."""
    expected = ["parse", "checkov", "hadolint", "check-jsonschema"]
    expected += ["actionlint"] if any(f.artifact == "github-actions" for f in report.files) else []
    assert {r.name: r.status for r in report.linters} == dict.fromkeys(expected, "ok"), report.linters
    assert report.clean
    assert report.summary.high == report.summary.critical == 0, [f.rule_id for f in report.findings]
    assert {u.rule_id for u in report.unsatisfied} <= {"checkov:CKV_K8S_43", "checkov:CKV_K8S_35", "checkov:CKV2_AWS_5"}
    assert all(len(u.reason) > 40 and u.paths for u in report.unsatisfied)
    assert all(f.status == "not-written" and f.content for f in report.files)
