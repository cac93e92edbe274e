"""`bandit` as its own command line runs it, minus work whose answer is known before it is done.

- bandit tokenizes every file only to collect its `# nosec` comments. Its nosec pattern is
  case-sensitive, so a file that does not contain "nosec" has none, and it is not tokenized.
- For every test on every AST node bandit looks up the nosec comments on the node's lines. In a file
  without any, the answer is "none" without looking.
- Most AST nodes (names, loads, operators...) are of a kind no test and no visitor method looks at.
  bandit still builds each one a context and adds its zero score; here it only walks past them.
- Its debug log lines (two per test per node) are dropped before they are formatted.
The last two do not apply under --debug, which logs every node.
Usage: python bandit_fast.py <bandit arguments>  (the same as the `bandit` command).
Run as a script, so that starting it imports nothing of devops_orchestra.
"""

import sys
import tokenize
from collections.abc import Callable, Iterator
from typing import Any


class _Tokenize:
    """The tokenize module as bandit's manager uses it, yielding nothing for a file without "nosec"."""

    COMMENT = tokenize.COMMENT
    TokenError = tokenize.TokenError

    @staticmethod
    def tokenize(readline: Callable[[], bytes]) -> Iterator[tokenize.TokenInfo]:
        lines = list(iter(readline, b""))
        if not any(b"nosec" in line for line in lines):
            return iter(())
        return tokenize.tokenize(iter(lines).__next__)


class _Quiet:
    """A logger whose debug lines cost nothing."""

    def __init__(self, log: Any) -> None:
        self._log = log

    def debug(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._log, name)


def _walk_past_unwatched_nodes(visitor: Any) -> None:
    pre_visit, visit = visitor.pre_visit, visitor.visit
    watched: dict[str, bool] = {}

    def is_watched(self: Any, node: Any) -> bool:
        name = node.__class__.__name__
        if name not in watched:
            watched[name] = hasattr(self, "visit_" + name) or bool(self.testset.get_tests(name))
        return watched[name]

    def pre_visit_watched(self: Any, node: Any) -> bool:
        if is_watched(self, node):
            return pre_visit(self, node)  # type: ignore[no-any-return]
        self.depth += 1  # as pre_visit does; post_visit takes it back
        return True

    def visit_watched(self: Any, node: Any) -> None:
        if is_watched(self, node):
            visit(self, node)

    visitor.pre_visit, visitor.visit = pre_visit_watched, visit_watched


def main() -> int:
    """Run bandit's own command line with the short cuts above in place; its exit code."""

    from bandit.cli.main import main as bandit_main  # type: ignore[import-untyped]
    from bandit.core import manager, node_visitor, tester  # type: ignore[import-untyped]

    manager.tokenize = _Tokenize
    look_up = tester.BanditTester._get_nosecs_from_contexts

    def nosecs(self: Any, context: Any, test_result: Any = None) -> Any:
        return look_up(self, context, test_result) if self.nosec_lines else None

    tester.BanditTester._get_nosecs_from_contexts = nosecs
    if not {"-d", "--debug"} & set(sys.argv[1:]):
        tester.LOG = _Quiet(tester.LOG)
        node_visitor.LOG = _Quiet(node_visitor.LOG)
        _walk_past_unwatched_nodes(node_visitor.BanditNodeVisitor)
    sys.argv[0] = "bandit"
    return bandit_main()  # type: ignore[no-any-return]


if __name__ == "__main__":
    sys.exit(main())
