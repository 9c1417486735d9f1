"""Who hears of a deadline whose responsible role is wider than the people concerned.

A repair deadline belongs to one vendor's staff, not to every vendor's: its reminder and overdue
alerts go to the defect's vendor staff, the technician who reported it (who verifies and chases
the repair) and the equipment manager, whose overdue alert offers a rectification request.
Adding a kind here is adding one entry to AUDIENCES.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from procedures.equipment.actions import RectifyDefect
from procedures.kernel import roles
from procedures.kernel.outbox import button, users_with_roles
from storage.models import Deadline, Defect, User


@dataclass(frozen=True)
class Recipients:
    """Some of a deadline's audience, and the buttons their message carries."""

    users: list[User]
    buttons: list[list[dict[str, Any]]] | None = None


Audience = Callable[[AsyncSession, Deadline, bool], Awaitable[list[Recipients]]]


async def _repair(session: AsyncSession, deadline: Deadline, overdue: bool) -> list[Recipients]:
    defect = await session.get(Defect, deadline.subject_id)
    if defect is None:
        return []
    managers = await users_with_roles(session, [roles.EQUIPMENT_MANAGER])
    rectify = (
        [[button("defect.button.rectify", RectifyDefect(defect_id=defect.id))]]
        if overdue and defect.vendor_id is not None
        else None
    )
    reporter = await session.get(User, defect.reported_by_id)
    return [
        Recipients(managers, rectify),
        Recipients(await users_with_roles(session, [roles.VENDOR], vendor_ids=[defect.vendor_id])),
        Recipients([reporter] if reporter is not None and reporter.active else []),
    ]


# deadline kind -> its audience; any other kind goes to its responsible role (and its head)
AUDIENCES: dict[str, Audience] = {"repair": _repair}
