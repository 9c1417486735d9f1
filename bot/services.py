"""What every handler needs: the shared runtime and the message catalogues."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from core.config import Settings
from core.services import Runtime
from procedures.kernel.clock import Clock, SystemClock
from procedures.kernel.policy import Policies

from .texts import Texts


@dataclass
class Services(Runtime):
    texts: Texts


def build_services(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock | None = None,
    policies: Policies | None = None,
) -> Services:
    """The services on `engine`, with the record types' policies as loaded (else their
    defaults)."""
    clock = clock or SystemClock()
    return Services.on_engine(
        settings,
        engine,
        clock,
        texts=Texts(settings.timezone, settings.default_language, clock=clock),
        policies=policies if policies is not None else Policies(),
    )
