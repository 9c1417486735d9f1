"""The bot's side of the document registry (reports.documents): the reader's language, the
configured time zone and the clock, handed to the renderers."""

from __future__ import annotations

from functools import partial

from reports.documents import DocumentContext

from .services import Services


def document_context(services: Services, language: str) -> DocumentContext:
    return DocumentContext(
        timezone=services.settings.timezone,
        now=services.clock.now(),
        text=partial(services.texts.get, language),
        company=services.settings.company_name,
        pass_mark=services.settings.vendor_pass_mark,
    )
