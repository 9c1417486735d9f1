"""Approving a periodic report: the quality head writes the conclusion of a quarter's
complaint report (顧客投訴查詢商品質量記錄表), which makes it final and sends it again."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.complaints.rules import QUARTERLY_REPORT, REPORT_APPROVERS, REPORT_READERS
from procedures.kernel import roles
from procedures.kernel.actions import CallbackAction, Matches
from procedures.kernel.calendar import QUARTER_YEARS, quarter_bounds
from procedures.kernel.errors import InvalidInput, WrongState
from procedures.kernel.outbox import notify_roles
from procedures.kernel.text_input import clean_text, is_blank
from procedures.kernel.unit_of_work import UnitOfWork
from procedures.people.users import names_of
from storage.models import ReportApproval, User

QUARTERLY = QUARTERLY_REPORT
MAX_CONCLUSION = 4000


async def approval_of(session: AsyncSession, kind: str, period: str) -> ReportApproval | None:
    return await session.scalar(
        select(ReportApproval).where(ReportApproval.kind == kind, ReportApproval.period == period)
    )


async def check_may_approve(
    session: AsyncSession,
    actor: User,
    year: int,
    quarter: int,
    *,
    now: dt.datetime,
    timezone: ZoneInfo,
) -> None:
    """Before the dialogue asks for the conclusion, and again when it is stored. Only a quarter
    that is over has its final figures: approving one still running (or a year no report has)
    would lock out the approval of the real report."""
    roles.require_role(actor.role_names, REPORT_APPROVERS)
    if year not in QUARTER_YEARS or quarter not in (1, 2, 3, 4):
        raise InvalidInput("error.stale_button")
    if now < quarter_bounds(year, quarter, timezone)[1]:
        raise WrongState("report.quarter_not_over", year=year, quarter=quarter)
    if await approval_of(session, QUARTERLY, f"{year}-Q{quarter}") is not None:
        raise WrongState("report.already_approved", year=year, quarter=quarter)


def check_conclusion(text: str) -> str:
    """The conclusion as written; one a reader would not see (spaces, zero-width characters)
    is no conclusion."""
    conclusion = clean_text(text).strip()
    if is_blank(conclusion) or len(conclusion) > MAX_CONCLUSION:
        raise InvalidInput("report.bad_conclusion", limit=MAX_CONCLUSION)
    return conclusion


async def approve_quarterly_report(
    uow: UnitOfWork,
    actor: User,
    year: int,
    quarter: int,
    conclusion: str,
    *,
    timezone: ZoneInfo,
) -> ReportApproval:
    """Store the conclusion; the final report goes to the quality department again."""
    session, now = uow.session, uow.clock.now()
    await check_may_approve(session, actor, year, quarter, now=now, timezone=timezone)
    approval = ReportApproval(
        kind=QUARTERLY,
        period=f"{year}-Q{quarter}",
        conclusion=check_conclusion(conclusion),
        approved_by_id=actor.id,
        approved_at=now,
    )
    session.add(approval)
    await session.flush()
    await notify_roles(
        session,
        sorted(REPORT_READERS),
        "report.quarterly_final",
        {"year": year, "quarter": quarter, "name": actor.full_name},
        now=now,
        attachment={"kind": QUARTERLY, "params": {"year": year, "quarter": quarter}},
        dedupe_prefix=f"report:complaints:{year}-Q{quarter}:final",
    )
    await uow.commit()
    return approval


# --- reports ---------------------------------------------------------------------------------


class ChooseReport(CallbackAction, prefix="rp:k"):
    kind: Annotated[str, Matches(r"[a-z_]+")]


class ChoosePeriod(CallbackAction, prefix="rp:p"):
    kind: Annotated[str, Matches(r"[a-z_]+")]
    period: Annotated[str, Matches(r"\d{4}-[0-9QH]\d")]  # 2026-11, 2026-Q3, 2026-H2


# --- reading an approval ---------------------------------------------------------------------


@dataclass(frozen=True)
class Approval:
    """The quality head's conclusion that makes a quarterly report final."""

    conclusion: str
    approved_by: str
    approved_at: dt.datetime


async def quarterly_approval(session: AsyncSession, year: int, quarter: int) -> Approval | None:
    """The quality head's conclusion on the quarter's report, if it was approved."""
    record = await approval_of(session, QUARTERLY, f"{year}-Q{quarter}")
    if record is None:
        return None
    names = await names_of(session, [record.approved_by_id])
    return Approval(record.conclusion, names.get(record.approved_by_id, ""), record.approved_at)
