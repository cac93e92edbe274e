"""The SQL rule catalogue as Markdown: one row per rule, each with its five cells intact."""

import re

from devops_orchestra.analyzers.sql.catalog import RULES
from devops_orchestra.render.sql import rules_markdown


def test_every_rule_is_one_row_of_five_cells() -> None:
    rows = [line for line in rules_markdown().splitlines() if line.startswith("| `sql:")]
    assert len(rows) == len(RULES)
    for row in rows:
        cells = re.split(r"(?<!\\)\|", row)[1:-1]  # an escaped \| stays inside its cell
        assert len(cells) == 5, row
