"""P3, vendor scores (seed part 3): the monthly score sheet (合格維保單位考核評分表), with what
the bot measured filled in. The half-yearly assessment they feed is procedures.vendors.assessments.
"""

from __future__ import annotations

import datetime as dt
import statistics
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.equipment.queries import (
    contract_figures,
    defects_reported,
    minutes_between,
    repair_minutes,
)
from procedures.equipment.rules import DefectStatus
from procedures.kernel import roles
from procedures.kernel.calendar import local_day, month_bounds, previous_month
from procedures.kernel.deadlines import meet_deadline, open_deadline
from procedures.kernel.errors import InvalidInput, NotFound, WrongState
from procedures.kernel.outbox import as_deadline, button, notify_roles, notify_users
from procedures.kernel.timeline import SUBJECT_TYPES, record_change
from procedures.kernel.unit_of_work import UnitOfWork
from procedures.vendors import rules
from procedures.vendors.actions import BeginScore
from procedures.vendors.policy import VendorPolicy
from procedures.vendors.queries import vendors
from procedures.vendors.rectifications import RUNGS
from procedures.vendors.rules import MANAGERS, VendorDeadline
from storage.models import Deadline, Rectification, User, Vendor, VendorScore

# the judged criteria of the monthly score sheet, 1 (poor) to 5 (excellent) each
SCORE_CRITERIA = ("maintenance_quality", "response", "attitude", "records", "safety")


async def measured_figures(
    session: AsyncSession, vendor_id: int, period: str, timezone: ZoneInfo
) -> dict[str, Any]:
    """What the bot measured of the vendor in the month: defects, response and repair times,
    rejected repairs, rectifications and the highest rung they reached; and against the
    contracts, what was promised and how often it was missed (maintenance.contract_figures)."""
    start, end = month_bounds(period, timezone)
    defects = await defects_reported(session, start, end, vendor_id=vendor_id)
    responses = [
        minutes_between(d.reported_at, d.acknowledged_at) for d in defects if d.acknowledged_at
    ]
    repairs = [m for d in defects if (m := repair_minutes(d)) is not None]
    rectifications = list(
        await session.scalars(
            select(Rectification).where(
                Rectification.vendor_id == vendor_id,
                Rectification.raised_at < end,
                (Rectification.conformed_at.is_(None)) | (Rectification.conformed_at >= start),
            )
        )
    )
    highest = max((RUNGS.index(r.rung) for r in rectifications), default=None)
    promised = await contract_figures(session, vendor_id, period, timezone, defects)
    return {
        "defects": len(defects),
        "open_defects": sum(d.status != DefectStatus.CLOSED for d in defects),
        "median_response_minutes": statistics.median(responses) if responses else None,
        "worst_response_minutes": max(responses) if responses else None,
        "median_repair_minutes": statistics.median(repairs) if repairs else None,
        "worst_repair_minutes": max(repairs) if repairs else None,
        "rejected_repairs": sum(d.rejections for d in defects),
        "rectifications": len(rectifications),
        "highest_rung": RUNGS[highest] if highest is not None else None,
        **promised,
    }


VENDOR_SUBJECT = SUBJECT_TYPES[Vendor]


def _score_label(vendor: Vendor, period: str) -> str:
    return f"{vendor.code} {period}"


def score_due(now: dt.datetime, timezone: ZoneInfo, due_day: int) -> dt.datetime:
    """The end of day `due_day` of this month, local time; a day after `now` if that has passed
    (a request sent late still gives the manager time)."""
    today = local_day(now, timezone)
    due = dt.datetime(today.year, today.month, due_day, tzinfo=timezone) + dt.timedelta(days=1)
    return max(due, now + dt.timedelta(days=1))


async def request_monthly_scores(uow: UnitOfWork, *, timezone: ZoneInfo) -> int:
    """On the 1st: ask the equipment manager to score each vendor for last month, each score
    with a deadline (the seed: a score not given is chased) met when it is recorded, by the end
    of the policy's due day. The caller commits."""
    session, now = uow.session, uow.clock.now()
    due_day = uow.policy(VendorPolicy).score_due_day
    period = previous_month(now, timezone)
    due = score_due(now, timezone, due_day)
    queued = 0
    for vendor in await vendors(session):
        label = _score_label(vendor, period)
        scored = await session.scalar(
            select(VendorScore.id).where(
                VendorScore.vendor_id == vendor.id, VendorScore.period == period
            )
        )
        chased = await session.scalar(
            select(Deadline.id).where(
                Deadline.subject_type == VENDOR_SUBJECT,
                Deadline.subject_id == vendor.id,
                Deadline.kind == VendorDeadline.SCORE,
                Deadline.subject_label == label,
            )
        )
        if not scored and not chased:
            open_deadline(
                session,
                subject_type=VENDOR_SUBJECT,
                subject_id=vendor.id,
                subject_label=label,
                rule=rules.SCORE,
                opened_at=now,
                due_at=due,
            )
        queued += len(
            await notify_roles(
                session,
                [roles.EQUIPMENT_MANAGER],
                "score.request",
                {"vendor": vendor.name, "period": period, "due_at": as_deadline(due)},
                now=now,
                buttons=[
                    [
                        button(
                            "score.button.start",
                            BeginScore.for_month(vendor.id, period),
                            vendor=vendor.name,
                            code=vendor.code,
                        )
                    ]
                ],
                dedupe_prefix=f"score:request:{vendor.id}:{period}",
            )
        )
    return queued


async def record_vendor_score(
    uow: UnitOfWork,
    manager: User,
    vendor_id: int,
    period: str,
    judged: dict[str, int],
    timezone: ZoneInfo,
) -> VendorScore:
    """Store the month's score sheet (measured parts filled in by the bot); it is sent as a file."""
    session, now = uow.session, uow.clock.now()
    roles.require_role(manager.role_names, MANAGERS)
    if set(judged) != set(SCORE_CRITERIA) or not all(1 <= v <= 5 for v in judged.values()):
        raise InvalidInput("score.incomplete")
    vendor = await session.get(Vendor, vendor_id)
    if vendor is None:
        raise NotFound("rectification.unknown_vendor")
    if await session.scalar(
        select(VendorScore.id).where(
            VendorScore.vendor_id == vendor_id, VendorScore.period == period
        )
    ):
        raise WrongState("score.already_scored", vendor=vendor.name, period=period)
    score = VendorScore(
        vendor_id=vendor_id,
        period=period,
        measured=await measured_figures(session, vendor_id, period, timezone),
        judged=dict(judged),
        total=sum(judged.values()) * 20 // len(SCORE_CRITERIA),
        scored_by_id=manager.id,
        scored_at=now,
    )
    session.add(score)
    await session.flush()
    await meet_deadline(
        session,
        subject_type=VENDOR_SUBJECT,
        subject_id=vendor_id,
        kind=VendorDeadline.SCORE,
        now=now,
        subject_label=_score_label(vendor, period),
        by=manager,
    )
    record_change(
        session,
        score,
        "scored",
        now,
        actor=manager,
        after={"vendor": vendor.code, "period": period, "total": score.total},
    )
    await notify_users(
        session,
        [manager],
        "score.sheet",
        {"vendor": vendor.name, "period": period, "total": score.total},
        now=now,
        attachment={"kind": "vendor_score", "params": {"id": score.id}},
        dedupe_prefix=f"score:sheet:{score.id}",
    )
    await uow.commit()
    return score
