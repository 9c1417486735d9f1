"""P2's rules for returns and exchanges as data: their deadline kinds, owners, windows, settings."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import TYPE_CHECKING, Final, Literal

from sqlalchemy import select

from procedures.kernel import roles
from procedures.kernel.errors import WrongState
from procedures.kernel.outbox import button
from procedures.kernel.rules import Audience, DeadlineRule, Lifecycle, Recipients, deadline_table
from procedures.returns.actions import RecordActionDone
from storage.models import ReturnAction, ReturnRequest

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from storage.models import Deadline


class ReturnStatus(StrEnum):
    """Where a return stands; each step's facts are on the record, set once."""

    AWAITING_AFTER_SALES = "awaiting_after_sales"
    AWAITING_BUSINESS = "awaiting_business"
    REFUSED = "refused"  # outside the exchange ratio: after-sales may take it to the leader
    SPECIAL_CASE = "special_case"  # with the company leader
    APPROVED = "approved"  # the customer is told to send the goods
    ORDER_ISSUED = "order_issued"  # 退貨運輸單: the driver may collect
    PICKED_UP = "picked_up"
    DELIVERED = "delivered"  # at the warehouse, waiting for QC
    INSPECTED = "inspected"
    REJECTED = "rejected"  # final: the leader said no, or QC refused the goods
    BOOKED_IN = "booked_in"
    SETTLED = "settled"  # exchanged or credited, the slip not yet sent
    CLOSED = "closed"


def _out_of_turn(request: ReturnRequest) -> WrongState:
    return WrongState(
        "return.wrong_step",
        number=request.number,
        status={"$text": f"return.status.{request.status}"},
    )


S = ReturnStatus
# 4.2.2-4.2.9: signed by after-sales, approved by the business head (or refused: the ratio at
# filing, the head's 不批準; a refused exchange may go to the leader as a special case), the
# transport order, pick-up, delivery, QC's inspection (goods refused: rejected), booking in with
# the three signatures, settled, the slip sent; booking in may follow delivery directly when
# QC's verdict needs no separate step
LIFECYCLE: Final = Lifecycle[ReturnStatus](
    {
        S.AWAITING_AFTER_SALES: frozenset({S.AWAITING_BUSINESS, S.REFUSED}),
        S.AWAITING_BUSINESS: frozenset({S.APPROVED, S.REJECTED}),
        S.REFUSED: frozenset({S.SPECIAL_CASE}),
        S.SPECIAL_CASE: frozenset({S.APPROVED, S.REJECTED}),
        S.APPROVED: frozenset({S.ORDER_ISSUED}),
        S.ORDER_ISSUED: frozenset({S.PICKED_UP}),
        S.PICKED_UP: frozenset({S.DELIVERED}),
        S.DELIVERED: frozenset({S.INSPECTED, S.REJECTED, S.BOOKED_IN}),
        S.INSPECTED: frozenset({S.BOOKED_IN}),
        S.BOOKED_IN: frozenset({S.SETTLED, S.CLOSED}),
        S.SETTLED: frozenset({S.CLOSED}),
        S.REJECTED: frozenset(),
        S.CLOSED: frozenset(),
    },
    _out_of_turn,
)


# Once approved, a signature may still be missing (the business head's on the leader's special
# case, the after-sales head's countersignature): it can be given until the goods are booked in.
BEFORE_BOOKING_IN = (
    ReturnStatus.APPROVED,
    ReturnStatus.ORDER_ISSUED,
    ReturnStatus.PICKED_UP,
    ReturnStatus.DELIVERED,
    ReturnStatus.INSPECTED,
)


class ReturnDeadline(StrEnum):
    CORRECTIVE_ACTION = "corrective_action"
    PREVENTIVE_ACTION = "preventive_action"
    RETURN_SLIP = "return_slip"
    INSPECTION = "return_inspection"
    REVIEW = "return_review"
    APPROVAL = "return_approval"
    PICK_UP = "return_pick_up"
    BOOKING_IN = "return_booking_in"
    TRANSPORT_ORDER = "return_transport_order"
    TALLY = "return_tally"
    RECEIPT = "return_receipt"
    FINANCE_REVIEW = "return_finance_review"


