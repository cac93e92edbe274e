"""Query anti-patterns: statements that are correct but slow, fragile or wrong on NULLs."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from devops_orchestra.analyzers.sql.statements import SqlHit, Statement

LARGE_OFFSET = 1_000
RANDOM_FUNCTIONS = frozenset({"random", "rand", "newid"})
COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Like, exp.ILike, exp.In)


def check(stmt: Statement) -> list[SqlHit]:
    """The query anti-patterns in one parsed statement."""
    return [] if stmt.tree is None else [SqlHit(rule, stmt.line, stmt.end_line, msg, fix, stmt.sql)
                                         for rule, msg, fix in _rules(stmt.tree)]


def _rules(tree: exp.Expr) -> Iterator[tuple[str, str, str | None]]:
    if isinstance(tree, exp.Update) and tree.args.get("where") is None:
        yield "update-without-where", "This UPDATE has no WHERE: it changes every row.", None
    if isinstance(tree, exp.Delete) and tree.args.get("where") is None:
        yield "delete-without-where", "This DELETE has no WHERE: it deletes every row.", None
    for select in tree.find_all(exp.Select):
        yield from _select(select)
    for like in tree.find_all(exp.Like, exp.ILike):
        pattern = like.expression
        if isinstance(pattern, exp.Literal) and pattern.is_string and pattern.this.startswith("%"):
            yield "leading-wildcard-like", f"LIKE '{pattern.this}' starts with %: no index can serve it.", None
    for not_ in tree.find_all(exp.Not):
        if isinstance(not_.this, exp.In) and not_.this.args.get("query") is not None:
            column = not_.this.this.sql()
            yield ("not-in-subquery", "NOT IN over a subquery is never true once the subquery returns a NULL.",
                   f"WHERE NOT EXISTS (SELECT 1 FROM ... WHERE ... = {column})")
    for where in tree.find_all(exp.Where):
        yield from _functions_on_columns(where)


def _select(select: exp.Select) -> Iterator[tuple[str, str, str | None]]:
    if any(isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
           for e in select.expressions) and not isinstance(select.parent, exp.Exists):
        yield "select-star", "SELECT * returns every column, present and future.", None
    joins = select.args.get("joins") or []
    comma = [j for j in joins if not (j.args.get("on") or j.args.get("using") or j.args.get("kind")
                                      or j.args.get("side"))]
    if comma and not _links_tables(select.args.get("where")):
        yield ("implicit-cross-join", "Tables are listed with commas and nothing joins them: a cross product.",
               None)
    for ordered in select.find_all(exp.Ordered):
        if isinstance(ordered.this, exp.Rand) or (isinstance(ordered.this, exp.Anonymous)
                                                  and ordered.this.name.lower() in RANDOM_FUNCTIONS):
            yield "order-by-random", "ORDER BY RANDOM() sorts the whole result to pick a few rows.", None
    offset = select.args.get("offset")
    skipped = offset.expression if isinstance(offset, exp.Offset) else None
    if isinstance(skipped, exp.Literal) and skipped.is_int and int(skipped.this) >= LARGE_OFFSET:
        yield ("large-offset", f"OFFSET {skipped.this} reads and discards {skipped.this} rows on every page.",
               "WHERE id > :last_seen_id ORDER BY id LIMIT :page_size")


def _links_tables(where: exp.Expr | None) -> bool:
    """Is there an equality between columns of two different tables (an old-style join condition)?"""
    if where is None:
        return False
    for eq in where.find_all(exp.EQ):
        left, right = eq.this, eq.expression
        if isinstance(left, exp.Column) and isinstance(right, exp.Column) and (
                left.table != right.table or not left.table):  # unqualified: assume each names its own table
            return True
    return False


def _functions_on_columns(where: exp.Where) -> Iterator[tuple[str, str, str | None]]:
    for cmp in where.find_all(*COMPARISONS):
        side = cmp.this
        if isinstance(side, exp.Func) and not isinstance(side, exp.Column) and isinstance(side.this, exp.Column):
            yield ("function-on-column", f"{side.sql()} in WHERE hides {side.this.sql()} from its index.",
                   f"CREATE INDEX CONCURRENTLY ON <table> (({side.sql()}));")
