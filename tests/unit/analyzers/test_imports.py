"""The import graph: resolution per language, cycles at import time only, fan-in/out, layering rules."""

from pathlib import Path

from devops_orchestra.analyzers.imports import Graph, build_graph
from devops_orchestra.analyzers.layers import load_rules
from devops_orchestra.analyzers.sources import analyse
from tests.helpers import write

PY = {
    "shop/__init__.py": "",
    "shop/api/__init__.py": "",
    "shop/api/routes.py": "from shop.domain import orders\nfrom ..services import billing\nimport flask\nimport os\n",
    "shop/services/__init__.py": "",
    "shop/services/billing.py": "from shop.domain.orders import Order\nimport stripe\n",
    "shop/domain/__init__.py": "",
    "shop/domain/orders.py": (
        "from typing import TYPE_CHECKING\n"
        "from . import money\n"
        "if TYPE_CHECKING:\n    from shop.services.billing import Invoice\n"
        "def total():\n    from shop.api import routes  # lazy, and a layer violation\n    return routes\n"
    ),
    "shop/domain/money.py": "from shop.domain import orders\n",
}


def graph_of(files: dict[str, str], go_modules: dict[str, str] | None = None) -> Graph:
    facts = [analyse(rel, _language(rel), text) for rel, text in files.items()]
    return build_graph(facts, go_modules or {})


def _language(rel: str) -> str:
    suffix = rel.rsplit(".", 1)[1]
    return {"py": "python", "js": "javascript", "ts": "typescript", "tsx": "typescript", "go": "go"}[suffix]


def test_python_imports_resolve_absolute_relative_and_from_imports() -> None:
    g = graph_of(PY)
    edges = {(s, t) for s, t in g.edges}
    assert ("shop/api/routes.py", "shop/domain/orders.py") in edges  # from shop.domain import orders
    assert ("shop/api/routes.py", "shop/services/billing.py") in edges  # from ..services import billing
    assert ("shop/domain/orders.py", "shop/domain/money.py") in edges  # from . import money
    assert g.names["shop/domain/orders.py"] == "shop.domain.orders"
    assert {(d.name, d.where.path) for d in g.external} == {("flask", "shop/api/routes.py"),
                                                            ("stripe", "shop/services/billing.py")}  # not os


def test_cycles_count_only_imports_that_run_at_import_time() -> None:
    """orders <-> money is a cycle; orders -> routes (in a function) and -> billing (TYPE_CHECKING) are not."""
    assert graph_of(PY).cycles() == [["shop/domain/money.py", "shop/domain/orders.py", "shop/domain/money.py"]]


def test_fan_in_fan_out_and_packages() -> None:
    summary = graph_of(PY).summary()
    assert summary.most_depended_upon[0].module == "shop.domain.orders"
    assert summary.most_depended_upon[0].fan_in == 3
    assert summary.packages == ["shop", "shop/api", "shop/domain", "shop/services"]
    assert {(e.source, e.target) for e in summary.package_edges} == {
        ("shop/api", "shop/domain"), ("shop/api", "shop/services"), ("shop/services", "shop/domain"),
        ("shop/domain", "shop/api"), ("shop/domain", "shop/services")}


def test_javascript_and_go_imports() -> None:
    g = graph_of({
        "web/src/index.ts": 'import { api } from "./lib/api";\nimport React from "react";\nimport fs from "node:fs";\n'
                            'const util = require("../shared/util.js");\nexport * from "./lib";\n'
                            'const lazy = () => import("./pages/home");\n',
        "web/src/lib/api.ts": 'import axios from "@scope/http/client";\n',
        "web/src/lib/index.ts": "",
        "web/src/pages/home.tsx": "",
        "web/shared/util.js": "",
        "svc/cmd/api/main.go": 'package main\n\nimport (\n\t"fmt"\n\tstore "example.com/svc/internal/store"\n'
                               '\t"github.com/lib/pq"\n)\n\nfunc main() {}\n',
        "svc/internal/store/db.go": 'package store\n\nimport "example.com/svc/internal/model"\n',
        "svc/internal/model/m.go": "package model\n",
    }, go_modules={"example.com/svc": "svc"})
    edges = {(s, t): [i.line for i in e.imports] for (s, t), e in g.edges.items()}
    assert edges == {
        ("web/src/index.ts", "web/src/lib/api.ts"): [1],
        ("web/src/index.ts", "web/shared/util.js"): [4],
        ("web/src/index.ts", "web/src/lib/index.ts"): [5],
        ("web/src/index.ts", "web/src/pages/home.tsx"): [6],
        ("svc/cmd/api/", "svc/internal/store/"): [5],
        ("svc/internal/store/", "svc/internal/model/"): [3],
    }
    assert not g.edges[("web/src/index.ts", "web/src/pages/home.tsx")].top_level  # dynamic import()
    assert {d.name for d in g.external} == {"react", "@scope/http", "github.com/lib/pq"}


