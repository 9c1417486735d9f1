"""Small factories for unit tests: users with roles, counted outbox rows."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import select

from bot.services import Services
from storage.models import OutboxMessage, User, UserRole

_telegram_ids = itertools.count(5_000_001)


async def make_user(
    services: Services, *roles: str, name: str = "", language: str | None = None
) -> User:
    telegram_id = next(_telegram_ids)
    async with services.unit_of_work() as uow:
        user = User(
            telegram_id=telegram_id,
            full_name=name or f"User {telegram_id}",
            language=language,
            active=True,
            created_at=uow.clock.now(),
            roles=[UserRole(role=role) for role in roles],
        )
        uow.session.add(user)
        await uow.commit()
    return user


async def outbox_rows(services: Services, **filters: Any) -> list[OutboxMessage]:
    async with services.session_factory() as session:
        return list(
            await session.scalars(
                select(OutboxMessage).filter_by(**filters).order_by(OutboxMessage.id)
            )
        )
