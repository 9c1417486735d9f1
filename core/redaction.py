"""Secrets never reach a log: the bot token and invitation codes are masked in every record.

python-telegram-bot logs request URLs (which hold the token) and whole updates (which hold a
`/start CODE`) at DEBUG, and a failed start-up's traceback names the token. The formatter below
is installed on every handler of the root logger, and the excepthook on uncaught exceptions, so
whatever logger writes a secret, it is masked.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Iterable
from types import TracebackType

MASK = "***"
# a bot token anywhere (also one we were not told of), and an invitation code after /start or
# in a deep link's start= parameter
_PATTERNS = (
    re.compile(r"\d{3,}:[A-Za-z0-9_-]{20,}"),
    re.compile(r"(?<=/start )\s*[A-Za-z0-9_-]{6,}"),
    re.compile(r"(?<=start=)[A-Za-z0-9_-]{6,}"),
)


class Redactor:
    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        for pattern in _PATTERNS:
            text = pattern.sub(MASK, text)
        return text


class RedactingFormatter(logging.Formatter):
    """A formatter whose output, traceback included, has every secret masked."""

    def __init__(self, redact: Redactor, fmt: str | None = None) -> None:
        super().__init__(fmt)
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self._redact(super().format(record))


def install(redact: Redactor, fmt: str) -> None:
    """Mask secrets on every root handler and in tracebacks nobody caught."""
    for handler in logging.getLogger().handlers:
        handler.setFormatter(RedactingFormatter(redact, fmt))

    def excepthook(
        kind: type[BaseException], error: BaseException, tb: TracebackType | None
    ) -> None:
        sys.stderr.write(redact("".join(traceback.format_exception(kind, error, tb))))

    sys.excepthook = excepthook
