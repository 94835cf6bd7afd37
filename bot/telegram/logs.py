"""Keep the bot token out of every log line, at every level, including logged tracebacks.

httpx logs each request URL, and Bot API URLs hold the token (`.../bot<TOKEN>/getMe`); exceptions
can quote URLs too. The HTTP loggers are held at WARNING, and a filter on every root handler
rewrites each record — message, arguments and traceback — with the secrets masked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from urllib.parse import quote

MASK = "<redacted>"


class Redactor(logging.Filter):
    """A handler filter that masks secrets in a record's message and traceback."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__("redactor")
        variants: set[str] = set()
        for secret in secrets:
            if not secret:
                continue
            variants |= {secret, quote(secret, safe="")}
            _, _, tail = secret.partition(":")
            if len(tail) >= 8:  # the secret half of a bot token, should it appear alone
                variants.add(tail)
        self.secrets = sorted(variants, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """The text with every secret replaced by `<redacted>`."""
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is still logged, as its raw msg
            message = str(record.msg)
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def protect(secrets: Iterable[str], logger: logging.Logger | None = None) -> Redactor:
    """Quiet the HTTP loggers and put a `Redactor` on every handler of `logger` (default: root)."""
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    redactor = Redactor(secrets)
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, Redactor) and f.secrets == redactor.secrets for f in handler.filters):
            handler.addFilter(redactor)
    return redactor
