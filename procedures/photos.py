"""Photos kept as evidence on any record (complaint, patrol, defect, rectification)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Photo, User


def add_photos(
    session: AsyncSession,
    subject_type: str,
    subject_id: int,
    stage: str,
    file_ids: list[str],
    actor: User,
    now: dt.datetime,
) -> None:
    """Keep the photos (by their Telegram file ids) on the record, at the given stage."""
    for file_id in file_ids:
        session.add(
            Photo(
                subject_type=subject_type,
                subject_id=subject_id,
                stage=stage,
                telegram_file_id=file_id,
                added_by_id=actor.id,
                added_at=now,
            )
        )


async def photos_of(session: AsyncSession, subject_type: str, subject_id: int) -> list[Photo]:
    rows = await session.scalars(
        select(Photo)
        .where(Photo.subject_type == subject_type, Photo.subject_id == subject_id)
        .order_by(Photo.id)
    )
    return list(rows)
