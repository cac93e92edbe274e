"""`detect-secrets` as its own command line runs it, minus the work on files that cannot hold a secret.

detect-secrets spends about half its time on bookkeeping around each line (code snippets, line
filters, argument injection) before it asks its plugins whether the line holds a secret. A secret is
only ever reported for a line on which some plugin's analyze_line answered, so a file whose lines no
plugin answers on yields nothing. This checks that first, with detect-secrets' own line reading and
plugins, and hands every other file to detect-secrets unchanged. It reads every set of lines that
detect-secrets reads: the file (or its transformed lines), then what its eager transformers make of it
(a file of unknown type read as INI, say).

Asking every plugin about every line is itself most of the cost, so each plugin is asked only about the
lines that pass its gate: a cheap search that every line the plugin could answer on must match (a
literal its regexes cannot match without, or for the entropy plugins a quoted string long enough to
pass their limit). A gate can only let too much through, never hold a secret back.

One of detect-secrets' line filters searches with a regex that takes cubic time on some ordinary lines;
it is replaced by a function that gives the same answer in linear time.
Usage: python secrets_fast.py <detect-secrets arguments>  (the same as the `detect-secrets` command).
Run as a script, so that starting it imports nothing of devops_orchestra.
"""

import functools
import math
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from re import _constants as sre
from re import _parser as sre_parse
from typing import Any

Literals = frozenset[str] | None  # strings one of which every match contains; None: nothing known
Sieve = Callable[[list[str]], Iterable[str]]  # a file's lines -> those worth asking a plugin about


def _better(a: Literals, b: Literals) -> Literals:
    """The more selective of two requirements: the longer shortest string, then the fewer strings."""
    if a is None or b is None:
        return a if b is None else b
    return min(a, b, key=lambda s: (-min(map(len, s)), len(s)))


def _required(items: Iterable[tuple[Any, Any]]) -> Literals:
    """Literals one of which every match of this parsed regex sequence contains."""
    best: Literals = None
    run: list[str] = []
    for op, av in [*items, (None, None)]:  # a sentinel closes the last literal run
        if op is sre.LITERAL:
            run.append(chr(av))
            continue
        if run:
            best = _better(best, frozenset({"".join(run)}))
            run = []
        needed: Literals = None
        if op is sre.SUBPATTERN and not av[1] and not av[2]:  # a group that changes no flags
            needed = _required(av[3])
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT) and av[0] >= 1:
            needed = _required(av[2])
        elif op is sre.BRANCH:
            branches = [_required(branch) for branch in av[1]]
            if all(branches):
                needed = frozenset().union(*branches)  # type: ignore[arg-type]
        best = _better(best, needed)
    return best


def literal_gate(patterns: Iterable[re.Pattern[str]]) -> re.Pattern[str] | None:
    """A search every line some pattern matches must also match, or None when a pattern gives no hold."""
    literals: set[str] = set()
    ignore_case = 0
    for pattern in patterns:
        needed = _required(sre_parse.parse(pattern.pattern, pattern.flags))
        if not needed or not all(needed):
            return None
        literals |= needed
        ignore_case |= pattern.flags & re.IGNORECASE  # too loose for a case-sensitive one: still safe
    return re.compile("|".join(map(re.escape, sorted(literals))), ignore_case)


def entropy_gate(plugin: Any) -> re.Pattern[str]:
    """A quoted run of the plugin's characters long enough to pass its entropy limit: a string of n
    characters has at most log2(n) bits each. One character less than that, for rounding's sake."""
    shortest = max(1, math.floor(2 ** plugin.entropy_limit))
    return re.compile(rf"['\"][{re.escape(plugin.charset)}]{{{shortest},}}['\"]")


def regex_sieve(patterns: list[re.Pattern[str]]) -> Sieve:
    """The lines some pattern matches, each searched for only where the literal gate lets it."""
    gate = literal_gate(patterns)

    def candidates(lines: list[str]) -> Iterator[str]:
        gated = list(filter(gate.search, lines)) if gate else lines
        for pattern in patterns:
            yield from filter(pattern.search, gated)

    return candidates


