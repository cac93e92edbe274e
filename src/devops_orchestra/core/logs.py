"""structlog to stderr: stdout is the MCP channel in stdio mode."""

from __future__ import annotations

import logging
import sys


def _import_structlog_without_rich() -> None:
    """structlog imports rich, when installed, for its console renderer's tracebacks; JSON lines (stderr not a
    terminal: an IDE's server) never use it, and it cost serve's start ~20 ms. rich stays importable after."""
    if "structlog" in sys.modules or "rich" in sys.modules or sys.stderr is None or sys.stderr.isatty():
        return
    sys.modules["rich"] = None  # type: ignore[assignment]  # an import of it fails: structlog goes without
    try:
        import structlog  # noqa: F401
    finally:
        del sys.modules["rich"]


_import_structlog_without_rich()
import structlog  # noqa: E402


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
