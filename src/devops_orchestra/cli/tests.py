"""`tests`: the testing agent from a shell. `tests gaps` runs the repository's own tests with coverage (it
executes the repository's code) and ranks what they leave unrun; `tests generate` keeps the candidate tests that
pass and add coverage (running the code with made-up arguments)."""

from __future__ import annotations

import argparse
import asyncio

from devops_orchestra.cli import output, paths


def add_tests(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The tests command and its subcommands."""
    tests = sub.add_parser("tests", help="run the repository's tests with coverage (runs its code): gaps, generate")
    commands = tests.add_subparsers(dest="tests_command", required=True)
    gaps = commands.add_parser("gaps", help="run the tests in an isolated copy; the unrun functions, riskiest first")
    paths.add_path_argument(gaps)
    gaps.add_argument("--changed-since", metavar="REF", help="weigh the lines changed since this git ref")
    gaps.add_argument("--timeout", type=float, metavar="S", help="seconds the tests may run (default: "
                                                                 "testing.timeout, else 600)")
    gaps.add_argument("--max-gaps", type=int, default=50, metavar="N")
    gaps.add_argument("--no-security", action="store_true", help="do not look for security findings in the gaps")
    output.add_format_argument(gaps)
    gaps.set_defaults(handler=_gaps)
    generate = commands.add_parser("generate", help="candidate tests for untested Python functions; those that pass "
                                                    "and add coverage are kept (written with --write)")
    paths.add_path_argument(generate)
    generate.add_argument("--target", metavar="PATH[:FUNCTION]", help="only this module or function")
    generate.add_argument("--write", action="store_true", help="write the kept tests into the repository")
    generate.add_argument("--llm", action="store_true", help="ask Claude for candidates too (ANTHROPIC_API_KEY)")
    output.add_format_argument(generate)
    generate.set_defaults(handler=_generate)


def _gaps(args: argparse.Namespace) -> int:
    from devops_orchestra.agents.testing.gaps import recorded_test_gaps
    from devops_orchestra.core.store import open_store
    from devops_orchestra.models.testing import TestGapsRequest
    from devops_orchestra.render.testing import full_text

    request = TestGapsRequest(target=paths.resolve(args.path), display_path=str(args.path),
                              changed_since=args.changed_since, timeout_s=args.timeout, max_gaps=args.max_gaps,
                              security=not args.no_security)
    report = asyncio.run(recorded_test_gaps(open_store(), request))
    output.print_report(report, args.format, full_text)
    return 1 if report.tests.outcome == "failed" else 0


def _generate(args: argparse.Namespace) -> int:
    from devops_orchestra.agents.testing.generate import generate_tests
    from devops_orchestra.render.testing import generated_text

    result = asyncio.run(generate_tests(paths.resolve(args.path), function=args.target, write=args.write,
                                        use_llm=args.llm))
    output.print_report(result, args.format, generated_text)
    return 0
