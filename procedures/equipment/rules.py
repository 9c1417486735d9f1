"""P3's rules for the equipment as data: the repair and inspection deadlines and who hears of them.

A repair deadline belongs to one vendor's staff, not to every vendor's: its reminder and overdue
alerts go to the defect's vendor staff, the technician who reported it (who verifies and chases
the repair) and the equipment manager, whose overdue alert offers a rectification request.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from procedures.equipment.actions import RecordInspection, RectifyDefect
from procedures.kernel import roles
from procedures.kernel.errors import InvalidInput, WrongState
from procedures.kernel.outbox import button, users_with_roles
from procedures.kernel.rules import Audience, DeadlineRule, Lifecycle, Recipients, deadline_table
from storage.models import Deadline, Defect, User


class DefectStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    REPAIRED = "repaired"
    CLOSED = "closed"


D = DefectStatus
# reported, acknowledged by the vendor, repaired, and accepted by the technician (closed) or
# rejected back to open
DEFECT_LIFECYCLE: Final = Lifecycle[DefectStatus](
    {
        D.OPEN: frozenset({D.ACKNOWLEDGED, D.REPAIRED}),
        D.ACKNOWLEDGED: frozenset({D.REPAIRED}),
        D.REPAIRED: frozenset({D.CLOSED, D.OPEN}),
        D.CLOSED: frozenset(),
    },
    lambda defect: WrongState(),
)


class VisitStatus(StrEnum):
    DECLARED = "declared"
    CONFIRMED = "confirmed"
    DISPUTED = "disputed"


# the vendor declares a visit; the system's staff confirm it or dispute it, once (seed part 3:
# the technician verifies the result of the maintenance and checks the vendor's service)
VISIT_LIFECYCLE: Final = Lifecycle[VisitStatus](
    {
        VisitStatus.DECLARED: frozenset({VisitStatus.CONFIRMED, VisitStatus.DISPUTED}),
        VisitStatus.CONFIRMED: frozenset(),
        VisitStatus.DISPUTED: frozenset(),
    },
    lambda visit: WrongState(),
)


class EquipmentDeadline(StrEnum):
    REPAIR = "repair"
    INSPECTION = "inspection"


async def _repair_audience(
    session: AsyncSession, deadline: Deadline, overdue: bool
) -> list[Recipients]:
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


REPAIR_AUDIENCE: Final = Audience(owner=False, subject=_repair_audience)

# hours by the severity the technician gave the defect
REPAIR: Final = DeadlineRule(
    EquipmentDeadline.REPAIR,
    roles.VENDOR,
    window=None,
    setting="REPAIR_HOURS",
    reminded=REPAIR_AUDIENCE,
    alerted=REPAIR_AUDIENCE,
)
# due by the end of the period; owned by the system's staff (the supervisor for elevators)
INSPECTION: Final = DeadlineRule(
    EquipmentDeadline.INSPECTION,
    roles.EQUIPMENT_ENGINEER,
    window=None,
    setting="INSPECTION_MONTHS",
    step=lambda deadline: RecordInspection(inspection_id=deadline.subject_id),
)

DEADLINES: Final = deadline_table(REPAIR, INSPECTION)


# --- who may read and act

VENDORS = frozenset({roles.VENDOR})

# who may record any system's inspection; the staff named for a system may record its own
INSPECTORS = frozenset({roles.EQUIPMENT_SUPERVISOR, roles.EQUIPMENT_MANAGER})

TECHNICIANS = frozenset({roles.TECHNICIAN})

# Who verifies a vendor's maintenance visit: any technician (they patrol every asset), and the
# staff of the asset's system (procedures.equipment.queries.system_staff); never the vendor's
# own staff, whatever other role they hold.
VISIT_VERIFIERS = TECHNICIANS

# Who may verify any defect's repair, not only one they reported (seed: the supervisor checks and
# chases the repairs, the manager coordinates the vendors).
REPAIR_OVERSEERS = frozenset({roles.EQUIPMENT_SUPERVISOR, roles.EQUIPMENT_MANAGER})


# Who may see every vendor's defects: the property's equipment staff and admins. A vendor's staff
# see their own vendor's, whatever other role they hold besides.
DEFECT_OVERSEERS = frozenset(
    {
        roles.TECHNICIAN,
        roles.EQUIPMENT_ENGINEER,
        roles.EQUIPMENT_SUPERVISOR,
        roles.EQUIPMENT_MANAGER,
        roles.MANAGEMENT_OFFICE,
        roles.ADMIN,
    }
)

# the roles whose invitation may name a system
ROLES_WITH_SYSTEM: Final = frozenset({roles.EQUIPMENT_ENGINEER, roles.EQUIPMENT_SUPERVISOR})

# the role that answers for a system by the seed, whoever else is named for it
SYSTEM_OWNERS: Final[dict[str, str]] = {"elevator": roles.EQUIPMENT_SUPERVISOR}

FALLBACK_ROLE: Final = roles.EQUIPMENT_MANAGER

# who reads a defect's record: those who oversee defects, and the vendors (their own)
DEFECT_READERS = DEFECT_OVERSEERS | {roles.VENDOR}


EQUIPMENT_SYSTEMS: tuple[
    Literal["elevator", "water_supply", "hvac", "fire_protection", "power", "lighting"], ...
] = ("elevator", "water_supply", "hvac", "fire_protection", "power", "lighting")


def check_system(text: str) -> str:
    """An equipment system's name as typed (any case), or InvalidInput naming the systems."""
    system = text.strip().lower()
    if system not in EQUIPMENT_SYSTEMS:
        raise InvalidInput(
            "invite.unknown_system", system=text.strip(), systems=", ".join(EQUIPMENT_SYSTEMS)
        )
    return system
