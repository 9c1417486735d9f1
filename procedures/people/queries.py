"""Reading people for the chat: a user by id, and the record its readers name."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import User as User


async def user(session: AsyncSession, user_id: int) -> User | None:
    """One user, or None."""
    return await session.get(User, user_id)
