"""P2's buttons for returns and exchanges: intake, signatures, goods, inspection, settlement."""

from __future__ import annotations

from typing import Annotated, Literal

from procedures.kernel.actions import CallbackAction, Matches

# --- returns and exchanges (P2) --------------------------------------------------------------


class ChooseReturnOrganisation(CallbackAction, prefix="rt:org"):
    organisation_id: int


class ChooseReturnReason(CallbackAction, prefix="rt:why"):
    reason: Literal["unsalable", "quality"]


class ChooseReturnProduct(CallbackAction, prefix="rt:prod"):
    product_id: int


class ChooseReturnBatch(CallbackAction, prefix="rt:lot"):
    batch_id: int


class AddReturnLine(CallbackAction, prefix="rt:more"):
    pass


class FinishReturnLines(CallbackAction, prefix="rt:done"):
    pass


class SubmitReturn(CallbackAction, prefix="rt:submit"):
    pass


class CancelReturn(CallbackAction, prefix="rt:cancel"):
    pass


class SignReturn(CallbackAction, prefix="rt:sign"):
    """After-sales signs the request (the after-sales head, for a quality return)."""

    return_id: int


class CountersignReturn(CallbackAction, prefix="rt:counter"):
    """The after-sales head countersigns an unsalable exchange for the warehouse (4.2.7)."""

    return_id: int


class ApproveReturn(CallbackAction, prefix="rt:approve"):
    """The business head approves and signs (or countersigns the leader's special case)."""

    return_id: int


class RefuseReturn(CallbackAction, prefix="rt:refuse"):
    """The business head does not approve an unsalable exchange (不批准); the reason is typed."""

    return_id: int


class ForwardToLeader(CallbackAction, prefix="rt:leader"):
    return_id: int


class DecideSpecialCase(CallbackAction, prefix="rt:ld"):
    return_id: int
    decision: Literal["approve", "refuse"]


class GoodsArrived(CallbackAction, prefix="rt:arrived"):
    """貨已到站: the freight station's arrival notice is recorded (4.2.5)."""

    return_id: int


class ConfirmPickUp(CallbackAction, prefix="rt:pick"):
    return_id: int


class ConfirmDelivery(CallbackAction, prefix="rt:deliver"):
    return_id: int


class BeginReturnInspection(CallbackAction, prefix="rt:qc"):
    return_id: int


class ChooseInspectionResult(CallbackAction, prefix="rt:qcres"):
    result: Literal["undamaged", "damaged", "company_fault", "customer_damage"]


class BookIn(CallbackAction, prefix="rt:book"):
    return_id: int


class ChooseSettlement(CallbackAction, prefix="rt:settle"):
    return_id: int
    settlement: Literal["exchange", "refund"]


class ChooseReplacementBatch(CallbackAction, prefix="rt:rlot"):
    batch_id: int


class BeginCredit(CallbackAction, prefix="rt:credit"):
    return_id: int


# --- the slip chain (4.2.5, 4.2.7-4.2.9) ---------------------------------------------------


class IssueTransportOrder(CallbackAction, prefix="rt:order"):
    """The after-sales head issues the transport order (退貨運輸單), typing the freight station."""

    return_id: int


# --- a company fault's corrective and preventive actions (4.2.6) ----------------------------


class ChooseResponsibleDepartment(CallbackAction, prefix="rt:dept"):
    """QC names the department responsible for a company fault, by the role its people hold."""

    department: Annotated[str, Matches(r"[a-z_]+")]


class ChooseResponsiblePerson(CallbackAction, prefix="rt:owner"):
    """QC names the person of that department who owns the actions."""

    user_id: int


class RecordActionDone(CallbackAction, prefix="rt:acted"):
    """The owner records what was done on a corrective or preventive action."""

    action_id: int


class TallyReturn(CallbackAction, prefix="rt:tally"):
    """The marketing statistician tallies a return booked in (4.2.8)."""

    return_id: int


class ChooseReturnChannel(CallbackAction, prefix="rt:chan"):
    """How a request keyed in by staff reached the company (4.2.1)."""

    channel: Literal["fax", "phone", "in_person"]


class ReceivedJustNow(CallbackAction, prefix="rt:now"):
    """The keyed request was received just now: its received time is the filing moment."""


class ConfirmReturnReceipt(CallbackAction, prefix="rt:rcpt"):
    """After-sales staff confirm receipt of a keyed request (確認簽收, 4.2.2)."""

    return_id: int


class SendReturnSlip(CallbackAction, prefix="rt:slipby"):
    """The marketing clerk sends the reviewed return slip (退貨單), by this channel (4.2.9)."""

    return_id: int
    channel: Literal["chat", "fax", "email"]


class ReturnDocument(CallbackAction, prefix="rt:doc"):
    """One of a return's documents, produced again from the record."""

    return_id: int
    kind: Literal["transport_order", "return_booking_in", "return_slip"]


class FinanceAgrees(CallbackAction, prefix="rt:finok"):
    """Finance agrees with an unsalable exchange's figures (協調財務部評審, 4.2.3)."""

    return_id: int


class FinanceDisagrees(CallbackAction, prefix="rt:finno"):
    """Finance does not agree; the reason is typed."""

    return_id: int


class ConfirmReturnStep(CallbackAction, prefix="rt:ok"):
    """A final step confirmed once its consequences were named: booking in, a refund, the
    company leader's decision. `message_id` is the message whose button asked: its buttons
    go once the step is taken."""

    return_id: int
    step: Literal["book_in", "refund", "approve", "refuse"]
    message_id: int


class KeepReturnStep(CallbackAction, prefix="rt:keep"):
    """The final step's question answered Back: nothing is recorded."""

    return_id: int


class ConfirmRefusal(CallbackAction, prefix="rt:refok"):
    """The business head confirms the refusal with the reason typed."""

    return_id: int


class BackToRefusal(CallbackAction, prefix="rt:refback"):
    """The refusal's reason is asked again; nothing is recorded."""

    return_id: int


class AskSpecialCase(CallbackAction, prefix="rt:askspc"):
    """The customer asks for a refused exchange to be taken as a special case (特殊情況): the
    circumstance is typed, and after-sales may report it to the company leader."""

    return_id: int
