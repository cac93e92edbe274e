"""Dockerfiles, compose, Kubernetes, Helm, Terraform (python-hcl2), serverless and CI, as written."""

from devops_orchestra.analyzers.infra import is_infra, read_infra

DOCKERFILE = """\
FROM --platform=linux/amd64 golang:1.22 AS build
COPY ./src /src
RUN go build -o /app ./cmd/api
FROM gcr.io/distroless/base:nonroot
COPY --from=build /app /app
EXPOSE 8080/tcp 9090
USER nonroot
HEALTHCHECK CMD ["/app", "health"]
ENTRYPOINT ["/app", \\
  "serve"]
"""

COMPOSE = """\
services:
  api:
    build: ./api
    ports: ["8000:8000"]
    depends_on: [db, cache]
    environment:
      DATABASE_URL: postgres://app@db:5432/app
  db:
    image: postgres:16
    healthcheck: {test: ["CMD", "pg_isready"]}
  cache:
    image: redis:7-alpine
"""

K8S = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  template:
    spec:
      containers:
        - name: api
          image: registry.example.com/shop/api:1.4
          ports: [{containerPort: 8000}]
          readinessProbe: {httpGet: {path: /readyz, port: 8000}}
          livenessProbe: {tcpSocket: {port: 8000}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: n, image: shop/report:2}]
"""

TERRAFORM = """\
provider "aws" {}

resource "aws_s3_bucket" "exports" {
  bucket = "exports"
}

resource "google_sql_database_instance" "main" {
  database_version = "POSTGRES_15"
}

module "vpc" {
  source = "terraform-aws-modules/vpc/aws"
}

resource "aws_lambda_function" "resize" {
  handler = "resize.handler"
  runtime = "python3.12"
}
"""


def test_every_kind_of_infrastructure_is_read() -> None:
    files = [
        ("Dockerfile", DOCKERFILE, False),
        ("docker-compose.yml", COMPOSE, False),
        ("deploy/k8s.yaml", K8S, True),
        ("charts/shop/Chart.yaml", "apiVersion: v2\nname: shop\nversion: 0.4.2\n", False),
        ("charts/shop/templates/dep.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Values.name }}\n", True),
        ("infra/main.tf", TERRAFORM, False),
        ("serverless.yml", "provider: {runtime: nodejs20.x}\nfunctions:\n  thumb: {handler: src/thumb.handler}\n",
         False),
        (".github/workflows/ci.yml", "on: push\n", False),
        ("Jenkinsfile", "pipeline {}\n", False),
    ]
    assert all(is_infra(rel, k8s) for rel, _, k8s in files)
    got = read_infra(files)
    assert got.warnings == []
    inf = got.infra
    [docker] = inf.dockerfiles
    assert docker.base_images == ["golang:1.22", "gcr.io/distroless/base:nonroot"]  # not the `build` stage
    assert (docker.ports, docker.healthcheck, docker.user, docker.command) == ([8080, 9090], True, "nonroot",
                                                                               "/app serve")
    assert docker.copies_from == ["./src"]
    services = {s.name: s for s in inf.compose_services}
    assert services["api"].build == "api" and services["api"].ports == [8000]
    assert services["api"].depends_on == ["cache", "db"] and services["db"].image == "postgres:16"
    assert services["db"].line == 8
    assert [(k.kind, k.name, k.namespace, k.line, k.ports) for k in inf.kubernetes] == [
        ("Deployment", "api", "shop", 1, [8000]), ("CronJob", "nightly", None, 14, [])]
    assert inf.kubernetes[1].images == ["shop/report:2"]
    assert inf.kubernetes[0].probes == ["livenessProbe command/tcp", "readinessProbe /readyz"]
    assert services["db"].healthcheck and not services["api"].healthcheck
    assert [(c.name, c.version) for c in inf.helm_charts] == [("shop", "0.4.2")]
    assert [(t.provider, t.type, t.name, t.line) for t in inf.terraform] == [
        ("aws", "aws_s3_bucket", "exports", 3), ("google", "google_sql_database_instance", "main", 7),
        ("aws", "aws_lambda_function", "resize", 15), ("module", "terraform-aws-modules/vpc/aws", "vpc", 11)]
    assert inf.terraform_by_provider == {"aws": 2, "google": 1, "module": 1}
    assert {(f.name, f.framework, f.runtime) for f in inf.serverless} == {
        ("thumb", "serverless", "nodejs20.x"), ("resize", "terraform", "python3.12")}
    assert [(c.name, c.paths) for c in inf.ci] == [("GitHub Actions", [".github/workflows/ci.yml"]),
                                                  ("Jenkins", ["Jenkinsfile"])]


def test_broken_yaml_and_hcl_are_warnings_naming_file_and_line() -> None:
    got = read_infra([
        ("infra/bad.tf", 'resource "aws_s3_bucket" "x" {\n  bucket = \n}\n', False),
        ("k8s/bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n", True),
        ("compose.yaml", "services:\n  web:\n    image: nginx\n", False),
    ])
    assert [w.split(":")[:2] for w in got.warnings] == [["infra/bad.tf", "2"], ["k8s/bad.yaml", "5"]]
    assert "not valid HCL" in got.warnings[0] and "not valid YAML" in got.warnings[1]
    assert [s.name for s in got.infra.compose_services] == ["web"]  # the good file still counts
