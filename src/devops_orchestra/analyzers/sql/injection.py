"""SQL injection in Python: SQL text built by formatting that reaches a query call, followed through the
variables of one function (what a one-line pattern cannot see). Also collects literal SQL for the query rules."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from dataclasses import dataclass, field

from devops_orchestra.analyzers.sql.pyast import callee, hit
from devops_orchestra.analyzers.sql.statements import SqlHit

SINK_METHODS = frozenset({"execute", "executemany", "executescript", "exec_driver_sql", "raw", "extra", "mogrify"})
SINK_FUNCTIONS = frozenset({"text", "read_sql", "read_sql_query"})
SQL_WORDS = re.compile(r"(?is)\b(select\s.+\sfrom|insert\s+into|update\s.+\sset|delete\s+from|where\s|order\s+by|"
                       r"values\s*\(|(create|drop|alter|truncate)\s+table)")
FIX = {
    "execute": 'cursor.execute("SELECT ... WHERE id = %s", (value,))',
    "text": 'text("SELECT ... WHERE id = :id").bindparams(id=value)',
    "raw": 'Model.objects.raw("SELECT ... WHERE id = %s", [value])',
    "extra": 'queryset.extra(where=["id = %s"], params=[value]), or better a Q/F expression',
}


@dataclass
class _Scope:
    assigned: dict[str, list[ast.expr]] = field(default_factory=lambda: defaultdict(list))


def check(tree: ast.Module, source: str) -> tuple[list[SqlHit], list[tuple[str, int]]]:
    """Injection hits, and (SQL, line) for every constant SQL string that reaches a query call."""
    hits: list[SqlHit] = []
    literals: list[tuple[str, int]] = []
    for scope_node in [tree, *(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))]:
        scope = _collect(scope_node)
        for call in _own_calls(scope_node):
            name = callee(call)
            if not ((name in SINK_METHODS and isinstance(call.func, ast.Attribute)) or name in SINK_FUNCTIONS):
                continue
            values = [*call.args, *(k.value for k in call.keywords)] if name == "extra" else call.args[:1]
            for value in values:
                how = _built(value, scope, depth=0, is_sql=name == "extra")  # extra()'s every argument is SQL
                if how:
                    hits.append(hit(call, source, "injection", f"SQL built with {how} reaches {name}(): a value "
                                    "in it can change the query.", FIX.get(name, FIX["execute"])))
                    break
                if isinstance(value, ast.Constant) and isinstance(value.value, str) and SQL_WORDS.search(value.value):
                    literals.append((value.value, value.lineno))
    return hits, literals


def _own_calls(scope: ast.AST) -> list[ast.Call]:
    """Calls in this scope, not in nested functions (they are scopes of their own)."""
    out: list[ast.Call] = []
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Call):
            out.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return out


def _collect(scope: ast.AST) -> _Scope:
    found = _Scope()
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found.assigned[target.id].append(node.value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            found.assigned[node.target.id].append(node.value)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and isinstance(node.op, ast.Add):
            # q += x: the string grows by whatever x is
            found.assigned[node.target.id].append(ast.BinOp(ast.Name(node.target.id), ast.Add(), node.value))
        stack.extend(ast.iter_child_nodes(node))
    return found


def _built(node: ast.expr, scope: _Scope, depth: int, is_sql: bool) -> str | None:
    """How a SQL string was assembled from non-constant parts (None: it was not).

    is_sql: the value is SQL wherever it goes (extra()); otherwise its text must read like SQL.
    """
    if depth > 4:
        return None
    if isinstance(node, ast.JoinedStr):
        if any(isinstance(v, ast.FormattedValue) for v in node.values) and (is_sql or SQL_WORDS.search(_text(node))):
            return "an f-string"
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        if (is_sql or _is_sql_text(node.left, scope, depth)) and not isinstance(node.right, ast.Constant):
            return "%-formatting"
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        parts = _operands(node)
        if (is_sql or any(_is_sql_text(p, scope, depth) for p in parts)) and any(
                _dynamic(p, scope, depth) for p in parts):
            return "string concatenation"
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        if (is_sql or _is_sql_text(node.func.value, scope, depth)) and (node.args or node.keywords):
            return ".format()"
    elif isinstance(node, ast.Name):
        for value in scope.assigned.get(node.id, []):
            how = _built(value, scope, depth + 1, is_sql)
            if how:
                return how
    elif isinstance(node, (ast.List, ast.Tuple)):
        return next((h for e in node.elts if (h := _built(e, scope, depth + 1, is_sql))), None)
    elif isinstance(node, ast.Dict):
        return next((h for v in node.values if v is not None and (h := _built(v, scope, depth + 1, is_sql))), None)
    return None


def _operands(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _operands(node.left) + _operands(node.right)
    return [node]


def _dynamic(node: ast.expr, scope: _Scope, depth: int) -> bool:
    if isinstance(node, ast.Constant):
        return False
    if isinstance(node, ast.Name) and scope.assigned.get(node.id):
        values = scope.assigned[node.id]
        return any(_dynamic(v, scope, depth + 1) for v in values) if depth < 4 else True
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    return True


def _is_sql_text(node: ast.expr, scope: _Scope, depth: int) -> bool:
    """A string (constant, f-string or a variable holding one) that reads like SQL."""
    if isinstance(node, ast.Name) and depth < 4:
        return any(_is_sql_text(v, scope, depth + 1) for v in scope.assigned.get(node.id, []))
    if isinstance(node, ast.BinOp):
        return any(_is_sql_text(p, scope, depth + 1) for p in _operands(node))
    return bool(SQL_WORDS.search(_text(node)))


def _text(node: ast.expr) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else " x "
                       for v in node.values)
    return ""
