"""Users, their roles and languages: who is talking, their names, the first admins."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from procedures.kernel import roles
from procedures.kernel.errors import InvalidInput
from procedures.kernel.text_input import column_length
from procedures.kernel.timeline import record_event
from procedures.kernel.unit_of_work import UnitOfWork
from procedures.kernel.working_hours import format_span, parse_span
from storage.models import (
    Organisation,
    User,
    UserRole,
    Vendor,
)

LANGUAGES: tuple[Literal["zh-Hant", "zh-Hans", "en"], ...] = ("zh-Hant", "zh-Hans", "en")
# 18 random bytes: 144 bits, 24 characters, inside a deep link's 64-character start payload
CODE_BYTES = 18
# More failed codes than this from one Telegram user within the window, and they must wait.
MAX_FAILED_REDEMPTIONS = 5
NAME_LENGTH = column_length(User.full_name)
USERNAME_LENGTH = column_length(User.username)
# a code as typed is cleaned and cut to the longest code there is before it is looked up
PARTY_CODE_LENGTH = max(column_length(Organisation.code), column_length(Vendor.code))
FAILED_REDEMPTION_WINDOW = dt.timedelta(minutes=15)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TelegramIdentity:
    """Who is talking, as Telegram tells it."""

    telegram_id: int
    full_name: str
    username: str | None = None
    language: str | None = None


# the roles joined in: every update asks this first, and one query is one round trip less;
# built once, as SQLAlchemy would otherwise build it and work out its cache key every update
_USER_BY_TELEGRAM_ID = (
    select(User).options(joinedload(User.roles)).where(User.telegram_id == bindparam("telegram_id"))
)


async def user_by_telegram_id(session: AsyncSession, telegram_id: int) -> User | None:
    found = await session.scalars(_USER_BY_TELEGRAM_ID, {"telegram_id": telegram_id})
    return found.unique().one_or_none()


async def names_of(session: AsyncSession, user_ids: Iterable[int | None]) -> dict[int, str]:
    """Full names by user id, for showing who did what on a timeline."""
    wanted = {i for i in user_ids if i is not None}
    if not wanted:
        return {}
    rows = await session.execute(select(User.id, User.full_name).where(User.id.in_(wanted)))
    return {user_id: name for user_id, name in rows}


async def ensure_admins(uow: UnitOfWork, telegram_ids: Iterable[int]) -> list[User]:
    """Give the configured first admins their role, creating their users if need be."""
    now = uow.clock.now()
    admins = []
    for telegram_id in telegram_ids:
        user = await user_by_telegram_id(uow.session, telegram_id)
        if user is None:
            user = User(
                telegram_id=telegram_id, full_name="", active=True, created_at=now, roles=[]
            )
            uow.session.add(user)
            await uow.session.flush()
            record_event(
                uow.session,
                subject_type="user",
                subject_id=user.id,
                action="created",
                at=now,
                after={"telegram_id": telegram_id, "source": "configuration"},
            )
        if roles.ADMIN not in user.role_names:
            user.roles.append(UserRole(role=roles.ADMIN))
            record_event(
                uow.session,
                subject_type="user",
                subject_id=user.id,
                action="role_granted",
                at=now,
                after={"role": roles.ADMIN, "source": "configuration"},
            )
        admins.append(user)
    await uow.commit()
    return admins


async def set_language(uow: UnitOfWork, user: User, language: str) -> User:
    if language not in LANGUAGES:
        raise InvalidInput("lang.unknown", language=language)
    # a repeated choice (a double tap) changes and records nothing
    await _change_own_setting(uow, user, "language", language)
    return user


async def set_daily_list(uow: UnitOfWork, user: User, on: bool) -> None:
    """Whether the person's list of what waits on them is the first message of each working
    day (procedures.kernel.daily_lists)."""
    await _change_own_setting(uow, user, "daily_list", on)


DEPLOYMENT_HOURS = ("default", "reset", "預設", "预设", "默認", "默认")


async def set_working_hours(uow: UnitOfWork, user: User, typed: str) -> str | None:
    """A person's own hours of the day for routine reminders ("09:00-17:30"), or back to the
    deployment's ("default"); returns what is now stored. InvalidInput for anything else."""
    wanted = typed.strip()
    hours = None if wanted.lower() in DEPLOYMENT_HOURS else format_span(*parse_span(wanted))
    await _change_own_setting(uow, user, "working_hours", hours)
    return hours


async def _change_own_setting(uow: UnitOfWork, user: User, name: str, value: Any) -> None:
    """A person changes one of their own settings: recorded and committed, unless it already
    has that value (nothing is changed or recorded)."""
    before = getattr(user, name)
    if before == value:
        return
    setattr(user, name, value)
    record_event(
        uow.session,
        subject_type="user",
        subject_id=user.id,
        action=f"{name}_changed",
        actor_id=user.id,
        at=uow.clock.now(),
        before={name: before},
        after={name: value},
    )
    await uow.commit()
