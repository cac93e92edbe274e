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

import os
import sys
from collections.abc import Iterator
from typing import Any


def main() -> int:
    # Python put this file's directory first on the path; its secrets.py would hide the stdlib module.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]

    from detect_secrets.core import scan
    from detect_secrets.main import main as detect_secrets_main
    from detect_secrets.settings import get_plugins
    from detect_secrets.util.filetype import FileType, determine_file_type

    full_scan = scan.scan_file

    def may_hold_secret(filename: str) -> bool:
        if determine_file_type(filename) == FileType.OTHER:
            return True
        lines = next(scan._get_lines_from_file(filename), None)  # the lines detect-secrets would read
        if lines is None:
            return True  # unreadable: let detect-secrets say so
        plugins = get_plugins()
        for number, line in enumerate(lines, start=1):
            line = line.rstrip()
            for plugin in plugins:
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
