"""Errors a user can cause or fix; each carries the one-line hint that fixes it.

The faces (CLI, terminal chat, Telegram) print `str(error)` and the hint instead of a stack trace.
"""

from __future__ import annotations


class ReportBotError(Exception):
    """Base of the errors meant for the user rather than the developer."""

    hint: str = ""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    def describe(self) -> str:
        """Message and hint on one line each, as the CLI prints them."""
        return f"error: {self}" + (f"\nhint: {self.hint}" if self.hint else "")


class IndexUnavailable(ReportBotError):
    """The index is missing, damaged, or built with another model or schema."""

    hint = "build it with: python scripts/build_index.py --full"


class ArticleError(ReportBotError):
    """An article that cannot be read or parsed; the build skips it and says why."""


class ConfigError(ReportBotError):
    """A setting or argument that cannot work."""
