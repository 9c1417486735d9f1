"""P1's rules as data: the complaint's deadline kinds, who owns each, its window and setting."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.complaints.actions import (
    ConfirmBuyerTold,
    ConfirmGoodsLabelled,
    ConfirmOutboundStopped,
    ConfirmSalesStopped,
    LiftHold,
)
from procedures.kernel import roles
from procedures.kernel.errors import WrongState
from procedures.kernel.outbox import button, users_with_roles
from procedures.kernel.rules import Audience, DeadlineRule, Lifecycle, Recipients, deadline_table
from storage.models import BuyerNoticeTask, Deadline


class ComplaintStatus(StrEnum):
    """A complaint's status; conforming and nonconforming are also the verification results. An
    inquiry or feedback (查詢, 情況反映) waits for its answer, then stays answered, unless quality
    judges it a quality complaint, which opens it."""

    INQUIRY = "inquiry"
    ANSWERED = "answered"
    OPEN = "open"
    INVESTIGATING = "investigating"
    CONFORMING = "conforming"
    NONCONFORMING = "nonconforming"
    CLOSED = "closed"


C = ComplaintStatus
# an inquiry is answered, or judged a quality complaint (before or after its answer); a
# complaint is taken by QC, verified conforming or nonconforming, closed when nothing is left; a
# closed complaint may be reopened to the verdict it had (or to the investigation, without one).
# The steps' own checks refuse out of turn with their own words; this table is the last word.
LIFECYCLE: Final = Lifecycle[ComplaintStatus](
    {
        C.INQUIRY: frozenset({C.ANSWERED, C.OPEN}),
        C.ANSWERED: frozenset({C.OPEN}),
        C.OPEN: frozenset({C.INVESTIGATING}),
        C.INVESTIGATING: frozenset({C.CONFORMING, C.NONCONFORMING}),
        C.CONFORMING: frozenset({C.CLOSED}),
        C.NONCONFORMING: frozenset({C.CLOSED}),
        C.CLOSED: frozenset({C.INVESTIGATING, C.CONFORMING, C.NONCONFORMING}),
    },
    lambda complaint: WrongState(),
)


class ComplaintDeadline(StrEnum):
    ON_SITE_VERIFICATION = "on_site_verification"
    DISPOSITION_OPINION = "disposition_opinion"
    HANDLING_COMPLETE = "handling_complete"
    HOLD_LIFT = "hold_lift"
    ADVERSE_EVENT_REPORT = "adverse_event_report"
    OUTBOUND_STOP = "outbound_stop"
    GOODS_LABELLED = "goods_labelled"
    SALES_STOP = "sales_stop"
    BUYER_NOTICE = "buyer_notice"
    SUPPLIER_ANSWER = "supplier_answer"
    NONCONFORMING_HANDOFF = "nonconforming_handoff"
    INQUIRY_ANSWER = "inquiry_answer"


D = ComplaintDeadline
# a nonconforming verdict's confirmations (stop outbound, label, stop sales) are due in a day;
# these and the lift of a hold are urgent: their reminders do not wait for working hours
CONFIRM_WINDOW: Final = dt.timedelta(hours=24)

ON_SITE_VERIFICATION: Final = DeadlineRule(
    # 24 hours for a local buyer (本埠) and one whose locality is unknown, 7 days out of town
    D.ON_SITE_VERIFICATION,
    roles.QUALITY,
    window=None,
)
DISPOSITION_OPINION: Final = DeadlineRule(
    D.DISPOSITION_OPINION, roles.QUALITY, window=dt.timedelta(days=3)
)
# 外埠: the verification and its handling are completed within 7 days
HANDLING_COMPLETE: Final = DeadlineRule(
    D.HANDLING_COMPLETE, roles.QUALITY, window=dt.timedelta(days=7)
)
# verified conforming: the warehouse lifts the suspension within 24 hours of the confirmation
HOLD_LIFT: Final = DeadlineRule(
    D.HOLD_LIFT,
    roles.WAREHOUSE,
    window=dt.timedelta(hours=24),
    step=lambda deadline: LiftHold(complaint_id=deadline.subject_id),
    urgent=True,
)
ADVERSE_EVENT_REPORT: Final = DeadlineRule(
    D.ADVERSE_EVENT_REPORT,
    roles.QUALITY_HEAD,
    window=dt.timedelta(days=20),
    setting="ADVERSE_EVENT_REPORT_DAYS",
)
OUTBOUND_STOP: Final = DeadlineRule(
    D.OUTBOUND_STOP,
    roles.WAREHOUSE,
    window=CONFIRM_WINDOW,
    step=lambda deadline: ConfirmOutboundStopped(complaint_id=deadline.subject_id),
    urgent=True,
)
GOODS_LABELLED: Final = DeadlineRule(
    D.GOODS_LABELLED,
    roles.WAREHOUSE,
    window=CONFIRM_WINDOW,
    step=lambda deadline: ConfirmGoodsLabelled(complaint_id=deadline.subject_id),
    urgent=True,
)
SALES_STOP: Final = DeadlineRule(
    D.SALES_STOP,
    roles.BUSINESS_HEAD,
    window=CONFIRM_WINDOW,
    step=lambda deadline: ConfirmSalesStopped(complaint_id=deadline.subject_id),
    urgent=True,
)
# a buyer of the product with no chat contact: after-sales tells them to suspend sales


async def untold_buyer(
    session: AsyncSession, deadline: Deadline, overdue: bool
) -> list[Recipients]:
    """After-sales, while another buyer has not confirmed it suspended sales (nor was told
    another way): with the buttons that record how it was told (phone, e-mail, visit)."""
    task = await session.scalar(
        select(BuyerNoticeTask).where(BuyerNoticeTask.deadline_id == deadline.id)
    )
    if task is None or task.told_at is not None:
        return []
    told = [
        button(f"complaint.told_how.{how}", ConfirmBuyerTold(task_id=task.id, how=how))
        for how in ("phone", "email", "visit")
    ]
    return [Recipients(await users_with_roles(session, [roles.AFTER_SALES]), buttons=[told])]


# every other buyer of a nonconforming product is told to suspend sales (4.7): one with a chat
# contact confirms with the notice's button, one without is told by after-sales; either way a
# day, then after-sales is reminded and alerted, with the buttons that record how it told them
BUYER_NOTICE: Final = DeadlineRule(
    D.BUYER_NOTICE,
    roles.AFTER_SALES,
    window=dt.timedelta(hours=24),
    reminded=Audience(owner=False, subject=untold_buyer),
    alerted=Audience(owner=False, owner_head=True, subject=untold_buyer),
    urgent=True,
    per_party=True,
)
SUPPLIER_ANSWER: Final = DeadlineRule(
    D.SUPPLIER_ANSWER,
    roles.QUALITY,
    window=dt.timedelta(days=7),
    setting="SUPPLIER_ANSWER_DAYS",
)
# the goods enter the nonconforming-goods procedure (不合格品管理工作程序)
NONCONFORMING_HANDOFF: Final = DeadlineRule(
    D.NONCONFORMING_HANDOFF, roles.WAREHOUSE, window=dt.timedelta(days=3)
)

# an inquiry or feedback (P1 4.2) is answered in the time 4.4 gives every customer's complaint
# an opinion (3 days); judged a quality complaint, it is met and P1's complaint clocks start
INQUIRY_ANSWER: Final = DeadlineRule(D.INQUIRY_ANSWER, roles.QUALITY, window=dt.timedelta(days=3))

DEADLINES: Final = deadline_table(
    ON_SITE_VERIFICATION,
    DISPOSITION_OPINION,
    HANDLING_COMPLETE,
    HOLD_LIFT,
    ADVERSE_EVENT_REPORT,
    OUTBOUND_STOP,
    GOODS_LABELLED,
    SALES_STOP,
    BUYER_NOTICE,
    SUPPLIER_ANSWER,
    NONCONFORMING_HANDOFF,
    INQUIRY_ANSWER,
)


# --- who may read and act

# Who may file for a customer.
FILING_STAFF = frozenset({roles.AFTER_SALES, roles.QUALITY})

# who answers an inquiry or feedback: quality answers product-quality questions (質量管理部負責
# 對用戶提出有關產品質量問題的解答處理); after-sales staff may answer what they can
INQUIRY_ANSWERERS = frozenset({roles.QUALITY, roles.QUALITY_HEAD, roles.AFTER_SALES})

# who judges an inquiry a quality complaint: quality, which manages complaints (4.3 歸口管理)
INQUIRY_JUDGES = frozenset({roles.QUALITY, roles.QUALITY_HEAD})

# QC takes and verifies a complaint
VERIFIERS = frozenset({roles.QUALITY, roles.QUALITY_HEAD})

# the warehouse confirms the lift (倉庫…解除該產品的暫停發貨)
HOLD_LIFTERS = frozenset({roles.WAREHOUSE})

# QC and its head: record the supplier's answer and technical support, hand nonconforming goods on
QUALITY_STAFF = frozenset({roles.QUALITY, roles.QUALITY_HEAD})

HANDOFF_STAFF = frozenset({roles.WAREHOUSE, roles.QUALITY, roles.QUALITY_HEAD})

# the quality head gives a taken complaint to another QC
REASSIGNERS = frozenset({roles.QUALITY_HEAD})

# Who sees every complaint.
STAFF_VIEWERS = frozenset(
    {
        roles.QUALITY,
        roles.QUALITY_HEAD,
        roles.AFTER_SALES,
        roles.AFTER_SALES_HEAD,
        roles.BUSINESS_HEAD,
        roles.WAREHOUSE,
        roles.COMPANY_LEADER,
        roles.ADMIN,
    }
)

# Who receives the quarterly complaint report, and who may ask for the ledger at any time. The
# business department collects and archives service information (綜合業務部負責用戶服務信息的
# 采集和歸檔管理), so its head reads both.
REPORT_READERS = frozenset({roles.QUALITY_HEAD, roles.QUALITY, roles.BUSINESS_HEAD})

# who reads the queue of complaints waiting for QC
QUEUE_READERS = frozenset({roles.QUALITY, roles.QUALITY_HEAD, roles.BUSINESS_HEAD})

# who may ask for the complaint ledger at any time
LEDGER_READERS = frozenset(
    {
        roles.QUALITY,
        roles.QUALITY_HEAD,
        roles.AFTER_SALES_HEAD,
        roles.BUSINESS_HEAD,
        roles.COMPANY_LEADER,
        roles.ADMIN,
    }
)

# the quality head concludes the quarter's complaint report, which makes it final
REPORT_APPROVERS = frozenset({roles.QUALITY_HEAD})
QUARTERLY_REPORT = "complaint_quarterly"  # the approved report's kind
