"""structlog to stderr: stdout is the MCP channel in stdio mode."""

from __future__ import annotations

import logging
import sys

import structlog


class _Stderr:
    """sys.stderr as it is when a line is written, not when logging was configured: a caller (a test's
    capture, an embedding program) may have replaced and closed the one there was then."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(level: str = "INFO") -> None:
    """Send structlog and logging to stderr at this level: readable on a terminal, JSON lines otherwise."""
    renderer: structlog.types.Processor = (
        structlog.dev.ConsoleRenderer() if sys.stderr.isatty() else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=_Stderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(stream=_Stderr(), level=level)
