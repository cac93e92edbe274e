"""The README stays a front page: what it is, the two commands, IDE set-up, the tools; the rest is in docs/."""

import re

from tests.helpers import REPO

README_LIMIT = 8_000  # characters; longer material belongs on a page under docs/


def test_readme_fits_on_a_front_page() -> None:
    size = len((REPO / "README.md").read_text(encoding="utf-8"))
    assert size <= README_LIMIT, f"README.md is {size} characters: move detail to docs/ (limit {README_LIMIT})"


def test_readme_links_resolve() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    targets = [t.split("#")[0] for t in re.findall(r"\]\(([^)]+)\)", text) if "://" not in t]
    missing = [t for t in targets if t and not (REPO / t).exists()]
    assert not missing, f"README.md links to files that do not exist: {missing}"
