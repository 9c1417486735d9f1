"""P3, the vendor's side of a rectification: 整改完成, pressed on the verbal request or on the
written notice (不合格項整改單). The vendor's word does not close it: the equipment manager is
asked to check (跟蹤檢查, 直至符合標準) and confirm it conforms."""

from __future__ import annotations

from sqlalchemy import select

from procedures.kernel import roles
from procedures.kernel.errors import NotAllowed, WrongState
from procedures.kernel.outbox import as_text, as_time, button, notify_roles, settle_notice
from procedures.kernel.unit_of_work import UnitOfWork
from procedures.vendors.actions import ConfirmConforming
from procedures.vendors.rectifications import (
    SUBJECT,
    _event,
    _expect,
    _label,
    _load,
    _params,
)
from procedures.vendors.rules import RectificationStatus
from storage.models import Rectification, TimelineEvent, User

REPORTED = "vendor_rectified"


async def report_rectified(
    uow: UnitOfWork, vendor_user: User, rectification_id: int
) -> Rectification:
    """The vendor's staff report the rectification done, once a rung: the manager is asked to
    check it; every copy of the vendor's notice says who reported it and when."""
    session, now = uow.session, uow.clock.now()
    roles.require_role(vendor_user.role_names, frozenset({roles.VENDOR}))
    rectification = await _load(session, rectification_id)
    if vendor_user.vendor_id != rectification.vendor_id:
        raise NotAllowed("rectification.not_your_vendor", label=_label(rectification))
    _expect(rectification, RectificationStatus.OPEN)
    reported = await session.scalars(
        select(TimelineEvent.after).where(
            TimelineEvent.subject_type == SUBJECT,
            TimelineEvent.subject_id == rectification.id,
            TimelineEvent.action == REPORTED,
        )
    )
    if any((after or {}).get("rung") == rectification.rung for after in reported):
        raise WrongState("rectification.already_reported", label=_label(rectification))
    _event(session, rectification, REPORTED, now, actor=vendor_user)
    await notify_roles(
        session,
        [roles.EQUIPMENT_MANAGER],
        "rectification.reported_done",
        {**_params(rectification), "by": vendor_user.full_name},
        now=now,
        buttons=[[button("rectification.button.conforms", ConfirmConforming(rectification.id))]],
        dedupe_prefix=f"rectification:{rectification.id}:reported:{rectification.rung}",
    )
    await settle_notice(
        session,
        [f"rectification:{rectification.id}:verbal", f"rectification:{rectification.id}:written"],
        "notice.done",
        {"by": vendor_user.full_name, "at": as_time(now), "step": as_text("notice.step.rectified")},
        now=now,
        leave_pressed=False,
    )
    await uow.commit()
    return rectification
