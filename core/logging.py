"""Log format and levels, the same in every process."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from .redaction import Redactor, install

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str, secrets: Iterable[str | None] = ()) -> Redactor:
    """Format and levels; `secrets` (the bot token), invitation codes, passwords, phones and
    e-mail addresses are masked in every record and uncaught traceback. Returns the redactor
    for messages printed outside logging."""
    logging.basicConfig(format=LOG_FORMAT, level=level)
    redact = Redactor(secrets)
    install(redact, LOG_FORMAT)
    # httpx logs every request URL, and a Bot API URL contains the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("tornado.access").setLevel(logging.WARNING)  # the emulator's request log
    # SQLAlchemy logs every statement's parameters (names, phones, codes) from INFO down
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    # aiosqlite logs each operation of its thread at DEBUG, the engine's closing included,
    # which could land after the process's last word ("the Bot API cannot be reached")
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
    return redact
