"""Small readers over Python's ast shared by the Alembic, Django and injection checks (no code is run)."""

from __future__ import annotations

import ast

from devops_orchestra.analyzers.sql.statements import SqlHit


def kwarg(call: ast.Call, name: str) -> ast.expr | None:
    """The value of a keyword argument of call, or None."""
    return next((k.value for k in call.keywords if k.arg == name), None)


def is_true(node: ast.expr | None) -> bool:
    """Whether node is the literal True."""
    return isinstance(node, ast.Constant) and node.value is True


def is_false(node: ast.expr | None) -> bool:
    """Whether node is the literal False."""
    return isinstance(node, ast.Constant) and node.value is False


def string(node: ast.expr | None) -> str | None:
    """The value of a string literal, or None for anything else."""
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def arg(call: ast.Call, index: int, name: str) -> ast.expr | None:
    """A parameter given by position or by keyword."""
    return call.args[index] if len(call.args) > index else kwarg(call, name)


def callee(call: ast.Call) -> str:
    """The called name: `op.add_column` -> 'add_column', `migrations.AddField` -> 'AddField'."""
    f = call.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def hit(node: ast.AST, source: str, rule: str, message: str, fix: str | None = None) -> SqlHit:
    """A hit on node's lines, with its source code as the context."""
    end = getattr(node, "end_lineno", None) or node.lineno  # type: ignore[attr-defined]
    return SqlHit(rule, node.lineno, end, message, fix,  # type: ignore[attr-defined]
               ast.get_source_segment(source, node) or "")


def sql_in(node: ast.expr | None) -> tuple[str, int] | None:
    """A literal SQL string and the line its text starts on (for op.execute / RunSQL / cursor.execute)."""
    text = string(node)
    if text is None or node is None:
        return None
    return text, node.lineno
