"""`detect-secrets` as its own command line runs it, minus the work on files that cannot hold a secret.

detect-secrets spends about half its time on bookkeeping around each line (code snippets, line
filters, argument injection) before it asks its plugins whether the line holds a secret. A secret is
only ever reported for a line on which some plugin's analyze_line answered, so a file whose lines no
plugin answers on yields nothing. This checks that first, with detect-secrets' own line reading and
plugins, and hands every other file to detect-secrets unchanged. Files of unknown type go straight to
detect-secrets, which may read them a second time with its eager transformers.
Usage: python secrets_fast.py <detect-secrets arguments>  (the same as the `detect-secrets` command).
Run as a script, so that starting it imports nothing of devops_orchestra.
"""

import functools
import os
import re
import sys
from collections.abc import Iterator
from typing import Any

_BACKREFERENCE = re.compile(r"\\[1-9]|\(\?P=")
_FLAG_LETTERS = {re.IGNORECASE: "i", re.MULTILINE: "m", re.DOTALL: "s", re.VERBOSE: "x"}


def _scoped(regexes: Any) -> list[str] | None:
    """Regexes as alternatives that keep their own flags, or None if that cannot be done."""
    parts = []
    for regex in regexes:
        if regex.groupindex or _BACKREFERENCE.search(regex.pattern):  # numbering would shift when combined
            return None
        flags = "".join(letter for flag, letter in _FLAG_LETTERS.items() if regex.flags & flag)
        part = f"(?{flags}:{regex.pattern})" if flags else f"(?:{regex.pattern})"
        try:
            re.compile(part)
        except re.error:
            return None
        parts.append(part)
    return parts


def main() -> int:
    # Python put this file's directory first on the path; its secrets.py would hide the stdlib module.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]

    from detect_secrets.core import scan
    from detect_secrets.main import main as detect_secrets_main
    from detect_secrets.plugins.base import RegexBasedDetector
    from detect_secrets.settings import get_plugins
    from detect_secrets.util.filetype import FileType, determine_file_type

    full_scan = scan.scan_file

    @functools.cache  # built once, after detect-secrets has read its settings
    def line_checks() -> tuple[Any, list[Any]]:
        """One regex for every plugin that reports only where one of its regexes matches; the others."""
        others, parts = [], []
        for plugin in get_plugins():
            scoped = None
            if type(plugin).analyze_string is RegexBasedDetector.analyze_string:
                scoped = _scoped(plugin.denylist)
            if scoped is None:
                others.append(plugin)
            else:
                parts += scoped
        return (re.compile("|".join(parts)) if parts else None), others

    def may_hold_secret(filename: str) -> bool:
        if determine_file_type(filename) == FileType.OTHER:
            return True
        lines = next(scan._get_lines_from_file(filename), None)  # the lines detect-secrets would read
        if lines is None:
            return True  # unreadable: let detect-secrets say so
        combined, others = line_checks()
        for number, line in enumerate(lines, start=1):
            line = line.rstrip()
            # One search stands for every regex plugin (a match is only a maybe: the full scan decides).
            if combined is not None and combined.search(line):
                return True
            for plugin in others:
                if plugin.analyze_line(filename=filename, line=line, line_number=number):
                    return True
        return False

    def scan_file(filename: str) -> Iterator[Any]:
        try:
            worth_it = may_hold_secret(filename)
        except Exception:  # anything unexpected: the full scan decides
            worth_it = True
        if worth_it:
            yield from full_scan(filename)

    scan.scan_file = scan_file  # type: ignore[assignment]
    return detect_secrets_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