class ActionKind(StrEnum):
    """What a company fault opens (4.2.6, 及時予以糾正和預防): the correction of this fault
    (糾正措施) and the prevention of its recurrence (預防措施)."""

    CORRECTIVE = "corrective"
    PREVENTIVE = "preventive"


async def action_owner(
    session: AsyncSession, deadline: Deadline, overdue: bool
) -> list[Recipients]:
    """The person who owns a corrective or preventive action, with the button that records what
    was done; the deadline's responsible role is their department, whose head is alerted."""
    action = await session.scalar(
        select(ReturnAction).where(
            ReturnAction.return_id == deadline.subject_id,
            ReturnAction.kind == ACTION_OF_DEADLINE[deadline.kind],
        )
    )
    if action is None or action.done_at is not None or not action.owner.active:
        return []
    done = button("return.button.action_done", RecordActionDone(action_id=action.id))
    return [Recipients([action.owner], buttons=[[done]])]


# a company fault's corrective and preventive actions: each reminds its owner (a person of the
# responsible department, the deadline's responsible role), and alerts the owner, the
# department's head and quality, which follows them; company-internal, so the customer's view
# of the return never shows them. One setting gives both their window.
ACTION_REMINDED: Final = Audience(owner=False, subject=action_owner)
ACTION_ALERTED: Final = Audience(
    owner=False, owner_head=True, roles=(roles.QUALITY,), subject=action_owner
)
CORRECTIVE_ACTION: Final = DeadlineRule(
    ReturnDeadline.CORRECTIVE_ACTION,
    roles.QUALITY,
    window=dt.timedelta(days=30),
    setting="CORRECTIVE_ACTION_DAYS",
    reminded=ACTION_REMINDED,
    alerted=ACTION_ALERTED,
    internal=True,
)
PREVENTIVE_ACTION: Final = DeadlineRule(
    ReturnDeadline.PREVENTIVE_ACTION,
    roles.QUALITY,
    window=dt.timedelta(days=30),
    setting="CORRECTIVE_ACTION_DAYS",
    reminded=ACTION_REMINDED,
    alerted=ACTION_ALERTED,
    internal=True,
)
ACTION_DEADLINES: Final = {
    ActionKind.CORRECTIVE: CORRECTIVE_ACTION,
    ActionKind.PREVENTIVE: PREVENTIVE_ACTION,
}
ACTION_OF_DEADLINE: Final = {str(rule.kind): kind for kind, rule in ACTION_DEADLINES.items()}
# 4.2.9: once the tally is done, the marketing clerk reviews the return slip (退貨單) and sends
# it to the customer by 12:00 the next local day
RETURN_SLIP: Final = DeadlineRule(ReturnDeadline.RETURN_SLIP, roles.MARKETING_CLERK, window=None)

# 4.2.6: QC inspects the goods that came back and judges them in time (及時予以評定), from their
# delivery to the warehouse; company-internal
INSPECTION: Final = DeadlineRule(
    ReturnDeadline.INSPECTION,
    roles.QUALITY,
    window=dt.timedelta(days=2),
    setting="RETURN_INSPECTION_DAYS",
    internal=True,
)

# The steps P2 asks to be taken in time (及時, 4.2.2–4.2.7) without naming a time: a day each,
# company-internal. After-sales reviews a request (the head, a quality return: 4.2.4); the
# business head approves it; a driver collects the goods once the transport order is issued;
# the warehouse books them in once QC has inspected them.
STEP_WINDOW: Final = dt.timedelta(hours=24)
REVIEW: Final = DeadlineRule(
    ReturnDeadline.REVIEW, roles.AFTER_SALES, window=STEP_WINDOW, internal=True
)
APPROVAL: Final = DeadlineRule(
    ReturnDeadline.APPROVAL, roles.BUSINESS_HEAD, window=STEP_WINDOW, internal=True
)
PICK_UP: Final = DeadlineRule(
    ReturnDeadline.PICK_UP, roles.DRIVER, window=STEP_WINDOW, internal=True
)
BOOKING_IN: Final = DeadlineRule(
    ReturnDeadline.BOOKING_IN, roles.WAREHOUSE, window=STEP_WINDOW, internal=True
)

