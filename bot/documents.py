"""The bot's side of the document registry (reports.documents): the reader's language, the
configured time zone and the clock, handed to the renderers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.config import Settings
from reports.documents import DocumentContext

from .services import Services
from .texts import Texts


def document_context(services: Services, language: str) -> DocumentContext:
    return reader_context(services.settings, services.texts, language, services.clock.now())


def reader_context(
    settings: Settings, texts: Texts, language: str, now: dt.datetime
) -> DocumentContext:
    """What a renderer needs, from settings and catalogues alone (a worker process has no
    services)."""

    def text(key: str, /, **params: Any) -> str:
        return texts.get(language, key, **params)

    return DocumentContext(
        timezone=settings.timezone,
        now=now,
        text=text,
        company=settings.company_name,
        pass_mark=settings.vendor_pass_mark,
    )
