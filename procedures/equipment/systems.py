"""Each equipment system's staff (各系統設備管理人員, seed part 3): who hears of a system's
defects, inspections and their deadlines.

A user is named for a system through their invitation (`/invite equipment_engineer elevator`).
The staff of a system are the users named for it, plus, for elevators, the equipment supervisors
(the seed gives them the elevators' inspections and the chasing of their maintenance); a system
nobody answers for falls back to the equipment manager, so nothing goes unheard.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.equipment.rules import FALLBACK_ROLE, ROLES_WITH_SYSTEM, SYSTEM_OWNERS
from procedures.kernel.errors import InvalidInput
from procedures.kernel.outbox import users_with_roles
from procedures.masterdata.table import EQUIPMENT_SYSTEMS
from storage.models import User, UserRole, UserSystem


def check_system(text: str) -> str:
    """An equipment system's name as typed (any case), or InvalidInput naming the systems."""
    system = text.strip().lower()
    if system not in EQUIPMENT_SYSTEMS:
        raise InvalidInput(
            "invite.unknown_system", system=text.strip(), systems=", ".join(EQUIPMENT_SYSTEMS)
        )
    return system


async def named_staff(session: AsyncSession, system: str) -> list[User]:
    """The active users named for `system`, holding a role that may be named for one."""
    rows = await session.scalars(
        select(User)
        .join(UserSystem, UserSystem.user_id == User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(
            UserSystem.system == system,
            UserRole.role.in_(list(ROLES_WITH_SYSTEM)),
            User.active.is_(True),
        )
        .distinct()
        .order_by(User.id)
    )
    return list(rows)


async def system_staff(session: AsyncSession, system: str, *, fallback: bool = True) -> list[User]:
    """Who answers for `system`: its named staff and its owner by the seed (elevators: the
    equipment supervisors); with `fallback`, the equipment managers when that is nobody."""
    staff = {user.id: user for user in await named_staff(session, system)}
    if owner := SYSTEM_OWNERS.get(system):
        staff.update((user.id, user) for user in await users_with_roles(session, [owner]))
    if not staff and fallback:
        staff.update((user.id, user) for user in await users_with_roles(session, [FALLBACK_ROLE]))
    return [staff[user_id] for user_id in sorted(staff)]


async def systems_of(session: AsyncSession, user_id: int) -> list[str]:
    rows = await session.scalars(
        select(UserSystem.system).where(UserSystem.user_id == user_id).order_by(UserSystem.system)
    )
    return list(rows)