# 4.2.5: the after-sales head issues the transport order in time (及時) once the freight
# station's arrival notice is in; 4.2.8: the marketing statistician tallies the quantities and
# amounts in time once the warehouse has issued the booking-in slip (退貨入庫單)
TRANSPORT_ORDER: Final = DeadlineRule(
    ReturnDeadline.TRANSPORT_ORDER, roles.AFTER_SALES_HEAD, window=STEP_WINDOW, internal=True
)
TALLY: Final = DeadlineRule(
    ReturnDeadline.TALLY, roles.MARKETING_STATISTICIAN, window=STEP_WINDOW, internal=True
)
# 4.2.2: a request keyed in for a customer (faxed, phoned, handed in) is confirmed received
# (確認簽收) by after-sales staff in time (及時): by the same time the next working day after it
# was received, so its due time is computed when it opens
RECEIPT: Final = DeadlineRule(ReturnDeadline.RECEIPT, roles.AFTER_SALES, window=None, internal=True)
# 4.2.3: finance reviews an unsalable exchange's figures with after-sales (協調財務部評審), a day
FINANCE_REVIEW: Final = DeadlineRule(
    ReturnDeadline.FINANCE_REVIEW, roles.FINANCE, window=STEP_WINDOW, internal=True
)

DEADLINES: Final = deadline_table(
    CORRECTIVE_ACTION,
    PREVENTIVE_ACTION,
    RETURN_SLIP,
    INSPECTION,
    REVIEW,
    APPROVAL,
    PICK_UP,
    BOOKING_IN,
    TRANSPORT_ORDER,
    TALLY,
    RECEIPT,
    FINANCE_REVIEW,
)


# --- who may read and act

# Market-sales staff (市場銷售科) help after-sales with the returns of their own territory
# (片區; 3.4 配合和監督, 4.2.10 配合...辦理所管轄片區的客戶調退貨): they hear of each, read
# them and may file one for a customer of it, never another territory's.
TERRITORY_STAFF = frozenset({roles.MARKET_SALES})

# Who may file for a customer by phone (after-sales takes every customer's returns, 3.3;
# market sales their territory's, 4.2.10).
FILING_STAFF = frozenset({roles.AFTER_SALES, roles.AFTER_SALES_HEAD, *TERRITORY_STAFF})

# How a request reached after-sales (4.2.1): the customer's own chat, or keyed in by staff from
# a fax (傳真), a phone call or a sheet handed in (親自交予); a keyed one waits for receipt (4.2.2)
KEYED_CHANNELS: tuple[Literal["fax", "phone", "in_person"], ...] = ("fax", "phone", "in_person")

# after-sales files the goods of a consumer complaint it handled itself (4.3.3): no sheet is
# handed over, so none is signed for
CONSUMER_CHANNEL = "consumer"
# every channel a return is filed by: the chat, keyed in, for a consumer complaint, or started
# by a nonconforming complaint
CHANNELS = ("chat", *KEYED_CHANNELS, CONSUMER_CHANNEL, "complaint")
# finance's review of an exchange's figures (4.2.3)
FINANCE_REVIEWS = ("agreed", "disagreed")

# Who confirms receipt of a keyed request (售後服務科人員確認簽收, 4.2.2): not the person who
# keyed it in, who stands for the computer room (電腦室) that registers it
RECEIVERS = frozenset({roles.AFTER_SALES, roles.AFTER_SALES_HEAD})

# Finance reviews an unsalable exchange's figures before after-sales signs (4.2.3)
FINANCE_REVIEWERS = frozenset({roles.FINANCE})

# QC inspects the goods that came back (4.2.6)
QC_STAFF = frozenset({roles.QUALITY, roles.QUALITY_HEAD})

# quality follows the corrective and preventive actions it opened (4.2.6: 質管部 ...
# 確定責任部門及責任人): told when they open and as each is done
ACTION_FOLLOWERS = (roles.QUALITY_HEAD, roles.QUALITY)

# The departments QC may find responsible for a company fault (4.2.6), each named by the role
# its people hold: the owner of a corrective or preventive action is one of those people.
RESPONSIBLE_DEPARTMENTS: Final = (
    roles.QUALITY,
    roles.QUALITY_HEAD,
    roles.WAREHOUSE,
    roles.DRIVER,
    roles.AFTER_SALES,
    roles.AFTER_SALES_HEAD,
    roles.MARKET_SALES,
    roles.FINANCE,
    roles.BUSINESS_HEAD,
)