def sieve(plugin: Any) -> Sieve:
    """The lines of a file worth asking this plugin about. A plugin whose way of reading a line is not
    the one its detect-secrets class has (a custom plugin, say) is asked about every line."""
    from detect_secrets.plugins import keyword
    from detect_secrets.plugins.base import BasePlugin, RegexBasedDetector
    from detect_secrets.plugins.high_entropy_strings import HighEntropyStringsPlugin
    from detect_secrets.plugins.jwt import JwtTokenDetector  # filters what its regex finds

    kind = type(plugin)
    if (kind.analyze_line, kind.analyze_string) == (HighEntropyStringsPlugin.analyze_line,
                                                    HighEntropyStringsPlugin.analyze_string):
        return functools.partial(filter, entropy_gate(plugin).search)
    if kind is keyword.KeywordDetector:  # its regexes for every file type
        gate = literal_gate({p for table in keyword.REGEX_BY_FILETYPE.values() for p in table})
        return functools.partial(filter, gate.search) if gate else list
    if kind.analyze_line is BasePlugin.analyze_line and kind.analyze_string in (
            RegexBasedDetector.analyze_string, JwtTokenDetector.analyze_string):
        return regex_sieve(plugin.denylist)  # these report only what their regexes find
    return list


# The regex of detect-secrets 1.5.0's filters.heuristic.is_indirect_reference: on long runs of spaces
# around an "=" it backtracks in cubic time (0.4 s for one 500-character line, 3.7 s at 1000; upstream
# issue #868).
INDIRECT_REFERENCE = r"([^\v=!:]*)\s*(:=?|[!=]{1,3})\s*([\w.-]+[\[\(][^\v]*[\]\)])"
_OPENING = re.compile(r"[:=!]\s*[\w.-]+[\[(]")  # an operator's last character, a name, an opening bracket


def is_indirect_reference(line: str) -> bool:
    """detect-secrets 1.5.0's is_indirect_reference, in linear time: the same answer on every line.

    Its regex's first group may be empty and a one-character operator fits, so it matches exactly where
    some ':', '=' or '!' is followed by spaces, a name and '[' or '(' (an opening), then by ']' or ')'
    before the next vertical tab. An opening holds no ':', '=' or '!' and ends at the first bracket after
    its operator, so finditer meets every one; openings before the same vertical tab share what follows.
    """
    if len(line) > 1000:  # detect-secrets' own limit
        return False
    searched = -1  # the end of the last stretch searched in vain for a closing bracket
    for opening in _OPENING.finditer(line):
        start = opening.end()
        if start <= searched:
            continue  # the rest of a stretch already searched
        end = line.find("\v", start)
        end = len(line) if end < 0 else end
        if line.find(")", start, end) >= 0 or line.find("]", start, end) >= 0:
            return True
        searched = end
    return False


def use_linear_indirect_reference() -> bool:
    """Put is_indirect_reference in detect-secrets' place, where its filter registry looks it up by dotted
    path, when the installed detect-secrets is the one it answers for; whether it did."""
    from detect_secrets import settings
    from detect_secrets.__version__ import VERSION
    from detect_secrets.filters import heuristic

    regex = heuristic._get_indirect_reference_regex()
    if (VERSION, regex.pattern, regex.flags) != ("1.5.0", INDIRECT_REFERENCE, re.UNICODE):
        return False
    heuristic.is_indirect_reference = is_indirect_reference
    settings.get_filters.cache_clear()  # in case anything resolved the filters already
    return True


def main() -> int:
    """Run detect-secrets' own command line, without its work on lines no plugin answers on; its exit code."""

    from detect_secrets.core import scan
    from detect_secrets.main import main as detect_secrets_main
    from detect_secrets.settings import get_plugins

    full_scan = scan.scan_file

    @functools.cache  # built once, after detect-secrets has read its settings
    def sieved_plugins() -> list[tuple[Sieve, Any]]:
        return [(sieve(plugin), plugin) for plugin in get_plugins()]

    def may_hold_secret(filename: str) -> bool:
        read = False
        # the lines detect-secrets would read: the file as read (or transformed), then as its eager
        # transformers read it (an unknown type parsed as INI, say)
        for lines in scan._get_lines_from_file(filename):
            read = True
            lines = [line.rstrip() for line in lines]
            for candidates, plugin in sieved_plugins():
                for line in candidates(lines):
                    if plugin.analyze_line(filename=filename, line=line):
                        return True
        return not read  # unreadable: let detect-secrets say so

    def scan_file(filename: str) -> Iterator[Any]:
        try:
            worth_it = may_hold_secret(filename)
        except Exception:  # anything unexpected: the full scan decides
            worth_it = True
        if worth_it:
            yield from full_scan(filename)

    scan.scan_file = scan_file  # type: ignore[assignment]
    use_linear_indirect_reference()
    return detect_secrets_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