def test_layer_rules_from_config(tmp_path: Path) -> None:
    write(tmp_path, {"devops_orchestra.yaml": (
        "security: {fail_on: high}  # another agent's section: not ours to judge\n"
        "architecture:\n  layers:\n    api: [shop/api]\n    services: shop.services\n    domain: [shop/domain/]\n"
        "  forbid:\n    - {from: api, to: domain}\n")})
    rules, warnings = load_rules(tmp_path)
    assert warnings == [] and rules is not None
    assert rules.layer_of("shop/services/billing.py", "shop.services.billing") == "services"
    assert rules.violation("domain", "api") and rules.violation("domain", "services")
    assert rules.violation("api", "domain")  # the explicit rule
    assert rules.violation("services", "domain") is None and rules.violation("api", "services") is None


def test_malformed_layer_config_is_a_warning(tmp_path: Path) -> None:
    write(tmp_path, {"devops_orchestra.yaml": "architecture:\n  layers: [\n"})
    rules, warnings = load_rules(tmp_path)
    assert rules is None and warnings[0].startswith("devops_orchestra.yaml:3: not valid YAML")
    write(tmp_path, {"devops_orchestra.yaml": "architecture:\n  layers:\n    api: 3\n    core: [core]\n"
                                              "  forbid: [{from: core, to: nowhere}]\n"})
    rules, warnings = load_rules(tmp_path)
    assert rules is not None and [n for n, _ in rules.layers] == ["core"]
    assert len(warnings) == 2 and "layers.api" in warnings[0] and "forbid" in warnings[1]
    assert load_rules(tmp_path / "nowhere") == (None, [])


def test_test_code_imports_read_by_line_match_the_ast() -> None:
    """Test files skip the AST; what the line reader finds there must be what the AST finds."""
    from devops_orchestra.analyzers.sources import python_imports_by_line

    source = ("import os, sys as system\nfrom . import a\nfrom ..pkg.mod import (\n    x,\n    y as z,\n)\n"
              "from m import *  # noqa\ntry:\n    import fast\nexcept ImportError:\n    fast = None\n"
              "def f():\n    from pkg import lazy\n")
    by_ast = analyse("pkg/mod.py", "python", source).imports
    by_line = python_imports_by_line(source)
    assert [(i.spec, i.line, i.level, i.names) for i in by_line] == [(i.spec, i.line, i.level, i.names)
                                                                     for i in by_ast]
    assert [i.top_level for i in by_line] == [True, True, True, True, True, False, False]  # indented: lazy
    assert analyse("tests/test_x.py", "python", source, is_test=True).imports == by_line


def test_analysing_a_package_directory_itself_keeps_its_name() -> None:
    """Pointed at shop/ (which has an __init__.py), `from shop.domain import orders` still resolves."""
    inner = {rel.removeprefix("shop/"): text for rel, text in PY.items()}
    facts = [analyse(rel, "python", text) for rel, text in inner.items()]
    g = build_graph(facts, {}, base_name="shop")
    assert g.names["domain/orders.py"] == "shop.domain.orders"
    assert ("api/routes.py", "domain/orders.py") in g.edges
    assert {d.name for d in g.external} == {"flask", "stripe"}