# who sees every return
STAFF_VIEWERS = frozenset(
    {
        roles.AFTER_SALES,
        roles.AFTER_SALES_HEAD,
        roles.BUSINESS_HEAD,
        roles.QUALITY,
        roles.QUALITY_HEAD,
        roles.WAREHOUSE,
        roles.DRIVER,
        roles.FINANCE,
        roles.MARKETING_STATISTICIAN,
        roles.MARKETING_CLERK,
        roles.COMPANY_LEADER,
        roles.ADMIN,
    }
)

# Who may record the freight station's arrival notice (4.2.5: it reaches after-sales)
STATION_NOTICE_TAKERS = frozenset({roles.AFTER_SALES, roles.AFTER_SALES_HEAD})

# who receives the monthly return statistics
STATISTICS_READERS = (roles.BUSINESS_HEAD, roles.FINANCE)


class ReturnReason(StrEnum):
    QUALITY = "quality"
    UNSALABLE = "unsalable"  # 不適銷


class Slot(StrEnum):
    """The three signatures the warehouse books goods in against (4.2.7: the after-sales head's,
    the business head's, QC's), and after-sales staff's review of an unsalable exchange (4.2.3),
    which the head countersigns."""

    AFTER_SALES = "after_sales"
    BUSINESS = "business"
    QUALITY = "quality"
    REVIEW = "review"


SIGNATURE_ORDER = (Slot.AFTER_SALES, Slot.BUSINESS, Slot.QUALITY)

SIGNERS: dict[str, frozenset[str]] = {
    # 4.2.3: after-sales staff review and sign an unsalable exchange; 4.2.7: the warehouse books
    # in against the after-sales head's signature, who countersigns it; 4.2.4: the head signs a
    # quality return's review himself
    f"{ReturnReason.UNSALABLE}:{Slot.REVIEW}": frozenset(
        {roles.AFTER_SALES, roles.AFTER_SALES_HEAD}
    ),
    f"{ReturnReason.UNSALABLE}:{Slot.AFTER_SALES}": frozenset({roles.AFTER_SALES_HEAD}),
    f"{ReturnReason.QUALITY}:{Slot.AFTER_SALES}": frozenset({roles.AFTER_SALES_HEAD}),
    f"{ReturnReason.UNSALABLE}:{Slot.BUSINESS}": frozenset({roles.BUSINESS_HEAD}),
    f"{ReturnReason.QUALITY}:{Slot.BUSINESS}": frozenset({roles.BUSINESS_HEAD}),
    f"{ReturnReason.UNSALABLE}:{Slot.QUALITY}": frozenset({roles.QUALITY, roles.QUALITY_HEAD}),
    f"{ReturnReason.QUALITY}:{Slot.QUALITY}": frozenset({roles.QUALITY, roles.QUALITY_HEAD}),
}

# What each role works on: the statuses it is waiting for.
WAITING: dict[str, tuple[ReturnStatus, ...]] = {
    roles.AFTER_SALES: (S.AWAITING_AFTER_SALES, S.REFUSED, S.APPROVED),
    roles.AFTER_SALES_HEAD: (S.AWAITING_AFTER_SALES, S.APPROVED),
    roles.BUSINESS_HEAD: (
        S.AWAITING_BUSINESS,
        S.APPROVED,
        S.ORDER_ISSUED,
        S.PICKED_UP,
        S.DELIVERED,
        S.INSPECTED,
    ),
    roles.COMPANY_LEADER: (S.SPECIAL_CASE,),
    roles.DRIVER: (S.ORDER_ISSUED, S.PICKED_UP),
    roles.QUALITY: (S.DELIVERED, S.INSPECTED),
    roles.QUALITY_HEAD: (S.DELIVERED, S.INSPECTED),
    roles.WAREHOUSE: (
        S.DELIVERED,
        S.INSPECTED,
        S.BOOKED_IN,
        S.SETTLED,
    ),
    roles.FINANCE: (S.AWAITING_AFTER_SALES, S.BOOKED_IN),
    roles.MARKETING_STATISTICIAN: (S.BOOKED_IN, S.SETTLED),
    roles.MARKETING_CLERK: (S.BOOKED_IN, S.SETTLED),
}
