"""Secrets and personal data never reach a log: the bot token, passwords in database URLs,
invitation codes, phone numbers and e-mail addresses are masked in every record.

python-telegram-bot logs request URLs (which hold the token) and whole updates (which hold a
`/start CODE`, a consumer's phone and e-mail) at DEBUG, SQLAlchemy's errors quote their
parameters, and a failed start-up's traceback names the token. A code follows `/start` however
the client wrote it: `/start@botname CODE`, a no-break space, a new line, and in a dump that
space or line as an escape (`\\n`, `\\xa0`, `\\u00a0`). The formatter below
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
# what separates /start from its code: any space or line break, also written as an escape
_SEPARATOR = r"(?:\s|\\[ntr]|\\x[0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4})+"
# (pattern, what stays of the match: the groups before the masked part)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # a bot token anywhere (also one we were not told of)
    (re.compile(r"\d{3,}:[A-Za-z0-9_-]{20,}"), ""),
    # an invitation code after /start (or /start@botname), or in a deep link's start=
    (re.compile(rf"(/start(?:@\w+)?{_SEPARATOR})[A-Za-z0-9_-]{{4,}}"), r"\1"),
    (re.compile(r"(start=)[A-Za-z0-9_-]{4,}"), r"\1"),
    # a password in a database URL (scheme://user:password@host)
    (re.compile(r"(\w[\w+.-]*://[^:/@\s]*:)[^@\s]+(?=@)"), r"\1"),
    # the parameters SQLAlchemy quotes in its errors
    (re.compile(r"(\[parameters: ).*?(?=\]\n|\]$|\]\s*\(Background)", re.S), r"\1"),
    # e-mail addresses
    (re.compile(r"[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"), ""),
    # phone numbers: mainland mobiles (11 digits from 13 to 19, spaced or not), a number with
    # its country code, a landline with its area code; not ids (a run of digits otherwise)
    (re.compile(r"(?<![\w+])1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)"), ""),
    (re.compile(r"(?<!\w)\+\d{1,3}[ -]?\(?\d[\d ()-]{5,}\d"), ""),
    (re.compile(r"(?<![\w+])\(?0\d{2,3}\)?[ -]\d{3,4}[ -]?\d{4}(?!\d)"), ""),
)


class Redactor:
    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        for pattern, kept in _PATTERNS:
            text = pattern.sub(kept + MASK, text)
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
